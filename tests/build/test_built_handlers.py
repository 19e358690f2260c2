"""The `sam build` output, run as Lambda runs it: from the build folders only, against moto."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from icflow.core import layout
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID
from icflow.recordio.framing import RecordWriter
from icflow.recordio.image_record import pack_image_record

if TYPE_CHECKING:
    from conftest import BuiltStack

DATASET = "caltech256"


def _rec(labels: list[int]) -> bytes:
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for index, label in enumerate(labels):
        writer.write(pack_image_record(label, b"\xff\xd8" + bytes([index]), index))
    return buffer.getvalue()


def test_built_functions_take_an_upload_to_a_model(built_stack: BuiltStack, sample_event) -> None:
    s3 = built_stack.client("s3")
    bucket = built_stack.environment["DATA_BUCKET"]
    s3.put_object(
        Bucket=bucket, Key=f"{layout.channel_prefix(DATASET, layout.TRAIN)}a.rec", Body=_rec([i % 2 for i in range(32)])
    )
    s3.put_object(Bucket=bucket, Key=f"{layout.channel_prefix(DATASET, layout.VALIDATION)}b.rec", Body=_rec([0, 1]))

    upload = built_stack.invoke("DatasetUploadFunction", sample_event("s3_put_classic.json"))
    (started,) = upload["outcomes"]
    assert started["action"] == "started"
    jobs = built_stack.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
    assert [job["TrainingJobName"] for job in jobs] == [started["job_name"]]

    completed = sample_event("training_job_completed.json")
    completed["detail"]["TrainingJobName"] = started["job_name"]
    completed["detail"]["Tags"] = {TAG_DATASET: DATASET, TAG_RUN_ID: started["run_id"]}
    state = built_stack.invoke("TrainingStateFunction", completed)

    assert state["action"] == "model_ready"
    assert (
        built_stack.client("sagemaker").describe_model(ModelName=state["model_name"])["ModelName"]
        == state["model_name"]
    )


def test_built_state_function_ignores_a_tuning_trial(built_stack: BuiltStack, sample_event) -> None:
    assert (
        built_stack.invoke("TrainingStateFunction", sample_event("tuning_trial_completed.json"))["action"] == "ignored"
    )
