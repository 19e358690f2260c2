"""A batch in flight on the moto stack, as the real functions make it: a model in place, images uploaded under
batch/<dataset>/ and collected by BatchCollectFunction's handler into one transform job. Shared by the tests of
the batch path, of `icflow retry` and of lost events; `model_ready` gives the deploy path's tests their model."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from moto.sagemaker import models as sagemaker_models
from moto.sagemaker.exceptions import ResourceInUseException

from icflow.core import layout, naming
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.state import BATCH_SK_PREFIX, StateTable
from support.stack import Stack

MODEL_RUN_ID = "3f2a9c41d0b7"


def transform_jobs_created_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # moto replaces a transform job of the same name; SageMaker refuses with ResourceInUse, which icflow relies on.
    backend = sagemaker_models.SageMakerModelBackend
    original = backend.create_transform_job

    def create(self: Any, transform_job_name: str, *args: Any, **kwargs: Any) -> Any:
        if transform_job_name in self.transform_jobs:
            raise ResourceInUseException(message=f"Job name {transform_job_name} is in use")
        return original(self, transform_job_name, *args, **kwargs)

    monkeypatch.setattr(backend, "create_transform_job", create)


def give_model(stack: Stack, dataset: str, run_id: str = MODEL_RUN_ID) -> str:
    """A model in SageMaker, recorded as the dataset's current one, as a finished run leaves it."""
    model = naming.model_name(dataset, run_id)
    stack.client("sagemaker").create_model(
        ModelName=model,
        PrimaryContainer={"Image": "image-classification:1"},
        ExecutionRoleArn=stack.settings.sagemaker_role_arn,
    )
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).update_dataset(
        dataset, {"current_model_name": model, "current_model_run_id": run_id}
    )
    return model


def model_ready(stack: Stack, dataset: str, run_id: str) -> ModelReadyDetail:
    """give_model's model, and the icflow Model Ready detail its run publishes (what the deploy path reads)."""
    model = give_model(stack, dataset, run_id)
    return ModelReadyDetail(
        stack=stack.settings.stack_name,
        dataset=dataset,
        run_id=run_id,
        model_name=model,
        job_name=model,
        model_data_url=f"s3://{stack.bucket}/artifacts/{dataset}/{model}/output/model.tar.gz",
        metrics={},
    )


def collect(
    stack: Stack, handler_of: Callable[[str], Any], context: Any, dataset: str, files: Mapping[str, bytes]
) -> dict[str, Any]:
    """Uploads `files` (keys below batch/<dataset>/) and hands their events to BatchCollectFunction's handler as
    one queue delivery; the dataset's one batch item."""
    records = []
    for index, (relative, body) in enumerate(files.items()):
        key = f"{layout.BATCH}{dataset}/{relative}"
        etag = stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)["ETag"].strip('"')
        event = stack.object_created(key)
        event["detail"]["object"].update(size=len(body), etag=etag)
        records.append(
            {"messageId": f"m-{index}", "body": json.dumps(event), "attributes": {}, "messageAttributes": {}}
        )
    handler_of("batch_collect")({"Records": records}, context)
    (batch,) = StateTable(stack.client("dynamodb"), stack.settings.runs_table).query(dataset, BATCH_SK_PREFIX)
    return batch
