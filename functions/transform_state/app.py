"""Transform state: an icflow transform job reached a final state; label its outputs or record why not."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.events.transform_state import TransformJobStateChange
from icflow.observability import logger, metrics, tracer
from icflow.usecases.transform_state import TransformChange, handle_transform_state_from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse(event=event, model=TransformJobStateChange).detail
    change = TransformChange(detail.TransformJobName, detail.TransformJobStatus, detail.FailureReason)
    return handle_transform_state_from_environment()(change)
