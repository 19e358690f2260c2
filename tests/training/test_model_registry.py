"""Every model in the registry, and deploy.require_approval on moto: a model that passes its quality gate is a version
of its dataset's model package group, released at once, or held until the registry's decision says so."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.parser import parse

from icflow.core import naming
from icflow.core.model_ready import MODEL_READY_DETAIL_TYPE, MODEL_READY_SOURCE
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID
from icflow.core.refusals import RetryLater
from icflow.core.run_ended import RUN_ENDED_DETAIL_TYPE
from icflow.core.state import DATASET_SK, StateTable
from icflow.training.job_events import SageMakerStateChange, job_state_change
from icflow.training.model_approval import PackageDetail
from support.training_runs import seed_run, seed_training_job

if TYPE_CHECKING:
    from support.stack import Stack

HYPERPARAMETERS = {"num_layers": "18", "image_shape": "3,224,224", "epochs": "10"}


@pytest.fixture
def completed(stack: Stack, sample_event) -> Any:
    """A completed training job whose run asks for approval when `require_approval` (the test's parameter)."""

    def complete(require_approval: bool) -> tuple[str, str, Any]:
        event = sample_event("training_job_completed.json")
        dataset, run_id = event["detail"]["Tags"][TAG_DATASET], event["detail"]["Tags"][TAG_RUN_ID]
        name = event["detail"]["TrainingJobName"]
        seed_training_job(stack, name, dataset, run_id, accuracy=0.91)
        fields = {"require_approval": require_approval, "hyperparameters": HYPERPARAMETERS}
        seed_run(stack, dataset, run_id, "training", name, fields=fields)
        return dataset, run_id, job_state_change(parse(event=event, model=SageMakerStateChange))

    return complete


def _package(stack: Stack, arn: str) -> dict[str, Any]:
    return stack.client("sagemaker").describe_model_package(ModelPackageName=arn)


def _decide(stack: Stack, arn: str, status: str, description: str = "") -> PackageDetail:
    """What `icflow approve` / `reject` or SageMaker Studio do, and the event SageMaker then sends."""
    metadata = _package(stack, arn)["CustomerMetadataProperties"]
    stack.client("sagemaker").update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=status,
        ApprovalDescription=description,
        # moto drops the metadata an update does not repeat; SageMaker keeps it.
        CustomerMetadataProperties=metadata,
    )
    group = arn.split("/")[-2]
    return PackageDetail(ModelPackageArn=arn, ModelPackageGroupName=group, ModelApprovalStatus=status)


def test_a_model_is_registered_approved_and_released_at_once(stack: Stack, completed: Any) -> None:
    dataset, run_id, change = completed(require_approval=False)
    ready = stack.events_queue(MODEL_READY_SOURCE, MODEL_READY_DETAIL_TYPE)
    outcome = stack.handle_job_state_change()(change)

    assert outcome.action == "model_ready"
    status = stack.latest_status(dataset)
    package = _package(stack, status["model_package_arn"])
    assert package["ModelPackageGroupName"] == naming.model_package_group_name(dataset)
    assert package["ModelApprovalStatus"] == "Approved"
    (container,) = package["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == status["model_data_url"]
    metadata = package["CustomerMetadataProperties"]
    assert naming.dataset_of_tags(metadata) == dataset and metadata[TAG_RUN_ID] == run_id
    assert metadata["icflow:data"] == naming.encode_tag_value(f"s3://{stack.bucket}/datasets/{dataset}/")
    assert "icflow:input-format" not in metadata  # this seeded run does not say it; an empty value is left out
    assert metadata["metric:validation:accuracy"] == "0.91"
    assert metadata["hyperparameter:image_shape"] == naming.encode_tag_value("3,224,224")
    assert len(stack.received_events(ready)) == 1


def test_with_require_approval_the_model_waits_and_the_dataset_keeps_its_model(stack: Stack, completed: Any) -> None:
    dataset, run_id, change = completed(require_approval=True)
    ready = stack.events_queue(MODEL_READY_SOURCE, MODEL_READY_DETAIL_TYPE)
    notes = stack.subscribe_queue()
    outcome = stack.handle_job_state_change()(change)

    assert outcome.action == "awaiting_approval"
    status = stack.latest_status(dataset)
    assert status["status"] == "awaiting_approval"
    assert _package(stack, status["model_package_arn"])["ModelApprovalStatus"] == "PendingManualApproval"
    assert f"icflow approve --dataset {dataset!r} --run {run_id}" in status["reason"]
    assert stack.received_events(ready) == []
    dataset_item = StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_item(dataset, DATASET_SK)
    assert "current_model_name" not in (dataset_item or {})
    (note,) = stack.notifications(notes)
    assert "waits for approval" in note


def test_approval_in_the_registry_releases_the_model(stack: Stack, completed: Any) -> None:
    dataset, run_id, change = completed(require_approval=True)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    ready = stack.events_queue(MODEL_READY_SOURCE, MODEL_READY_DETAIL_TYPE)
    approve = stack.handle_model_approval()
    outcome = approve(_decide(stack, arn, "Approved", "checked the report"))
    again = approve(PackageDetail(ModelPackageArn=arn, ModelPackageGroupName=arn.split("/")[-2]))

    assert outcome.action == "model_ready" and again.action == "duplicate"
    status = stack.latest_status(dataset)
    assert status["status"] == "model_ready"
    assert status["registry_approval"] == "Approved" and status["approval_description"] == "checked the report"
    (event,) = stack.received_events(ready)
    assert event["detail"]["model_name"] == naming.model_name(dataset, run_id)
    dataset_item = StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_item(dataset, DATASET_SK)
    assert dataset_item is not None and dataset_item["current_model_run_id"] == run_id


def test_rejection_in_the_registry_ends_the_run_with_the_reviewers_words(stack: Stack, completed: Any) -> None:
    dataset, _, change = completed(require_approval=True)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    ended = stack.events_queue(MODEL_READY_SOURCE, RUN_ENDED_DETAIL_TYPE)
    outcome = stack.handle_model_approval()(_decide(stack, arn, "Rejected", "confuses cats with foxes"))

    assert outcome.action == "rejected"
    status = stack.latest_status(dataset)
    assert status["status"] == "rejected" and "confuses cats with foxes" in status["reason"]
    (event,) = stack.received_events(ended)
    assert event["detail"]["status"] == "rejected"


def test_a_decision_before_the_run_recorded_its_version_is_delivered_again(stack: Stack, completed: Any) -> None:
    dataset, run_id, change = completed(require_approval=True)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    state = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    state.transition(dataset, run_id, "training", ("awaiting_approval",))  # as if not recorded yet

    with pytest.raises(RetryLater):
        stack.handle_model_approval()(_decide(stack, arn, "Approved"))


def test_a_released_model_rejected_later_is_recorded_and_told_not_undeployed(stack: Stack, completed: Any) -> None:
    dataset, _, change = completed(require_approval=False)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    notes = stack.subscribe_queue()
    outcome = stack.handle_model_approval()(_decide(stack, arn, "Rejected", "too slow"))

    assert outcome.action == "ignored"
    status = stack.latest_status(dataset)
    assert status["status"] == "model_ready" and status["registry_approval"] == "Rejected"
    (note,) = stack.notifications(notes)
    assert "stays deployed" in note


def test_a_version_of_another_stack_is_ignored(stack: Stack, completed: Any) -> None:
    dataset, _, change = completed(require_approval=True)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    metadata = _package(stack, arn)["CustomerMetadataProperties"]
    stack.client("sagemaker").update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={**metadata, naming.TAG_STACK: "someone-else"},
    )
    group = arn.split("/")[-2]
    outcome = stack.handle_model_approval()(PackageDetail(ModelPackageArn=arn, ModelPackageGroupName=group))

    assert outcome.action == "ignored" and "someone-else" in (outcome.reason or "")
    assert stack.latest_status(dataset)["status"] == "awaiting_approval"


def test_the_registration_of_a_model_needing_no_approval_is_left_to_its_run(stack: Stack, completed: Any) -> None:
    dataset, run_id, change = completed(require_approval=False)
    stack.handle_job_state_change()(change)
    arn = stack.latest_status(dataset)["model_package_arn"]
    state = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    state.transition(dataset, run_id, "training", ("model_ready",))  # the Approved event outran the run's update

    outcome = stack.handle_model_approval()(
        PackageDetail(ModelPackageArn=arn, ModelPackageGroupName=arn.split("/")[-2])
    )

    assert outcome.action == "ignored" and "released with its run" in (outcome.reason or "")
