"""Training state: an icflow training or tuning job reached a final state; create its model or record why not."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow.training.job_state_change import build_handle_job_state_change
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = job_state_change(parse(event=event, model=SageMakerStateChange))
    return from_environment(build_handle_job_state_change)(change).as_dict()
