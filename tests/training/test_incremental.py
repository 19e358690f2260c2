"""`training.incremental` on moto: a run starts from the dataset's current model through the algorithm's `model`
channel when the network is the same, says which setting differs when it is not, and trains from scratch before
there is a model."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from icflow.core import layout, naming
from icflow.core.state import RunStatus, StateTable
from icflow.training.upload_events import UploadedObject

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "pets"
BASE_RUN = "00000000000a"
BASE_URL = "s3://bucket/artifacts/pets/icflow-pets-00000000000a/output/model.tar.gz"
NETWORK = {"num_layers": "18", "image_shape": "3,224,224", "num_classes": "2"}


def _current_model(stack: Stack, hyperparameters: dict[str, str]) -> None:
    """The dataset's current model, as the training-state function records one."""
    state = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    fields = {"model_name": naming.model_name(DATASET, BASE_RUN), "model_data_url": BASE_URL}
    state.create_run(DATASET, BASE_RUN, RunStatus.MODEL_READY.value, fields | {"hyperparameters": hyperparameters})
    state.update_dataset(DATASET, {"current_model_run_id": BASE_RUN, "current_model_name": fields["model_name"]})


def _start(stack: Stack, training: dict[str, Any], hyperparameters: dict[str, Any] | None = None) -> Any:
    pipeline = {"hyperparameters": {"num_layers": 18, **(hyperparameters or {})}, "training": training}
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline).encode())
    stack.put_recordio_dataset(DATASET, [0, 1] * 20, [0, 1] * 4)
    key = f"{layout.channel_prefix(DATASET, layout.TRAIN)}part-0.rec"
    return stack.evaluate_dataset()(UploadedObject(stack.bucket, key, ""))


def _channels(stack: Stack, job_name: str) -> dict[str, dict[str, Any]]:
    job = stack.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    return {channel["ChannelName"]: channel for channel in job["InputDataConfig"]}


def test_new_data_starts_from_the_current_model_through_the_model_channel(stack: Stack) -> None:
    _current_model(stack, NETWORK | {"epochs": "30", "num_training_samples": "10"})
    outcome = _start(stack, {"incremental": True})

    assert outcome.action == "started", outcome.reason
    model = _channels(stack, outcome.job_name)["model"]
    assert model["ContentType"] == "application/x-sagemaker-model"
    assert model["DataSource"]["S3DataSource"]["S3Uri"] == BASE_URL
    assert stack.latest_status(DATASET)["base_model"] == {
        "run_id": BASE_RUN,
        "model_name": naming.model_name(DATASET, BASE_RUN),
    }


def test_a_different_network_is_rejected_naming_each_setting_that_differs(stack: Stack) -> None:
    _current_model(stack, NETWORK | {"num_layers": "50", "num_classes": "3"})
    outcome = _start(stack, {"incremental": True})

    assert outcome.action == "rejected"
    assert "num_layers: the current model" in outcome.reason and "has 50 but this run has 18" in outcome.reason
    assert "num_classes: the current model" in outcome.reason and "has 3 but this run has 2" in outcome.reason
    assert "image_shape" not in outcome.reason
    assert "set training.incremental to false" in outcome.reason
    assert stack.training_jobs() == []


def test_without_a_model_yet_the_run_trains_from_scratch(stack: Stack) -> None:
    outcome = _start(stack, {"incremental": True})

    assert outcome.action == "started", outcome.reason
    assert "model" not in _channels(stack, outcome.job_name)
    assert stack.latest_status(DATASET)["base_model"] is None


def test_a_run_that_is_not_incremental_ignores_the_current_model(stack: Stack) -> None:
    _current_model(stack, NETWORK | {"num_layers": "50"})
    requests: list[dict[str, Any]] = []
    stack.session.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: requests.append(params)
    )
    outcome = _start(stack, {"keep_alive_seconds": 600})

    assert outcome.action == "started", outcome.reason
    assert "model" not in _channels(stack, outcome.job_name)
    assert "base_model" not in stack.latest_status(DATASET)
    # A managed warm pool waits 600 s for the next matching job (moto does not echo the setting back).
    (request,) = requests
    assert request["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
