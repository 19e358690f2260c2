"""A reason of any length is recorded: the table keeps its first lines and says how many more there are,
latest.json and the notification keep the whole (within SNS's limit)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from icflow.core import layout
from icflow.core.notifier import MAX_MESSAGE_BYTES
from icflow.core.state import MAX_STORED_REASON, StateTable, stored_reason
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
UNKNOWN_KEYS = 3000


def test_three_thousand_unknown_keys_reject_the_run_and_every_one_is_listed_in_s3(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, [index % 4 for index in range(40)], [index % 4 for index in range(8)])
    pipeline = {f"unknown_setting_number_{index}": index for index in range(UNKNOWN_KEYS)}
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline))
    queue = stack.subscribe_queue()

    outcome = stack.evaluate_dataset()(UploadedObject(stack.bucket, layout.pipeline_key(DATASET), ""))

    assert outcome.action == "rejected"
    latest = stack.latest_status(DATASET)
    assert latest["status"] == "rejected"
    assert all(f"unknown_setting_number_{index}" in latest["reason"] for index in range(UNKNOWN_KEYS))
    state = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    stored = state.get_run(DATASET, outcome.run_id)["reason"]
    assert len(stored) <= MAX_STORED_REASON and "unknown_setting_number_0" in stored
    assert f"more lines; the whole reason is in {layout.latest_status_key(DATASET)}" in stored
    (note,) = stack.notifications(queue)
    assert len(note.encode("utf-8")) <= MAX_MESSAGE_BYTES and "unknown_setting_number_0" in note


def test_a_short_reason_is_stored_whole_and_a_long_line_is_cut() -> None:
    assert stored_reason("pipeline.json: 1 problem", "d") == "pipeline.json: 1 problem"
    cut = stored_reason("x" * 10 * MAX_STORED_REASON, "d")
    assert len(cut) <= MAX_STORED_REASON and cut.startswith("xxx") and cut.endswith("status/d/latest.json")
