"""The SageMaker Model Registry: every model icflow creates is a version in its dataset's model package group.

A version carries what a reviewer needs and what icflow needs back when its approval changes, as
CustomerMetadataProperties (keys and values in the characters tags allow, so they go through the tags' encoding):
the dataset (icflow.core.naming.dataset_tags), run id, stack, model and training job names, the final metrics and
the hyperparameters. `deploy.require_approval` registers it as PendingManualApproval, and deployment waits for
the "SageMaker Model Package State Change" event to Approved (icflow.training.model_approval); otherwise it is
registered Approved and deployed at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from icflow.core import naming
from icflow.core.sagemaker_answers import already_exists, tag_list
from icflow.training.sagemaker_jobs import TrainedModel

APPROVED = "Approved"
REJECTED = "Rejected"
PENDING = "PendingManualApproval"
# What the algorithm's model serves (icflow.core.transform_payload and the endpoint send images, read JSON).
CONTENT_TYPES = ["application/x-image", "image/jpeg", "image/png"]
RESPONSE_TYPES = ["application/json"]
MAX_METADATA = 50  # CustomerMetadataProperties entries
MAX_METADATA_VALUE = 256
META_MODEL = "icflow:model-name"
META_TRAINING_JOB = "icflow:training-job"
META_DATA = "icflow:data"  # the S3 URI of the dataset folder the run trained on
META_INPUT_FORMAT = "icflow:input-format"
METRIC_PREFIX = "metric:"
HYPERPARAMETER_PREFIX = "hyperparameter:"
DESCRIPTION_LIMIT = 1024


@dataclass(frozen=True)
class RegisteredModel:
    """A model package version as icflow reads it back: whose it is, and its approval."""

    arn: str
    stack: str | None
    dataset: str | None
    run_id: str | None
    approval: str
    approval_description: str


def _metadata(
    dataset: str,
    run_id: str,
    stack: str,
    model_name: str,
    trained: TrainedModel,
    data: Mapping[str, str],
    hps: Mapping[str, str],
) -> dict[str, str]:
    """The version's CustomerMetadataProperties: identity first; the data, metrics and hyperparameters while room
    is left (a value too long for the 256 characters allowed is left out rather than cut)."""
    metadata = {
        **naming.dataset_tags(dataset),
        naming.TAG_RUN_ID: run_id,
        naming.TAG_STACK: stack,
        META_MODEL: model_name,
        META_TRAINING_JOB: trained.job_name,
    }
    extra = list(data.items())
    extra += [(f"{METRIC_PREFIX}{name}", f"{value:g}") for name, value in sorted(trained.metrics.items())]
    extra += [(f"{HYPERPARAMETER_PREFIX}{name}", value) for name, value in sorted(hps.items())]
    for key, value in extra:
        encoded = naming.encode_tag_value(value)
        if len(metadata) < MAX_METADATA and 0 < len(encoded) <= MAX_METADATA_VALUE:
            metadata[key] = encoded
    return metadata


class ModelRegistry:
    def __init__(self, sagemaker_client: Any, stack_tags: Mapping[str, str]) -> None:
        self._sagemaker = sagemaker_client
        self._stack_tags = stack_tags

    def register(
        self,
        dataset: str,
        run_id: str,
        model_name: str,
        image: str,
        trained: TrainedModel,
        data: Mapping[str, str],
        hyperparameters: Mapping[str, str],
        approved: bool,
    ) -> str:
        """The ARN of the run's version in the dataset's group (both created when missing); `data` says what the
        model was trained on (META_DATA, META_INPUT_FORMAT). A retry gets the same version: CreateModelPackage's
        ClientToken is the run's."""
        group = naming.model_package_group_name(dataset)
        tags = {**self._stack_tags, **naming.dataset_tags(dataset)}
        try:
            self._sagemaker.create_model_package_group(
                ModelPackageGroupName=group,
                ModelPackageGroupDescription=f"icflow models of dataset {dataset}"[:DESCRIPTION_LIMIT],
                Tags=tag_list(tags),
            )
        except ClientError as error:
            if not already_exists(error):
                raise
        accuracy = trained.metrics.get("validation:accuracy")
        description = f"icflow run {run_id}, trained by {trained.job_name}" + (
            f", validation:accuracy {accuracy:.4f}" if accuracy is not None else ""
        )
        response = self._sagemaker.create_model_package(
            ModelPackageGroupName=group,
            ModelPackageDescription=description,
            InferenceSpecification={
                "Containers": [{"Image": image, "ModelDataUrl": trained.model_data_url}],
                "SupportedContentTypes": CONTENT_TYPES,
                "SupportedResponseMIMETypes": RESPONSE_TYPES,
            },
            ModelApprovalStatus=APPROVED if approved else PENDING,
            CustomerMetadataProperties=_metadata(
                dataset,
                run_id,
                self._stack_tags.get(naming.TAG_STACK, ""),
                model_name,
                trained,
                data,
                hyperparameters,
            ),
            ClientToken=f"icflow-{run_id}",
            Tags=tag_list(tags),
        )
        return str(response["ModelPackageArn"])

    def describe(self, arn: str) -> RegisteredModel:
        package = self._sagemaker.describe_model_package(ModelPackageName=arn)
        metadata = package.get("CustomerMetadataProperties") or {}
        return RegisteredModel(
            arn=arn,
            stack=metadata.get(naming.TAG_STACK),
            dataset=naming.dataset_of_tags(metadata),
            run_id=metadata.get(naming.TAG_RUN_ID),
            approval=str(package.get("ModelApprovalStatus") or PENDING),
            approval_description=str(package.get("ApprovalDescription") or ""),
        )
