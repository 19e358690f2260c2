"""Model deploy: a dataset's model is ready; start its pending batches and deploy it to the dataset's endpoint."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.model_ready import ModelReadyEvent
from icflow.core.observability import logger, metrics, tracer
from icflow.endpoints.deploy_model import build_deploy_model
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return from_environment(build_deploy_model)(parse(event=event, model=ModelReadyEvent).detail).as_dict()
