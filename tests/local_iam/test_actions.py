"""Requests as IAM sees them: the action, the resource and the condition keys of each call icflow makes."""

from __future__ import annotations

from icflow_tools.local_iam.api_actions import Call, api_requests
from icflow_tools.local_iam.policy import AuthRequest
from icflow_tools.local_iam.s3_actions import key_too_long, s3_requests

REGION, ACCOUNT = "us-east-1", "123456789012"


def actions(requests: list[AuthRequest]) -> list[tuple[str, str]]:
    return [(request.action, request.resource) for request in requests]


def test_s3_operations_are_named_as_policies_name_them():
    assert actions(s3_requests("HEAD", "/data/a%20b/c%2Bd", {}, {})) == [("s3:GetObject", "arn:aws:s3:::data/a b/c+d")]
    assert actions(s3_requests("GET", "/data/k", {"x-id": "GetObject"}, {})) == [
        ("s3:GetObject", "arn:aws:s3:::data/k")
    ]
    assert actions(s3_requests("GET", "/data/k", {"versionId": "1"}, {})) == [
        ("s3:GetObjectVersion", "arn:aws:s3:::data/k")
    ]
    assert actions(s3_requests("HEAD", "/data", {}, {})) == [("s3:ListBucket", "arn:aws:s3:::data")]
    assert actions(s3_requests("POST", "/data/k", {"uploads": ""}, {})) == [("s3:PutObject", "arn:aws:s3:::data/k")]
    assert actions(s3_requests("PUT", "/data/k", {"partNumber": "1", "uploadId": "u"}, {})) == [
        ("s3:PutObject", "arn:aws:s3:::data/k")
    ]
    assert actions(s3_requests("DELETE", "/data/k", {"uploadId": "u"}, {})) == [
        ("s3:AbortMultipartUpload", "arn:aws:s3:::data/k")
    ]
    assert actions(s3_requests("GET", "/", {}, {})) == [("s3:ListAllMyBuckets", "*")]


def test_a_listing_carries_its_prefix_and_an_unknown_sub_resource_is_named():
    (listing,) = s3_requests("GET", "/data", {"list-type": "2", "prefix": "datasets/x/", "max-keys": "1"}, {})
    assert listing.action == "s3:ListBucket"
    assert listing.context == {"s3:prefix": "datasets/x/", "s3:max-keys": "1"}
    (odd,) = s3_requests("GET", "/data", {"inventory": ""}, {})
    assert odd.action == "s3:GetBucket?inventory"


def test_a_copy_reads_its_source_and_a_multi_delete_deletes_each_key():
    copy = s3_requests("PUT", "/data/labeled/cat/1.png", {}, {"x-amz-copy-source": "data/batch/pets/1.png"})
    assert actions(copy) == [
        ("s3:PutObject", "arn:aws:s3:::data/labeled/cat/1.png"),
        ("s3:GetObject", "arn:aws:s3:::data/batch/pets/1.png"),
    ]
    body = b"<Delete><Object><Key>a</Key></Object><Object><Key>b/c</Key></Object></Delete>"
    assert actions(s3_requests("POST", "/data", {"delete": ""}, {}, body)) == [
        ("s3:DeleteObject", "arn:aws:s3:::data/a"),
        ("s3:DeleteObject", "arn:aws:s3:::data/b/c"),
    ]


def test_keys_over_1024_bytes_are_too_long():
    assert not key_too_long("/data/" + "k" * 1024)
    assert key_too_long("/data/" + "k" * 1025)
    assert key_too_long("/data/" + "%C3%A9" * 513)  # 513 two-byte characters


def call(service: str, operation: str, **params) -> list[tuple[str, str]]:
    return actions(api_requests(Call(service, operation, params, REGION, ACCOUNT)))


def test_each_api_names_the_resource_it_acts_on():
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/runs"
    assert call("dynamodb", "Query", TableName="runs", IndexName="by-status") == [
        ("dynamodb:Query", f"{table}/index/by-status")
    ]
    assert call("dynamodb", "TransactWriteItems", TransactItems=[{"Put": {"TableName": "runs"}}]) == [
        ("dynamodb:TransactWriteItems", table)
    ]
    assert call("sqs", "ReceiveMessage", QueueUrl=f"http://localhost/{ACCOUNT}/work") == [
        ("sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:work")
    ]
    assert call("sns", "Publish", TopicArn="arn:aws:sns:us-east-1:1:t") == [
        ("sns:Publish", "arn:aws:sns:us-east-1:1:t")
    ]
    assert call("events", "PutEvents", Entries=[{"Source": "x"}, {"EventBusName": "other"}]) == [
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"),
        ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/other"),
    ]
    assert call("cloudwatch", "PutMetricAlarm", AlarmName="icflow-x") == [
        ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:icflow-x")
    ]
    (metric,) = api_requests(Call("cloudwatch", "PutMetricData", {"Namespace": "/aws/sagemaker/x"}, REGION, ACCOUNT))
    assert (metric.resource, metric.context) == ("*", {"cloudwatch:namespace": "/aws/sagemaker/x"})
    assert call("sts", "AssumeRole", RoleArn="arn:aws:iam::1:role/r") == [("sts:AssumeRole", "arn:aws:iam::1:role/r")]


def test_sagemaker_creates_need_add_tags_and_pass_role_for_every_role_they_hand_over():
    role = f"arn:aws:iam::{ACCOUNT}:role/exec"
    requests = api_requests(
        Call(
            "sagemaker",
            "CreateHyperParameterTuningJob",
            {
                "HyperParameterTuningJobName": "icflow-Digits-1",
                "TrainingJobDefinition": {"RoleArn": role},
                "Tags": [{"Key": "icflow:dataset", "Value": "digits"}],
            },
            REGION,
            ACCOUNT,
        )
    )
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/icflow-digits-1"  # names in lower case
    assert actions(requests) == [
        ("sagemaker:CreateHyperParameterTuningJob", job),
        ("sagemaker:AddTags", job),
        ("iam:PassRole", role),
    ]
    assert requests[2].context == {"iam:PassedToService": "sagemaker.amazonaws.com"}
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/icflow-digits"
    assert call("sagemaker", "InvokeEndpoint", EndpointName="icflow-digits") == [("sagemaker:InvokeEndpoint", endpoint)]
    assert call("sagemaker", "DescribeEndpointConfig", EndpointConfigName="c") == [
        ("sagemaker:DescribeEndpointConfig", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/c")
    ]
    assert call("sagemaker", "ListEndpoints") == [("sagemaker:ListEndpoints", "*")]
    assert call("sagemaker", "ListTrainingJobsForHyperParameterTuningJob", HyperParameterTuningJobName="t") == [
        (
            "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/t",
        )
    ]


def test_application_autoscaling_names_scalable_targets_by_namespace_and_dimension():
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/icflow-digits/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    register, role = api_requests(Call("application-autoscaling", "RegisterScalableTarget", target, REGION, ACCOUNT))
    assert (register.action, register.resource) == (
        "application-autoscaling:RegisterScalableTarget",
        f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/*",
    )
    assert register.context == {
        "application-autoscaling:service-namespace": "sagemaker",
        "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
    }
    assert (role.action, role.resource, role.context) == (
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
        {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"},
    )
    (deregister,) = api_requests(Call("application-autoscaling", "DeregisterScalableTarget", target, REGION, ACCOUNT))
    assert deregister.context == register.context
    assert call("application-autoscaling", "DescribeScalableTargets", ServiceNamespace="sagemaker") == [
        ("application-autoscaling:DescribeScalableTargets", "*")
    ]
