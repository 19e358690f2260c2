"""Dataset upload: an object landed under datasets/; start the dataset's training or tuning once it is ready."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.events.s3_uploads import uploaded_objects
from icflow.observability import logger, metrics, tracer
from icflow.usecases.evaluate_dataset import evaluate_dataset_from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    evaluate = evaluate_dataset_from_environment(context)
    return {"outcomes": [evaluate(upload).as_dict() for upload in uploaded_objects(event)]}
