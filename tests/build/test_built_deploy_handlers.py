"""The deploy path's `sam build` output, run as Lambda runs it: queue -> pending batch -> model ready ->
transform -> labeled predictions, and the endpoint and schedule functions with their sample events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from icflow.batch.manifest import output_key
from icflow.core import layout, naming

if TYPE_CHECKING:
    from conftest import BuiltStack

DATASET = "caltech256"
RUN_ID = "3f2a9c41d0b7"


def test_built_functions_take_batch_uploads_to_labeled_predictions(built_stack: BuiltStack, sample_event) -> None:
    s3 = built_stack.client("s3")
    bucket = built_stack.environment["DATA_BUCKET"]
    s3.put_object(
        Bucket=bucket, Key="batch/caltech256/holiday/day 1/IMG_0001.jpg", Body=b"\xff\xd8\xff\xe0jpeg\xff\xd9"
    )
    s3.put_object(
        Bucket=bucket, Key="batch/caltech256/IMG_0002.png", Body=b"\x89PNG\r\n\x1a\npng\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    s3.put_object(Bucket=bucket, Key=layout.classes_key(DATASET), Body=b"cat\ndog\n")

    collected = built_stack.invoke("BatchCollectFunction", sample_event("sqs_batch_uploads.json"))
    assert collected == {"batchItemFailures": []}
    assert built_stack.client("sagemaker").list_transform_jobs()["TransformJobSummaries"] == []

    model = naming.model_name(DATASET, RUN_ID)
    built_stack.client("sagemaker").create_model(
        ModelName=model,
        PrimaryContainer={"Image": "image-classification:1"},
        ExecutionRoleArn=built_stack.environment["SAGEMAKER_ROLE_ARN"],
    )
    deployed = built_stack.invoke("ModelDeployFunction", sample_event("model_ready.json"))
    (batch,) = deployed["batches"]
    assert batch["action"] == "started"

    for relative, prediction in (("holiday/day 1/IMG_0001.jpg", [0.9, 0.1]), ("IMG_0002.png", [0.2, 0.8])):
        s3.put_object(
            Bucket=bucket,
            Key=output_key(DATASET, batch["batch_id"], relative),
            Body=json.dumps({"prediction": prediction}).encode(),
        )
    completed = sample_event("transform_job_completed.json")
    completed["detail"]["TransformJobName"] = batch["job_name"]
    labeled = built_stack.invoke("TransformStateFunction", completed)

    assert labeled["action"] == "labeled" and labeled["labeled"] == 2
    summary_key = layout.predictions_prefix(DATASET, batch["batch_id"]) + "summary.json"
    summary = json.loads(s3.get_object(Bucket=bucket, Key=summary_key)["Body"].read())
    assert summary["count_per_label"] == {"cat": 1, "dog": 1}
    assert [item["reason"] for item in summary["skipped"]] == ["hidden-or-system-file"]


def test_built_endpoint_and_schedule_functions_run(built_stack: BuiltStack, sample_event) -> None:
    assert built_stack.invoke("EndpointStateFunction", sample_event("endpoint_in_service.json"))["action"] == "ignored"
    checked = built_stack.invoke("IdleEndpointsFunction", sample_event("scheduled_idle_check.json"))
    assert checked == {"action": "checked", "deleted": [], "foreign": []}
    lost = built_stack.invoke("LostEventsFunction", sample_event("scheduled_lost_events_check.json"))
    assert lost == {"action": "checked", "settled": [], "in_flight": 0}
