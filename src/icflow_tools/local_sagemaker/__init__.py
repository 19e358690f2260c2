"""A local SageMaker: the part of the SageMaker and SageMaker runtime APIs icflow uses, with jobs that really run.

`LocalSageMaker(...).start()` serves both APIs on one 127.0.0.1 port; `python -m icflow_tools.local_sagemaker`
runs it in the foreground. Data comes from and goes to S3 (any endpoint), state changes go to an EventBridge bus.
"""

from icflow_tools.local_sagemaker.server import LocalSageMaker

__all__ = ["LocalSageMaker"]
