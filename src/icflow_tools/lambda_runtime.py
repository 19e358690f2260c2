"""What AWS Lambda's python3.13 runtime provides to every function without a layer: boto3 and the modules it
imports. The layer leaves them out (layers/icflow/requirements.txt), so the runtime's own copies are the ones
imported; whatever runs the built functions off Lambda (tests/build, benchmarks/cold_start.py) supplies them
from outside the layer, as the runtime does."""

from __future__ import annotations

# Top-level module names, as they would appear in the layer's python/ folder.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
# What Lambda's python3.13 runs and the layer's bytecode is compiled for (functions/Makefile, layers/icflow/Makefile).
RUNTIME_CACHE_TAG = "cpython-313"
