"""Endpoint state: an icflow endpoint changed state; record it, notify, and delete what it no longer uses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.events.endpoint_state import EndpointStateChange
from icflow.observability import logger, metrics, tracer
from icflow.usecases.endpoint_state import EndpointChange, handle_endpoint_state_from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse(event=event, model=EndpointStateChange).detail
    return handle_endpoint_state_from_environment()(EndpointChange(detail.EndpointName, detail.EndpointStatus, detail.Tags))
