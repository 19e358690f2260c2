"""The wire: JSON 1.1 and REST-JSON on one port, errors shaped as AWS shapes them, validation against the model."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError


def post(url, body: bytes, headers: dict[str, str]):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def json_11(service, operation: str, body: bytes):
    return post(
        service.url, body, {"X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1"}
    )


def test_missing_required_members_are_all_reported_in_one_validation_exception(service):
    status, headers, body = json_11(service, "CreateTrainingJob", json.dumps({"TrainingJobName": "x"}).encode())

    assert status == 400
    assert body["__type"] == "ValidationException"
    assert body["message"].startswith("2 validation errors detected: ")
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in body["message"]
    assert "'outputDataConfig'" in body["message"]
    assert headers["Content-Type"] == "application/x-amz-json-1.1"


def test_unknown_operations_and_broken_json_are_refused(service):
    status, _, body = json_11(service, "CreateNotebookInstance", b"{}")
    assert (status, body["__type"]) == (400, "UnknownOperationException")
    status, _, body = json_11(service, "ListModels", b"{not json")
    assert (status, body["__type"]) == (400, "ValidationException")
    status, _, _ = post(service.url + "/elsewhere", b"", {})
    assert status == 404


@pytest.mark.parametrize("depth", [65, 984, 5000])
def test_a_body_nested_past_any_request_is_refused_not_crashed_on(service, depth):
    # 984 levels parse, and then overflowed the recursive walk of the request: a 500 before (a property test's find).
    status, _, body = json_11(service, "ListTrainingJobs", b'{"a":' * depth + b"1" + b"}" * depth)

    assert (status, body["__type"]) == (400, "ValidationException")
    assert "more than 64 levels deep" in body["message"]


def test_the_faults_route_refuses_a_body_nested_past_any_request(service):
    # 2,049 levels: json raised RecursionError in the faults route, and the connection closed unanswered.
    status, _, body = post(service.url + "/_icflow/faults", b'{"a":' * 2049 + b"1" + b"}" * 2049, {})

    assert status == 400 and "more than 64 levels deep" in body["message"]


def test_a_body_nested_as_deep_as_a_request_may_is_read(service):
    # 64 levels, one short of the limit; the service reads past members its model does not know, as AWS does.
    members = json.dumps({"NameContains": "x", "Nested": _nested_list(63)}).encode()
    status, _, body = json_11(service, "ListTrainingJobs", members)

    assert (status, body["TrainingJobSummaries"]) == (200, [])


def _nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"TrainingJobName": "bad_name"}, "Member must satisfy regular expression pattern"),
        ({"TrainingJobName": "x" * 64}, "Member must have length less than or equal to 63"),
        (
            {"ResourceConfig": {"InstanceType": "ml.huge", "InstanceCount": 1, "VolumeSizeInGB": 1}},
            "Member must satisfy enum value set",
        ),
        ({"RoleArn": "arn:aws:iam::123:role/too-short-account"}, "Member must satisfy regular expression pattern"),
    ],
)
def test_constraints_of_the_service_model_are_enforced(aws, service, sagemaker, helpers, change, constraint):
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**{**helpers.training_request(aws, "valid-name"), **change})
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert constraint in error.value.response["Error"]["Message"]


def test_only_the_image_classification_algorithm_is_accepted(aws, service, sagemaker, helpers):
    request = helpers.training_request(aws, "xgb")
    request["AlgorithmSpecification"]["TrainingImage"] = (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**request)
    assert "image-classification" in error.value.response["Error"]["Message"]


def test_describing_an_unknown_job_answers_as_sagemaker_does(service, sagemaker):
    with pytest.raises(ClientError) as error:
        sagemaker.describe_training_job(TrainingJobName="missing")
    assert error.value.response["Error"] == {"Code": "ValidationException", "Message": "Requested resource not found."}
    with pytest.raises(ClientError) as error:
        sagemaker.describe_transform_job(TransformJobName="missing")
    assert error.value.response["Error"]["Code"] == "ValidationException"


def test_unchanged_clients_reach_both_apis_through_the_standard_endpoint_settings(service, monkeypatch, helpers):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", service.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", service.url)
    session = boto3.session.Session(region_name=helpers.REGION)

    assert session.client("sagemaker").list_endpoints()["Endpoints"] == []
    with pytest.raises(ClientError) as error:
        session.client("sagemaker-runtime").invoke_endpoint(EndpointName="none", Body=b"x", ContentType="image/png")
    assert error.value.response["Error"]["Code"] == "ValidationError"


def test_the_service_answers_a_health_check(service):
    with urllib.request.urlopen(service.url + "/ping", timeout=5) as answer:
        assert json.loads(answer.read()) == {"status": "ok"}


def test_the_command_line_service_says_when_it_is_ready_and_stops_on_sigterm(tmp_path, moto_url, helpers):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "icflow_tools.local_sagemaker",
            "--port",
            "0",
            "--no-events",
            "--s3-endpoint-url",
            moto_url,
            "--work-dir",
            str(tmp_path / "work"),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"local SageMaker ready on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        client = boto3.client("sagemaker", region_name=helpers.REGION, endpoint_url=match[1])
        assert client.list_training_jobs()["TrainingJobSummaries"] == []
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
