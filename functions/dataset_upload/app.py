"""Dataset upload: an object landed under datasets/, noted while the dataset's uploads settle; or a held check
came out of the settle queue, and the dataset settled is evaluated, its training or tuning job started once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from icflow.core.observability import logger, metrics, tracer
from icflow.training.dataset_uploads import build_dataset_uploads
from icflow.training.settle_queue import SettleCheck, is_settle_batch
from icflow.training.upload_events import uploaded_objects
from icflow.wiring import from_environment

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    uploads = from_environment(build_dataset_uploads)
    # Lets idempotency expire an in-progress record when this invocation times out.
    uploads.idempotency.register_lambda_context(context)
    if is_settle_batch(event):
        # Imported here: an upload's cold start, the common one in a burst, does without the batch utility.
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        # A check that does not parse or whose evaluation fails is logged, reported alone and retried by the queue.
        def settled(record: SQSRecord) -> None:
            try:
                check = SettleCheck.model_validate_json(record.body)
                outcome = uploads.settled(check, int(record.attributes.approximate_receive_count))
            except Exception:
                logger.exception("settle check failed; the queue delivers it again", extra={"id": record.message_id})
                raise
            logger.info("settle check", extra=outcome.as_dict())

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=settled, processor=processor, context=context)
    return {"outcomes": [uploads.uploaded(upload).as_dict() for upload in uploaded_objects(event)]}
