"""Injected API refusals through boto3: each error as AWS answers it, once / N times / always, the order of
checks (validation and authorization first), the /_icflow/faults control route and the --faults option."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from icflow_tools.local_sagemaker.__main__ import parse_args
from icflow_tools.local_sagemaker.faults import Failure, Refusal, fault_as_json, fault_from_json

# Throttling and 500s are retried by boto3 by default: one attempt shows what the service answered.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def client(service, helpers):
    return boto3.client("sagemaker", region_name=helpers.REGION, endpoint_url=service.url, config=ONE_ATTEMPT)


def create_model(client, helpers, name="m"):
    return client.create_model(
        ModelName=name,
        ExecutionRoleArn=helpers.ROLE,
        PrimaryContainer={"Image": helpers.IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"},
    )


@pytest.mark.parametrize(
    ("operation", "error", "status", "message"),
    [
        (
            "CreateTrainingJob",
            "ResourceLimitExceeded",
            400,
            "The account-level service limit 'ml.p3.2xlarge for training job usage' is 0 Instances, with current "
            "utilization of 0 Instances and a request delta of 1 Instances. Please use AWS Service Quotas to request "
            "an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request an "
            "increase for this quota.",
        ),
        ("CreateTrainingJob", "ThrottlingException", 400, "Rate exceeded"),
        (
            "CreateTrainingJob",
            "ValidationException",
            400,
            "The input fails to satisfy the constraints specified by an AWS service.",
        ),
        (
            "CreateTrainingJob",
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        ),
    ],
)
def test_each_refusal_reaches_boto3_with_its_code_status_and_aws_message(
    aws, service, client, helpers, operation, error, status, message
):
    service.faults.add(Refusal(operation, error))

    with pytest.raises(client.exceptions.ClientError) as raised:
        client.create_training_job(**helpers.training_request(aws, "refused"))

    assert raised.value.response["Error"] == {"Code": error, "Message": message}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert client.list_training_jobs()["TrainingJobSummaries"] == []  # the operation did not run


def test_modeled_errors_are_raised_as_the_clients_own_exception_classes(service, client, helpers):
    service.faults.add(
        Refusal("CreateEndpoint", "ResourceLimitExceeded", message="Endpoint limit reached."),
        Refusal("CreateModel", "ResourceLimitExceeded"),
    )

    with pytest.raises(client.exceptions.ResourceLimitExceeded, match="Endpoint limit reached."):
        client.create_endpoint(EndpointName="e", EndpointConfigName="nowhere")
    with pytest.raises(client.exceptions.ResourceLimitExceeded, match="'Number of Models' is 0 Models"):
        create_model(client, helpers)


def test_a_fault_holds_once_by_default_n_times_or_always_and_faults_apply_in_order(service, client, helpers):
    service.faults.add(
        Refusal("CreateModel", "ThrottlingException", times=2),
        Refusal("CreateModel", "ResourceLimitExceeded"),
        Refusal("DescribeModel", "InternalFailure", times=None),
    )

    codes = []
    for index in range(4):
        try:
            create_model(client, helpers, f"m{index}")
            codes.append("ok")
        except client.exceptions.ClientError as error:
            codes.append(error.response["Error"]["Code"])

    assert codes == ["ThrottlingException", "ThrottlingException", "ResourceLimitExceeded", "ok"]
    for _ in range(3):
        with pytest.raises(client.exceptions.ClientError, match="InternalFailure"):
            client.describe_model(ModelName="m3")
    assert service.faults.pending() == [Refusal("DescribeModel", "InternalFailure", times=None)]


def test_boto3_retries_a_transient_throttle_and_succeeds(service, helpers):
    retrying = boto3.client(
        "sagemaker", region_name=helpers.REGION, endpoint_url=service.url, config=Config(retries={"mode": "standard"})
    )
    service.faults.add(Refusal("CreateModel", "ThrottlingException", times=2))

    answer = create_model(retrying, helpers)

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert service.faults.pending() == []


def test_a_call_refused_by_validation_first_leaves_the_fault_for_the_next_call(service, helpers):
    unchecked = boto3.client(
        "sagemaker",
        region_name=helpers.REGION,
        endpoint_url=service.url,
        config=Config(retries={"total_max_attempts": 1}, parameter_validation=False),
    )
    service.faults.add(Refusal("CreateModel", "ThrottlingException"))

    with pytest.raises(unchecked.exceptions.ClientError) as raised:
        unchecked.create_model(ModelName="bad name!", PrimaryContainer={"Image": helpers.IMAGE})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "modelName" in raised.value.response["Error"]["Message"]
    assert len(service.faults.pending()) == 1


def test_faults_the_service_model_rules_out_are_refused_when_added(service):
    with pytest.raises(ValueError, match="DescribeEndpoint does not answer ResourceLimitExceeded"):
        service.faults.add(Refusal("DescribeEndpoint", "ResourceLimitExceeded"))
    with pytest.raises(ValueError, match="does not implement CreateCluster"):
        service.faults.add(Refusal("CreateCluster", "ThrottlingException"))
    with pytest.raises(ValueError, match="times must be a count of at least 1"):
        Refusal("CreateModel", "ThrottlingException", times=0)
    with pytest.raises(ValueError, match="error must be one of"):
        Refusal("CreateModel", "AccessDeniedException")  # type: ignore[arg-type]
    assert service.faults.pending() == []


def control(service, method, body=None):
    request = urllib.request.Request(
        f"{service.url}/_icflow/faults",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_control_route_adds_lists_and_clears_faults_while_the_service_runs(service, client, helpers):
    status, answer = control(
        service,
        "POST",
        {
            "faults": [
                {"refuse": "CreateModel", "error": "ThrottlingException", "times": 2},
                {"fail": "training", "reason": "AlgorithmError: out of memory", "name": "digits-*", "times": "always"},
            ]
        },
    )

    assert status == 200
    assert answer == {
        "faults": [
            {"refuse": "CreateModel", "error": "ThrottlingException", "times": 2},
            {"fail": "training", "reason": "AlgorithmError: out of memory", "name": "digits-*", "times": "always"},
        ]
    }
    with pytest.raises(client.exceptions.ClientError, match="Rate exceeded"):
        create_model(client, helpers)
    assert control(service, "GET")[1]["faults"][0]["times"] == 1
    assert control(service, "DELETE") == (200, {"faults": []})
    create_model(client, helpers)


def test_the_control_route_answers_400_for_a_fault_it_cannot_use(service):
    assert control(service, "POST", {"faults": [{"refuse": "CreateModel"}]}) == (
        400,
        {"__type": "ValidationException", "message": "a refusal needs an \"error\": {'refuse': 'CreateModel'}"},
    )
    status, answer = control(service, "POST", {"faults": [{"fail": "training", "reasn": "typo"}]})
    assert status == 400
    assert "unknown keys ['reasn']" in answer["message"]
    status, answer = control(service, "POST", {"faults": [{"refuse": "ListModels", "error": "ResourceLimitExceeded"}]})
    assert (status, answer["message"].split(":")[0]) == (400, "ListModels does not answer ResourceLimitExceeded")
    assert control(service, "GET") == (200, {"faults": []})


def test_the_json_shape_round_trips():
    for item in (
        {"refuse": "UpdateEndpoint", "error": "InternalFailure", "message": "boom", "times": "always"},
        {"fail": "spot-capacity", "name": "*", "times": 3},
    ):
        assert fault_as_json(fault_from_json(item)) == item
    assert fault_from_json({"fail": "transform"}) == Failure("transform")


def test_the_command_line_takes_faults_as_json_or_as_a_file(tmp_path, capsys):
    document = {"faults": [{"refuse": "CreateTrainingJob", "error": "ResourceLimitExceeded", "times": "always"}]}
    path = tmp_path / "faults.json"
    path.write_text(json.dumps(document))

    expected = [Refusal("CreateTrainingJob", "ResourceLimitExceeded", times=None)]
    assert parse_args(["--faults", json.dumps(document)]).faults == expected
    assert parse_args(["--faults", str(path)]).faults == expected
    assert parse_args([]).faults == []
    with pytest.raises(SystemExit):
        parse_args(["--faults", '{"faults": [{"fail": "gpu"}]}'])
    assert "fail must be one of training, spot-capacity, transform, endpoint-update" in capsys.readouterr().err
