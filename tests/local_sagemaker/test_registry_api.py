"""The Model Registry through boto3: groups, versions numbered per group, ClientToken idempotency, listing,
approval updates and their events, AWS's errors, injected refusals, and IAM on the registry's ARNs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from icflow_tools.local_iam.api_actions import Call, api_requests
from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import credential_variables, session_with
from icflow_tools.local_iam.middleware import AuthorizingMiddleware
from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_sagemaker import LocalSageMaker
from icflow_tools.local_sagemaker.faults import Refusal
from icflow_tools.local_sagemaker.iam import SageMakerIam
from icflow_tools.local_stack.moto_server import MotoServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
STATE_CHANGE = "SageMaker Model Package State Change"


def register(sagemaker: Any, group: str, **extra: Any) -> str:
    request = {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": "digits, run 1",
        "InferenceSpecification": {
            "Containers": [{"Image": "image-classification", "ModelDataUrl": "s3://bucket/model.tar.gz"}],
            "SupportedContentTypes": ["image/png"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        "CustomerMetadataProperties": {"run_id": "1"},
        **extra,
    }
    return sagemaker.create_model_package(**request)["ModelPackageArn"]


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_versions_count_up_per_group_and_are_described_by_arn_or_group_and_version(sagemaker):
    created = sagemaker.create_model_package_group(
        ModelPackageGroupName="Digits", ModelPackageGroupDescription="d", Tags=[{"Key": "k", "Value": "v"}]
    )
    assert created["ModelPackageGroupArn"] == f"{ARN}:model-package-group/digits"  # names in lower case
    sagemaker.create_model_package_group(ModelPackageGroupName="pets")

    assert [register(sagemaker, "Digits") for _ in range(2)] == [
        f"{ARN}:model-package/digits/1",
        f"{ARN}:model-package/digits/2",
    ]
    assert register(sagemaker, "pets", Tags=[{"Key": "run", "Value": "1"}]) == f"{ARN}:model-package/pets/1"

    by_arn = sagemaker.describe_model_package(ModelPackageName=f"{ARN}:model-package/digits/2")
    by_name = sagemaker.describe_model_package(ModelPackageName="Digits/2")
    assert by_arn.pop("ResponseMetadata") and by_name.pop("ResponseMetadata") and by_arn == by_name
    assert {k: by_arn[k] for k in ("ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion")} == {
        "ModelPackageName": "Digits",
        "ModelPackageGroupName": "Digits",
        "ModelPackageVersion": 2,
    }
    assert by_arn["ModelApprovalStatus"] == "PendingManualApproval"
    assert by_arn["ModelPackageStatus"] == "Completed"
    assert by_arn["CustomerMetadataProperties"] == {"run_id": "1"}
    assert by_arn["InferenceSpecification"]["SupportedContentTypes"] == ["image/png"]
    assert by_arn["CreationTime"] == by_arn["LastModifiedTime"]
    group = sagemaker.describe_model_package_group(ModelPackageGroupName=f"{ARN}:model-package-group/digits")
    assert (group["ModelPackageGroupName"], group["ModelPackageGroupDescription"]) == ("Digits", "d")
    assert group["ModelPackageGroupStatus"] == "Completed"
    assert sagemaker.list_tags(ResourceArn=f"{ARN}:model-package/pets/1")["Tags"] == [{"Key": "run", "Value": "1"}]
    assert sagemaker.list_tags(ResourceArn=created["ModelPackageGroupArn"])["Tags"] == [{"Key": "k", "Value": "v"}]

    # A deleted version's number is not given again: an ARN always means one package.
    sagemaker.delete_model_package(ModelPackageName="digits/2")
    assert register(sagemaker, "digits") == f"{ARN}:model-package/digits/3"


def test_a_repeated_client_token_returns_the_same_package_without_a_new_version(sagemaker):
    sagemaker.create_model_package_group(ModelPackageGroupName="digits")
    sagemaker.create_model_package_group(ModelPackageGroupName="pets")
    first = register(sagemaker, "digits", ClientToken="retry-1")

    assert register(sagemaker, "digits", ClientToken="retry-1") == first
    assert register(sagemaker, "pets", ClientToken="retry-1") == f"{ARN}:model-package/pets/1"  # per group
    assert register(sagemaker, "digits", ClientToken="retry-2") == f"{ARN}:model-package/digits/2"
    # boto3 fills in a fresh token when none is given: every such call is a new version.
    assert register(sagemaker, "digits") == f"{ARN}:model-package/digits/3"
    listed = sagemaker.list_model_packages(ModelPackageGroupName="digits")["ModelPackageSummaryList"]
    assert [p["ModelPackageVersion"] for p in listed] == [1, 2, 3]


def test_lists_filter_sort_and_page(sagemaker):
    for name in ("icflow-digits", "icflow-pets", "other"):
        sagemaker.create_model_package_group(ModelPackageGroupName=name)
    for status in ("Approved", "Rejected", "Approved", None):
        register(sagemaker, "icflow-digits", **({"ModelApprovalStatus": status} if status else {}))
    register(sagemaker, "icflow-pets", ModelApprovalStatus="Approved")

    first = sagemaker.list_model_package_groups(NameContains="ICFLOW", MaxResults=1)
    assert [g["ModelPackageGroupName"] for g in first["ModelPackageGroupSummaryList"]] == ["icflow-digits"]
    second = sagemaker.list_model_package_groups(NameContains="ICFLOW", MaxResults=1, NextToken=first["NextToken"])
    assert [g["ModelPackageGroupName"] for g in second["ModelPackageGroupSummaryList"]] == ["icflow-pets"]
    assert "NextToken" not in second
    assert second["ModelPackageGroupSummaryList"][0]["ModelPackageGroupStatus"] == "Completed"

    def versions(**filters: Any) -> list[int]:
        answer = sagemaker.list_model_packages(ModelPackageGroupName="icflow-digits", **filters)
        return [p["ModelPackageVersion"] for p in answer["ModelPackageSummaryList"]]

    assert versions() == [1, 2, 3, 4]
    assert versions(ModelApprovalStatus="Approved") == [1, 3]
    assert versions(ModelApprovalStatus="PendingManualApproval") == [4]
    assert versions(ModelApprovalStatus="Approved", SortBy="CreationTime", SortOrder="Descending") == [3, 1]
    paged = sagemaker.list_model_packages(ModelPackageGroupName="icflow-digits", SortOrder="Descending", MaxResults=3)
    assert [p["ModelPackageVersion"] for p in paged["ModelPackageSummaryList"]] == [4, 3, 2]
    assert versions(SortOrder="Descending", MaxResults=3, NextToken=paged["NextToken"]) == [1]
    summary = paged["ModelPackageSummaryList"][0]
    assert set(summary) == {
        "ModelPackageName",
        "ModelPackageGroupName",
        "ModelPackageVersion",
        "ModelPackageArn",
        "ModelPackageDescription",
        "CreationTime",
        "ModelPackageStatus",
        "ModelApprovalStatus",
    }
    # Without a group SageMaker lists unversioned packages unless asked for versioned ones.
    assert sagemaker.list_model_packages()["ModelPackageSummaryList"] == []
    approved = sagemaker.list_model_packages(ModelPackageType="Versioned", ModelApprovalStatus="Approved")
    assert [p["ModelPackageArn"] for p in approved["ModelPackageSummaryList"]] == [
        f"{ARN}:model-package/icflow-digits/1",
        f"{ARN}:model-package/icflow-digits/3",
        f"{ARN}:model-package/icflow-pets/1",
    ]
    paginated = sagemaker.get_paginator("list_model_packages").paginate(
        ModelPackageGroupName="icflow-digits", PaginationConfig={"PageSize": 1}
    )
    assert [p["ModelPackageVersion"] for page in paginated for p in page["ModelPackageSummaryList"]] == [1, 2, 3, 4]


def test_registration_and_each_approval_change_publish_the_described_package(aws, sagemaker, helpers):
    sagemaker.create_model_package_group(ModelPackageGroupName="digits")
    arn = register(sagemaker, "digits", Tags=[{"Key": "icflow:dataset", "Value": "digits"}])

    def events() -> list[dict[str, Any]]:
        return aws.events_for(STATE_CHANGE, "ModelPackageArn", arn)

    (created,) = helpers.wait_for(events)
    assert (created["source"], created["resources"]) == ("aws.sagemaker", [arn])
    assert created["detail"]["ModelApprovalStatus"] == "PendingManualApproval"

    sagemaker.update_model_package(
        ModelPackageArn=arn,
        CustomerMetadataProperties={"note": "metadata only"},
        CustomerMetadataPropertiesToRemove=["run_id"],
    )
    updated = sagemaker.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="accuracy 0.97"
    )
    assert updated["ModelPackageArn"] == arn
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")  # no change, no event

    published = helpers.wait_for(lambda: events() if len(events()) >= 2 else None)
    assert len(published) == 2
    detail = published[1]["detail"]
    assert detail["ModelApprovalStatus"] == described["ModelApprovalStatus"] == "Approved"
    assert detail["ApprovalDescription"] == "accuracy 0.97"
    assert detail["CustomerMetadataProperties"] == described["CustomerMetadataProperties"] == {"note": "metadata only"}
    assert {k: detail[k] for k in ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageStatus")} == {
        "ModelPackageGroupName": "digits",
        "ModelPackageVersion": 1,
        "ModelPackageStatus": "Completed",
    }
    assert detail["InferenceSpecification"] == described["InferenceSpecification"]
    assert detail["ModelPackageDescription"] == "digits, run 1"
    assert detail["Tags"] == {"icflow:dataset": "digits"}
    # Epoch milliseconds, as the other local events carry timestamps.
    assert detail["LastModifiedTime"] == int(described["LastModifiedTime"].timestamp() * 1000)
    assert detail["LastModifiedTime"] > detail["CreationTime"]


def test_aws_errors_for_missing_and_duplicate_groups_and_a_group_that_holds_versions(sagemaker):
    with pytest.raises(ClientError) as missing:
        register(sagemaker, "nowhere")
    assert error_of(missing) == (
        "ValidationException",
        f"ModelPackageGroup {ARN}:model-package-group/nowhere does not exist.",
    )
    sagemaker.create_model_package_group(ModelPackageGroupName="digits")
    with pytest.raises(ClientError) as duplicate:
        sagemaker.create_model_package_group(ModelPackageGroupName="DIGITS")
    assert error_of(duplicate) == (
        "ValidationException",
        f"Model Package Group already exists: {ARN}:model-package-group/digits",
    )
    arn = register(sagemaker, "digits")
    with pytest.raises(ClientError) as holding:
        sagemaker.delete_model_package_group(ModelPackageGroupName="digits")
    code, message = error_of(holding)
    assert code == "ConflictException" and "contains 1 model package version" in message

    sagemaker.delete_model_package(ModelPackageName=arn)
    with pytest.raises(ClientError) as deleted:
        sagemaker.describe_model_package(ModelPackageName=arn)
    assert error_of(deleted) == ("ValidationException", f"ModelPackage {arn} does not exist.")
    with pytest.raises(ClientError) as unversioned:
        sagemaker.create_model_package(ModelPackageName="loose")
    assert error_of(unversioned)[0] == "ValidationException"
    sagemaker.delete_model_package_group(ModelPackageGroupName="digits")
    assert sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    with pytest.raises(ClientError) as gone:
        sagemaker.describe_model_package_group(ModelPackageGroupName="digits")
    assert error_of(gone)[0] == "ValidationException"


def test_registry_operations_take_injected_refusals(service, sagemaker, helpers):
    sagemaker.create_model_package_group(ModelPackageGroupName="digits")
    service.faults.add(Refusal("CreateModelPackage", "ResourceLimitExceeded"))
    client = boto3.client(
        "sagemaker",
        region_name=helpers.REGION,
        endpoint_url=service.url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as refused:
        register(client, "digits")
    assert error_of(refused)[0] == "ResourceLimitExceeded"
    assert register(client, "digits") == f"{ARN}:model-package/digits/1"  # the refusal created nothing


# -- IAM --------------------------------------------------------------------------------------------------------------
def test_registry_calls_are_authorized_on_group_and_package_arns():
    def requests(operation: str, **params: Any) -> list[tuple[str, str]]:
        call = Call("sagemaker", operation, params, REGION, ACCOUNT, next_package_version=lambda group: 7)
        return [(r.action, r.resource) for r in api_requests(call)]

    group = f"{ARN}:model-package-group/digits"
    assert requests("CreateModelPackageGroup", ModelPackageGroupName="Digits", Tags=[{"Key": "k", "Value": "v"}]) == [
        ("sagemaker:CreateModelPackageGroup", group),
        ("sagemaker:AddTags", group),
    ]
    assert requests("DeleteModelPackageGroup", ModelPackageGroupName=group) == [
        ("sagemaker:DeleteModelPackageGroup", group)
    ]
    assert requests("CreateModelPackage", ModelPackageGroupName="digits") == [
        ("sagemaker:CreateModelPackage", f"{ARN}:model-package/digits/7")
    ]
    package = f"{ARN}:model-package/digits/3"
    assert requests("DescribeModelPackage", ModelPackageName="digits/3") == [
        ("sagemaker:DescribeModelPackage", package)
    ]
    assert requests("UpdateModelPackage", ModelPackageArn=package) == [("sagemaker:UpdateModelPackage", package)]
    assert requests("ListModelPackages", ModelPackageGroupName="digits") == [("sagemaker:ListModelPackages", "*")]
    assert requests("ListModelPackageGroups") == [("sagemaker:ListModelPackageGroups", "*")]


OPERATOR = {"aws_access_key_id": "operator", "aws_secret_access_key": "x", "aws_session_token": "x"}


@pytest.fixture(scope="module")
def authorized_moto() -> Iterator[tuple[str, Authorizer]]:
    authorizer = Authorizer(MotoStore(ACCOUNT), ["operator"], REGION)
    moto = MotoServer("127.0.0.1", 0, lambda app: AuthorizingMiddleware(app, authorizer, ACCOUNT)).start()
    yield moto.url, authorizer
    moto.stop()


def role_session(url: str, statements: list[dict[str, Any]]) -> boto3.Session:
    operator = boto3.Session(region_name=REGION, **OPERATOR)
    iam = operator.client("iam", endpoint_url=url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    name = f"role-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    credentials = operator.client("sts", endpoint_url=url).assume_role(RoleArn=arn, RoleSessionName=name)
    return session_with(credential_variables(credentials["Credentials"]), REGION)


def test_callers_need_the_registry_action_on_the_group_or_package(authorized_moto, tmp_path):
    url, authorizer = authorized_moto
    sts = boto3.Session(region_name=REGION, **OPERATOR).client("sts", endpoint_url=url)
    registrar = role_session(
        url,
        [
            {
                "Effect": "Allow",
                "Action": ["sagemaker:CreateModelPackageGroup", "sagemaker:CreateModelPackage"],
                "Resource": [f"{ARN}:model-package-group/icflow-*", f"{ARN}:model-package/icflow-*/*"],
            }
        ],
    )
    reader = role_session(
        url, [{"Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": f"{ARN}:model-package/*"}]
    )
    with LocalSageMaker(
        work_dir=tmp_path, event_bus_name=None, iam=SageMakerIam(authorizer, sts, url, REGION, ACCOUNT)
    ) as service:
        as_registrar = registrar.client("sagemaker", endpoint_url=service.url)
        as_reader = reader.client("sagemaker", endpoint_url=service.url)
        as_registrar.create_model_package_group(ModelPackageGroupName="icflow-digits")
        arn = register(as_registrar, "icflow-digits")
        assert as_reader.describe_model_package(ModelPackageName=arn)["ModelPackageVersion"] == 1

        with pytest.raises(ClientError) as denied:
            as_reader.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        code, message = error_of(denied)
        assert code == "AccessDeniedException"
        assert f"sagemaker:UpdateModelPackage on resource: {arn}" in message
        with pytest.raises(ClientError) as tagged:  # tags on a create need sagemaker:AddTags too
            register(as_registrar, "icflow-digits", Tags=[{"Key": "k", "Value": "v"}])
        assert f"sagemaker:AddTags on resource: {ARN}:model-package/icflow-digits/2" in error_of(tagged)[1]
        with pytest.raises(ClientError) as elsewhere:
            as_registrar.create_model_package_group(ModelPackageGroupName="other")
        assert f"on resource: {ARN}:model-package-group/other" in error_of(elsewhere)[1]
