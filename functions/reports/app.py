"""Reports: renders a run's page when its model is ready, and a batch's when it is labeled."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.reports.render_reports import build_render_reports
from icflow.reports.report_events import ReportEvent
from icflow.wiring import from_environment


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return from_environment(build_render_reports)(parse(event=event, model=ReportEvent).detail).as_dict()
