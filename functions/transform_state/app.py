"""Transform state: an icflow transform job reached a final state; label its outputs or record why not."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.batch.transform_events import TransformJobStateChange
from icflow.batch.transform_state import TransformChange, build_handle_transform_state
from icflow.core.observability import logger, metrics, tracer
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse(event=event, model=TransformJobStateChange).detail
    change = TransformChange(detail.TransformJobName, detail.TransformJobStatus, detail.FailureReason)
    return from_environment(build_handle_transform_state)(change).as_dict()
