"""Batch collect: a group of uploads under batch/<dataset>/ arrived through the queue; one transform job per dataset."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.batch.collect_batch import build_collect_batch
from icflow.batch.upload_events import batch_objects
from icflow.core.images import S3Object
from icflow.core.observability import logger, metrics, tracer
from icflow.wiring import from_environment

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    uploads: list[tuple[str, S3Object]] = []

    # A message that does not parse is reported alone (and reaches the dead-letter queue after its retries);
    # the rest of the group still becomes one batch.
    def collect(record: SQSRecord) -> None:
        uploads.extend(batch_objects(record.body))

    with processor(records=event["Records"], handler=collect):
        processor.process()
    for outcome in from_environment(build_collect_batch)(uploads):
        logger.info("batch collected", extra=outcome.as_dict())
    return processor.response()
