"""Endpoint state: an icflow endpoint changed state; record it, notify, and delete what it no longer uses."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.endpoints.endpoint_events import EndpointStateChange
from icflow.endpoints.endpoint_state import EndpointChange, build_handle_endpoint_state
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse(event=event, model=EndpointStateChange).detail
    change = EndpointChange(detail.EndpointName, detail.EndpointStatus, detail.Tags)
    return from_environment(build_handle_endpoint_state)(change).as_dict()
