"""Dataset upload: an object landed under datasets/; start the dataset's training or tuning once it is ready."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.training.evaluate_dataset import build_evaluate_dataset
from icflow.training.upload_events import uploaded_objects
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    evaluate = from_environment(build_evaluate_dataset)
    # Lets idempotency expire an in-progress record when this invocation times out.
    evaluate.idempotency.register_lambda_context(context)
    return {"outcomes": [evaluate(upload).as_dict() for upload in uploaded_objects(event)]}
