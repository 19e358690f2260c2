"""Model deploy: a dataset's model is ready; start its pending batches and deploy it to the dataset's endpoint."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.events.model_ready_event import ModelReadyEvent
from icflow.observability import logger, metrics, tracer
from icflow.usecases.deploy_model import deploy_model_from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deploy_model_from_environment()(parse(event=event, model=ModelReadyEvent).detail)
