"""The status values of the deploy path's items in the run-state table (docs/architecture.md, "Run state")."""

from __future__ import annotations

from enum import StrEnum

BATCH_SK_PREFIX = "BATCH#"
ENDPOINT_SK = "ENDPOINT"


def batch_sk(batch_id: str) -> str:
    return f"{BATCH_SK_PREFIX}{batch_id}"


class BatchStatus(StrEnum):
    PENDING = "pending"  # collected before the dataset had a model; starts when one is ready
    TRANSFORMING = "transforming"
    LABELED = "labeled"  # predictions and summary.json written
    EMPTY = "empty"  # nothing in the group was an image; the report says why
    FAILED = "failed"
    STOPPED = "stopped"


class EndpointStatus(StrEnum):
    CREATING = "creating"
    UPDATING = "updating"
    IN_SERVICE = "in_service"
    ROLLED_BACK = "rolled_back"  # an update failed and the previous model still serves
    FAILED = "failed"
    DELETED_IDLE = "deleted_idle"  # removed by the idle guard; the next model creates it again
    DELETED = "deleted"


# Any status may follow any other on an endpoint: the allowed-from list of its transitions.
ANY_ENDPOINT_STATUS = tuple(status.value for status in EndpointStatus)


# Batches whose model must not be deleted while they may still need it.
BATCHES_USING_A_MODEL = (BatchStatus.PENDING.value, BatchStatus.TRANSFORMING.value)
