"""template.yaml's roles as IAM will hold them (SAM's expansion included), asked through the local IAM
evaluator: each grant a function's calls need, and none it does not (least privilege)."""

from __future__ import annotations

from typing import Any

import pytest

from icflow.batch.manifest import inputs_report_key
from icflow.core import layout, naming
from icflow.endpoints.endpoint_metrics import rollback_alarm_name
from icflow_tools.local_iam.policy import AuthRequest, Principal, evaluate
from support.policies import ACCOUNT, BUCKET, REGION, STACK, TemplatePolicies

BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
DATASET = "digits"
# IAM's context for a create that tags the resource as this stack's, and for a resource tagged so.
TAGGED_AS_OURS = {f"aws:requesttag/{naming.TAG_STACK}": STACK, "aws:tagkeys": [naming.TAG_STACK]}
OURS = {f"aws:resourcetag/{naming.TAG_STACK}": STACK}
OTHER_STACKS = {f"aws:resourcetag/{naming.TAG_STACK}": "icflow-staging"}


@pytest.fixture(scope="module")
def policies() -> TemplatePolicies:
    from support.stack import load_template

    return TemplatePolicies(load_template())


def obj(key: str) -> str:
    return f"{BUCKET_ARN}/{key}"


def sagemaker_arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


@pytest.mark.parametrize(
    ("function", "key"),
    [
        ("DatasetUploadFunction", layout.classes_key(DATASET)),
        ("BatchCollectFunction", layout.pipeline_key(DATASET)),
        ("BatchCollectFunction", f"{layout.BATCH}{DATASET}/deleted-before-collection.png"),
        ("ModelDeployFunction", layout.pipeline_key(DATASET)),
        ("TransformStateFunction", layout.classes_key(DATASET)),
        ("TransformStateFunction", inputs_report_key(DATASET, "b1")),
        ("TransformStateFunction", f"{layout.BATCH}{DATASET}/copied-to-labeled.png"),
    ],
)
def test_every_optional_read_can_be_told_from_a_refusal_by_listing_the_key(
    policies: TemplatePolicies, function: str, key: str
) -> None:
    # S3 answers 403 for a missing key to a caller without s3:ListBucket; icflow then lists that key.
    assert policies.allows(function, "s3:GetObject", obj(key))
    assert policies.allows(function, "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": key})


def test_the_execution_role_reads_only_what_jobs_read(policies: TemplatePolicies) -> None:
    for key in ("datasets/d/train/a.rec", "transform-input/d/b/manifest.json", "batch/d/a.png", "artifacts/d/m.tar.gz"):
        assert policies.allows("SageMakerExecutionRole", "s3:GetObject", obj(key)), key
    for key in ("status/d/latest.json", "predictions/d/b/summary.json", "labeled/d/cat/a.png"):
        assert not policies.allows("SageMakerExecutionRole", "s3:GetObject", obj(key)), key
    assert policies.allows("SageMakerExecutionRole", "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": "datasets/d/train/"})
    assert not policies.allows("SageMakerExecutionRole", "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": "status/"})


def test_only_sagemaker_acting_for_this_account_may_assume_the_execution_role(policies: TemplatePolicies) -> None:
    trust = policies.trust("SageMakerExecutionRole")
    role = f"arn:aws:iam::{ACCOUNT}:role/icflow-SageMakerExecutionRole"

    def assumes(service: str, account: str) -> bool:
        request = AuthRequest("sts:AssumeRole", role, {"aws:SourceAccount": account})
        return evaluate([trust], request, principal=Principal("Service", service)).allowed

    assert assumes("sagemaker.amazonaws.com", ACCOUNT)
    assert not assumes("sagemaker.amazonaws.com", "999999999999")
    assert not assumes("lambda.amazonaws.com", ACCOUNT)


def test_sagemaker_may_watch_the_rollback_alarms_icflow_creates(policies: TemplatePolicies) -> None:
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{rollback_alarm_name(naming.endpoint_name(DATASET))}"
    assert policies.allows("SageMakerExecutionRole", "cloudwatch:DescribeAlarms", alarm)
    assert policies.allows("ModelDeployFunction", "cloudwatch:PutMetricAlarm", alarm)


def test_deployments_may_create_an_endpoint_gone_meanwhile_and_replace_a_failed_one(policies: TemplatePolicies) -> None:
    endpoint = sagemaker_arn("endpoint", naming.endpoint_name(DATASET))
    for function in ("ModelDeployFunction", "EndpointStateFunction"):
        assert policies.allows(function, "sagemaker:CreateEndpoint", endpoint, **TAGGED_AS_OURS), function
        assert policies.allows(function, "sagemaker:DeleteEndpoint", endpoint, **OURS), function


def test_grants_no_call_needs_are_gone(policies: TemplatePolicies) -> None:
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/icflow-RunsTable"
    assert not policies.allows("IdleEndpointsFunction", "dynamodb:GetItem", table)
    assert policies.allows("IdleEndpointsFunction", "dynamodb:UpdateItem", table)


def test_multipart_uploads_of_predictions_can_be_aborted(policies: TemplatePolicies) -> None:
    key = obj(f"{layout.PREDICTIONS}{DATASET}/b1/predictions.jsonl")
    assert policies.allows("TransformStateFunction", "s3:PutObject", key)
    assert policies.allows("TransformStateFunction", "s3:AbortMultipartUpload", key)


def test_sam_adds_the_dead_letter_queue_grant(policies: TemplatePolicies) -> None:
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:icflow-DatasetUploadDeadLetterQueue"
    assert policies.allows("DatasetUploadFunction", "sqs:SendMessage", queue)
    role: dict[str, Any] = policies.role("BatchCollectFunction")
    assert "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole" in role["ManagedPolicyArns"]


# (function, action, resource kind) for every SageMaker create and every change of an existing resource.
CREATES = [
    ("DatasetUploadFunction", "sagemaker:CreateTrainingJob", "training-job"),
    ("DatasetUploadFunction", "sagemaker:CreateHyperParameterTuningJob", "hyper-parameter-tuning-job"),
    ("TrainingStateFunction", "sagemaker:CreateModel", "model"),
    ("TrainingStateFunction", "sagemaker:CreateModelPackageGroup", "model-package-group"),
    ("TrainingStateFunction", "sagemaker:CreateModelPackage", "model-package"),
    ("BatchCollectFunction", "sagemaker:CreateTransformJob", "transform-job"),
    ("ModelDeployFunction", "sagemaker:CreateTransformJob", "transform-job"),
    ("ModelDeployFunction", "sagemaker:CreateEndpointConfig", "endpoint-config"),
    ("ModelDeployFunction", "sagemaker:CreateEndpoint", "endpoint"),
    ("EndpointStateFunction", "sagemaker:CreateEndpointConfig", "endpoint-config"),
    ("EndpointStateFunction", "sagemaker:CreateEndpoint", "endpoint"),
]
CHANGES = [
    ("ModelDeployFunction", "sagemaker:UpdateEndpoint", "endpoint"),
    ("ModelDeployFunction", "sagemaker:DeleteEndpoint", "endpoint"),
    ("EndpointStateFunction", "sagemaker:UpdateEndpoint", "endpoint"),
    ("EndpointStateFunction", "sagemaker:DeleteEndpoint", "endpoint"),
    ("EndpointStateFunction", "sagemaker:DeleteEndpointConfig", "endpoint-config"),
    ("EndpointStateFunction", "sagemaker:DeleteModel", "model"),
    ("IdleEndpointsFunction", "sagemaker:DeleteEndpoint", "endpoint"),
]


@pytest.mark.parametrize(("function", "action", "kind"), CREATES)
def test_creates_must_tag_the_resource_as_this_stacks(
    policies: TemplatePolicies, function: str, action: str, kind: str
) -> None:
    resource = sagemaker_arn(kind, f"icflow-{DATASET}-3f2a9c41d0b7")
    assert policies.allows(function, action, resource, **TAGGED_AS_OURS)
    assert policies.allows(function, "sagemaker:AddTags", resource, **TAGGED_AS_OURS)
    assert not policies.allows(function, action, resource)
    assert not policies.allows(function, action, resource, **{f"aws:requesttag/{naming.TAG_STACK}": "icflow-staging"})


@pytest.mark.parametrize(("function", "action", "kind"), CHANGES)
def test_only_this_stacks_resources_may_be_changed(
    policies: TemplatePolicies, function: str, action: str, kind: str
) -> None:
    """Two stacks in one account share icflow- names: stack B may not update or delete stack A's endpoint."""
    resource = sagemaker_arn(kind, naming.endpoint_name(DATASET))
    assert policies.allows(function, action, resource, **OURS)
    assert not policies.allows(function, action, resource, **OTHER_STACKS)
    assert not policies.allows(function, action, resource)  # untagged: no icflow stack created it


def test_the_report_function_reads_what_its_pages_show_and_writes_only_reports(policies: TemplatePolicies) -> None:
    run_job = naming.training_job_name(DATASET, "3f2a9c41d0b7")
    tuning_job = naming.tuning_job_name(DATASET, "3f2a9c41d0b7")
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:*"
    for action, resource in (
        ("sagemaker:DescribeTrainingJob", sagemaker_arn("training-job", run_job)),
        ("sagemaker:DescribeHyperParameterTuningJob", sagemaker_arn("hyper-parameter-tuning-job", tuning_job)),
        (
            "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            sagemaker_arn("hyper-parameter-tuning-job", tuning_job),
        ),
        ("logs:FilterLogEvents", log_group),
        ("s3:GetObject", obj(f"{layout.predictions_prefix(DATASET, 'b1')}summary.json")),
        ("s3:GetObject", obj(f"{layout.BATCH}{DATASET}/cat/a.jpg")),
        ("s3:GetObject", obj(f"{layout.channel_prefix(DATASET, layout.TRAIN)}part-0.rec")),
        ("s3:PutObject", obj(layout.batch_report_key(DATASET, "b1"))),
        ("s3:PutObject", obj(layout.run_report_key(DATASET, "r1"))),
    ):
        assert policies.allows("ReportsFunction", action, resource), (action, resource)
    for action, resource in (
        ("s3:PutObject", obj(f"{layout.predictions_prefix(DATASET, 'b1')}summary.json")),
        ("s3:PutObject", obj(f"{layout.BATCH}{DATASET}/cat/a.jpg")),
        ("s3:GetObject", obj(layout.latest_status_key(DATASET))),
        ("sagemaker:DescribeTrainingJob", sagemaker_arn("training-job", "someone-elses-job")),
    ):
        assert not policies.allows("ReportsFunction", action, resource), (action, resource)
