"""The transform job's instances and concurrency: the rule for what deploy.batch leaves out, the user's values
as given."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from icflow.batch.starter import build_batch_starter
from icflow.batch.transform_resources import MIN_IMAGES_PER_INSTANCE, transform_resources
from icflow.core import naming
from icflow.core.instance_types import VCPUS, vcpus
from icflow.core.pipeline_config import BatchSettings, parse_pipeline_config
from icflow.core.state import BatchStatus, StateTable, batch_sk
from icflow.core.transform_payload import MAX_CONCURRENT_TRANSFORMS

if TYPE_CHECKING:
    from support.stack import Stack


def settings(**batch) -> BatchSettings:
    return parse_pipeline_config(json.dumps({"deploy": {"batch": batch}})).deploy.batch


@pytest.mark.parametrize(
    ("images", "instances"),
    [
        (0, 1),
        (1, 1),
        (MIN_IMAGES_PER_INSTANCE - 1, 1),
        (2 * MIN_IMAGES_PER_INSTANCE - 1, 1),  # two instances would get less than the minimum each
        (2 * MIN_IMAGES_PER_INSTANCE, 2),
        (3 * MIN_IMAGES_PER_INSTANCE + 5, 3),
        (100_000, 4),  # the default max_instances
    ],
)
def test_instances_follow_the_batch_size_within_max_instances(images, instances):
    assert transform_resources(settings(), images).instance_count == instances


def test_every_instance_chosen_gets_at_least_the_minimum_share():
    for images in range(0, 12 * MIN_IMAGES_PER_INSTANCE, 137):
        count = transform_resources(settings(max_instances=10), images).instance_count
        assert count == 1 or images // count >= MIN_IMAGES_PER_INSTANCE
        assert 1 <= count <= 10


def test_max_instances_caps_the_rule():
    assert transform_resources(settings(max_instances=25), 100_000).instance_count == 25
    assert transform_resources(settings(max_instances=1), 100_000).instance_count == 1


def test_an_explicit_instance_count_is_the_users_choice_whatever_the_size():
    assert transform_resources(settings(instance_count=3), 10).instance_count == 3
    assert transform_resources(settings(instance_count=1), 100_000).instance_count == 1


@pytest.mark.parametrize(
    ("instance_type", "concurrent"),
    [("ml.c5.xlarge", 4), ("ml.m5.large", 2), ("ml.c5.2xlarge", 8), ("ml.p3.2xlarge", 8), ("ml.c4.8xlarge", 16)],
)
def test_concurrent_transforms_are_the_vcpus_within_sagemakers_payload_limit(instance_type, concurrent):
    # ml.c4.8xlarge has 36 vCPUs, but 36 requests of 6 MB pass SageMaker's 100 MB.
    resources = transform_resources(settings(instance_type=instance_type), 5000)
    assert (resources.instance_type, resources.max_concurrent_transforms) == (instance_type, concurrent)


def test_explicit_concurrent_transforms_are_the_users_choice():
    assert (
        transform_resources(
            settings(instance_type="ml.c5.18xlarge", max_concurrent_transforms=2), 9
        ).max_concurrent_transforms
        == 2
    )


def test_an_instance_type_without_a_known_vcpu_count_leaves_the_concurrency_to_sagemaker():
    assert vcpus("ml.x9.large") is None
    assert transform_resources(settings(instance_type="ml.x9.large"), 9).max_concurrent_transforms is None


def test_the_vcpu_table_holds_ec2s_counts():
    # A few from the SageMaker pricing page, among them the one exception to the size rule.
    known = ("ml.c5.large", "ml.m5.24xlarge", "ml.p2.16xlarge", "ml.c4.8xlarge", "ml.g5.48xlarge", "ml.c6i.32xlarge")
    assert {t: VCPUS[t] for t in known} == {
        "ml.c5.large": 2,
        "ml.m5.24xlarge": 96,
        "ml.p2.16xlarge": 64,
        "ml.c4.8xlarge": 36,
        "ml.g5.48xlarge": 192,
        "ml.c6i.32xlarge": 128,
    }
    assert all(count >= 2 for count in VCPUS.values()) and MAX_CONCURRENT_TRANSFORMS == 16


def test_the_starter_sends_the_rule_for_the_batch_it_starts(stack: Stack) -> None:
    dataset, batch_id = "pets", "d" * 20
    model = naming.model_name(dataset, "3f2a9c41d0b7")
    stack.client("sagemaker").create_model(
        ModelName=model,
        PrimaryContainer={"Image": "image-classification:1"},
        ExecutionRoleArn=stack.settings.sagemaker_role_arn,
    )
    runs = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    images = 2 * MIN_IMAGES_PER_INSTANCE + 1
    runs.create_item(
        dataset, batch_sk(batch_id), "batch", BatchStatus.PENDING.value, {"batch_id": batch_id, "images": images}
    )

    outcome = build_batch_starter(stack.adapters()).start(dataset, batch_id, model)

    job = stack.client("sagemaker").describe_transform_job(TransformJobName=outcome.job_name)
    assert job["TransformResources"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2}
    assert job["MaxConcurrentTransforms"] == 4  # ml.c5.xlarge's vCPUs
