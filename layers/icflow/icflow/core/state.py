"""The state table: every item icflow keeps in DynamoDB, its keys, its statuses and how they may change.

One table, single-table design (docs/architecture.md, "Run state"): every item of a dataset shares the
partition `DATASET#<dataset>`: the dataset's own item (`sk = DATASET`: what it waits for, its latest run,
its current model), one item per run (`sk = RUN#<run_id>`), one per batch (`sk = BATCH#<batch_id>`) and the
dataset's endpoint (`sk = ENDPOINT`). Status changes are conditional writes, so a duplicate or late event can
never move an item backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from icflow.core.layout import latest_status_key

# Keys.
DATASET_SK = "DATASET"
RUN_SK_PREFIX = "RUN#"
BATCH_SK_PREFIX = "BATCH#"
ENDPOINT_SK = "ENDPOINT"


def dataset_pk(dataset: str) -> str:
    return f"DATASET#{dataset}"


def run_sk(run_id: str) -> str:
    return f"{RUN_SK_PREFIX}{run_id}"


def batch_sk(batch_id: str) -> str:
    return f"{BATCH_SK_PREFIX}{batch_id}"


# Statuses and the transitions they allow.
class RunStatus(StrEnum):
    STARTING = "starting"  # the run item exists; its job is being created
    TRAINING = "training"
    TUNING = "tuning"
    MODEL_READY = "model_ready"
    # The model exists and is registered PendingManualApproval (deploy.require_approval); deployed once approved.
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"  # invalid configuration or dataset, or below the quality gate
    FAILED = "failed"
    STOPPED = "stopped"


# The dataset item's status is its latest run's, or this while a channel has no data yet.
DATASET_WAITING = "waiting"
# ... or this while uploads arrive, until they have been quiet for DatasetSettleSeconds (icflow.training.dataset_uploads).
DATASET_SETTLING = "settling"
# ... or this when its settled uploads could not be evaluated, whatever the tries (the reason says what failed).
DATASET_UNDECIDED = "undecided"

# A run whose job may still end: the only statuses a job state change moves a run from.
RUNNING = (RunStatus.STARTING.value, RunStatus.TRAINING.value, RunStatus.TUNING.value)
# A run whose model waits for the registry's decision: the only status an approval moves a run from.
AWAITING_APPROVAL = (RunStatus.AWAITING_APPROVAL.value,)


class BatchStatus(StrEnum):
    PENDING = "pending"  # collected before the dataset had a model; starts when one is ready
    LABELING = "labeling"  # the dataset's endpoint labels it (icflow.batch.realtime_labeling); no transform job
    TRANSFORMING = "transforming"
    LABELED = "labeled"  # predictions and summary.json written
    EMPTY = "empty"  # nothing in the group was an image; the report says why
    FAILED = "failed"
    STOPPED = "stopped"


class EndpointStatus(StrEnum):
    CREATING = "creating"
    UPDATING = "updating"
    ROLLING_BACK = "rolling_back"  # a blue/green update's alarm fired; the previous config comes back
    IN_SERVICE = "in_service"
    ROLLED_BACK = "rolled_back"  # an update failed and the previous model still serves
    OUT_OF_SERVICE = "out_of_service"  # SageMaker took it out of service: it answers no requests
    FAILED = "failed"
    ROLLBACK_FAILED = "rollback_failed"  # an update and its rollback failed: only deletion is possible
    DELETING = "deleting"
    DELETED_IDLE = "deleted_idle"  # removed by the idle guard; the next model creates it again
    DELETED = "deleted"


# Any status may follow any other on an endpoint: the allowed-from list of its transitions.
ANY_ENDPOINT_STATUS = tuple(status.value for status in EndpointStatus)


# A batch whose transform job may still end: the only status a transform state change moves a batch from.
BATCH_IN_FLIGHT = (BatchStatus.TRANSFORMING.value,)

# Batches that ended without predictions: the same images uploaded again start them again.
BATCH_ENDED_UNLABELED = (BatchStatus.FAILED.value, BatchStatus.STOPPED.value)

# Batches whose model must not be deleted while they may still need it.
BATCHES_USING_A_MODEL = (BatchStatus.PENDING.value, BatchStatus.LABELING.value, BatchStatus.TRANSFORMING.value)


# DynamoDB refuses items over 400 KB, and a reason is stored twice (the item's and its history entry's), once
# more for each retry and on the dataset's item. Longer reasons are cut at a line, saying how much is left out;
# latest.json keeps the whole reason (icflow.core.status_mirror).
MAX_STORED_REASON = 4000
_CUT_NOTE_ROOM = 200


def stored_reason(reason: str, dataset: str) -> str:
    """`reason` as the table stores it: whole, or its first lines and how many more latest.json has."""
    if len(reason) <= MAX_STORED_REASON:
        return reason
    lines = reason.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > MAX_STORED_REASON - _CUT_NOTE_ROOM:
            break
        kept.append(line)
        size += len(line) + 1
    if not kept:  # one line longer than the limit
        kept, lines = [reason[: MAX_STORED_REASON - _CUT_NOTE_ROOM]], ["", ""]
    more = len(lines) - len(kept)
    return "\n".join(kept) + f"\n... and {more} more lines; the whole reason is in {latest_status_key(dataset)}"


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _to_dynamodb(value: Any) -> Any:
    # DynamoDB numbers are decimals; floats must be converted exactly as written.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _to_dynamodb(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_dynamodb(item) for item in value]
    return value


def _from_dynamodb(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamodb(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_dynamodb(item) for item in value]
    return value


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(_to_dynamodb(value)) for key, value in item.items()}


def _deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _from_dynamodb(_deserializer.deserialize(value)) for key, value in item.items()}


def _conditional_check_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class StateTable:
    def __init__(self, dynamodb_client: Any, table_name: str) -> None:
        self._dynamodb = dynamodb_client
        self._table = table_name

    def create_run(
        self, dataset: str, run_id: str, status: str, fields: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any] | None:
        """Writes the run's first item; None when the run exists already (another delivery got there first)."""
        return self.create_item(dataset, run_sk(run_id), "run", status, {"run_id": run_id, **fields}, reason)

    def create_item(
        self, dataset: str, sk: str, entity: str, status: str, fields: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any] | None:
        """Writes an item of the dataset's partition once; None when it exists already."""
        reason = stored_reason(reason, dataset) if reason else reason
        at = now_iso()
        change = {"status": status, "at": at, **({"reason": reason} if reason else {})}
        item = {
            "pk": dataset_pk(dataset),
            "sk": sk,
            "entity": entity,
            "dataset": dataset,
            "status": status,
            "created_at": at,
            "updated_at": at,
            "history": [change],
            **fields,
            **({"reason": reason} if reason else {}),
        }
        try:
            self._dynamodb.put_item(
                TableName=self._table, Item=_serialize(item), ConditionExpression="attribute_not_exists(sk)"
            )
        except ClientError as error:
            if _conditional_check_failed(error):
                return None
            raise
        return item

    def get_run(self, dataset: str, run_id: str) -> dict[str, Any] | None:
        return self.get_item(dataset, run_sk(run_id))

    def get_item(self, dataset: str, sk: str) -> dict[str, Any] | None:
        response = self._dynamodb.get_item(
            TableName=self._table,
            Key=_serialize({"pk": dataset_pk(dataset), "sk": sk}),
            ConsistentRead=True,
        )
        return _deserialize(response["Item"]) if "Item" in response else None

    def query(self, dataset: str, sk_prefix: str = "") -> list[dict[str, Any]]:
        """The dataset's items whose sort key starts with `sk_prefix` (all of them for "")."""
        condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else "")
        values = {":pk": dataset_pk(dataset), **({":prefix": sk_prefix} if sk_prefix else {})}
        items: list[dict[str, Any]] = []
        paginator = self._dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_serialize(values),
            ConsistentRead=True,
        )
        for page in pages:
            items.extend(_deserialize(item) for item in page.get("Items", []))
        return items

    def dataset_names(self) -> list[str]:
        """Every dataset with an item of its own, for views across datasets (the CLI's status)."""
        names: list[str] = []
        for page in self._dynamodb.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="sk = :sk",
            ExpressionAttributeValues=_serialize({":sk": DATASET_SK}),
            ProjectionExpression="dataset",
        ):
            names.extend(_deserialize(item)["dataset"] for item in page.get("Items", []))
        return sorted(names)

    def items_in(self, entity: str, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """Every dataset's items of `entity` ("run", "batch") in one of `statuses`: one scan, for the periodic
        check of work whose end icflow may not have heard of (few items are ever in flight at once)."""
        placeholders = {f":s{index}": status for index, status in enumerate(statuses)}
        items: list[dict[str, Any]] = []
        for page in self._dynamodb.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression=f"entity = :entity AND #status IN ({', '.join(placeholders)})",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_serialize({":entity": entity, **placeholders}),
            ConsistentRead=True,
        ):
            items.extend(_deserialize(item) for item in page.get("Items", []))
        return items

    def transition(
        self,
        dataset: str,
        run_id: str,
        status: str,
        allowed_from: tuple[str, ...],
        fields: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any] | None:
        """Moves an existing run to `status` if it is in one of `allowed_from`; returns the new item, or None
        when the run was not in such a state (a duplicate or out-of-order event)."""
        return self.transition_item(dataset, run_sk(run_id), status, allowed_from, fields, reason)

    def transition_item(
        self,
        dataset: str,
        sk: str,
        status: str,
        allowed_from: tuple[str, ...],
        fields: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any] | None:
        """`transition` for any item of the dataset's partition that has a status and a history."""
        reason = stored_reason(reason, dataset) if reason else reason
        at = now_iso()
        change: dict[str, Any] = {"status": status, "at": at}
        if reason is not None:
            change["reason"] = reason
        values: dict[str, Any] = {":status": status, ":at": at, ":change": [change]}
        names = {"#status": "status"}
        assignments = ["#status = :status", "updated_at = :at", "history = list_append(history, :change)"]
        for index, (name, value) in enumerate({**(fields or {}), **({"reason": reason} if reason else {})}.items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
            assignments.append(f"#f{index} = :f{index}")
        # A reason belongs to the status it explains; moving on drops the previous one.
        expression = "SET " + ", ".join(assignments) + ("" if reason else " REMOVE reason")
        allowed = [f":from{index}" for index in range(len(allowed_from))]
        values.update({placeholder: state for placeholder, state in zip(allowed, allowed_from)})
        condition = f"attribute_exists(sk) AND #status IN ({', '.join(allowed)})"
        return self._update_if(dataset, sk, expression, condition, names, values)

    def _update_if(
        self, dataset: str, sk: str, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """One conditional update of an item of the dataset: the whole item after it, or None when the condition
        did not hold (and nothing changed)."""
        try:
            response = self._dynamodb.update_item(
                TableName=self._table,
                Key=_serialize({"pk": dataset_pk(dataset), "sk": sk}),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_serialize(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _conditional_check_failed(error):
                return None
            raise
        return _deserialize(response["Attributes"])

    def note_upload(self, dataset: str, noted_at: str) -> dict[str, Any]:
        """An upload while the dataset settles: status settling, one more upload counted (settle_uploads), the last
        noted at `noted_at`, the previous status's reason dropped; the whole item returned."""
        response = self._dynamodb.update_item(
            TableName=self._table,
            Key=_serialize({"pk": dataset_pk(dataset), "sk": DATASET_SK}),
            UpdateExpression=(
                "SET #status = :settling, last_upload_at = :at, updated_at = :at, dataset = :dataset, "
                "entity = :entity, settle_uploads = if_not_exists(settle_uploads, :zero) + :one "
                "REMOVE reason, waiting_for"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_serialize(
                {
                    ":settling": DATASET_SETTLING,
                    ":at": noted_at,
                    ":dataset": dataset,
                    ":entity": "dataset",
                    ":zero": 0,
                    ":one": 1,
                }
            ),
            ReturnValues="ALL_NEW",
        )
        return _deserialize(response["Attributes"])

    def end_settling(self, dataset: str, noted_at: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """The uploads up to the one noted at `noted_at` are decided: their count starts again and `fields` are set;
        None (and nothing changed) when a later upload was noted since, whose own check decides."""
        if fields.get("reason"):
            fields = {**fields, "reason": stored_reason(fields["reason"], dataset)}
        values = {**fields, "updated_at": now_iso()}
        names = {f"#f{index}": name for index, name in enumerate(values)}
        placeholders = {f":f{index}": value for index, value in enumerate(values.values())}
        expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values))) + " REMOVE settle_uploads"
        return self._update_if(
            dataset, DATASET_SK, expression, "last_upload_at = :noted", names, {**placeholders, ":noted": noted_at}
        )

    def update_dataset(self, dataset: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Sets fields of the dataset's own item (created on first use) and returns the whole item."""
        if fields.get("reason"):
            fields = {**fields, "reason": stored_reason(fields["reason"], dataset)}
        values = {**fields, "updated_at": now_iso(), "dataset": dataset, "entity": "dataset"}
        names = {f"#f{index}": name for index, name in enumerate(values)}
        placeholders = {f":f{index}": value for index, value in enumerate(values.values())}
        response = self._dynamodb.update_item(
            TableName=self._table,
            Key=_serialize({"pk": dataset_pk(dataset), "sk": DATASET_SK}),
            UpdateExpression="SET " + ", ".join(f"#f{index} = :f{index}" for index in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_serialize(placeholders),
            ReturnValues="ALL_NEW",
        )
        return _deserialize(response["Attributes"])
