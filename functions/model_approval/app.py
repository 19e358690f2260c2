"""Model approval: a version of an icflow model group was approved or rejected in the SageMaker Model Registry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.training.model_approval import PackageStateChange, build_handle_model_approval
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse(event=event, model=PackageStateChange).detail
    return from_environment(build_handle_model_approval)(change).as_dict()
