"""`icflow predict`: image bytes to the endpoint, the answer printed with class names (runtime stubbed with
botocore's Stubber, which checks the request against the service model)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from icflow.core import layout, naming
from icflow_tools.cli import main
from icflow_tools.cli.stack_resources import StackResources

JPEG = b"\xff\xd8\xff\xe0 a tiny jpeg"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch, aws: Any) -> Stubber:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    original = StackResources.client

    def client_for(self: StackResources, service: str) -> Any:
        return client if service == "sagemaker-runtime" else original(self, service)

    monkeypatch.setattr(StackResources, "client", client_for)
    return stubber


def _answer(probabilities: list[float]) -> dict[str, Any]:
    body = json.dumps(probabilities).encode()
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"}


def test_predict_prints_label_probability_and_top_k_by_name(
    runtime: Stubber, tmp_path: Path, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "cat.jpg"
    image.write_bytes(JPEG)
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\ndog\nemu\n")
    runtime.add_response(
        "invoke_endpoint",
        _answer([0.7, 0.2, 0.1]),
        {"EndpointName": "icflow-pets", "ContentType": "application/x-image", "Body": JPEG},
    )

    with runtime:
        code = main(
            [
                "predict",
                "--endpoint",
                "icflow-pets",
                "--classes",
                str(classes),
                "--top-k",
                "2",
                str(image),
                *stack_flags,
            ]
        )

    assert code == 0
    assert capsys.readouterr().out.strip() == f"{image}: cat (0.700)  top-2: cat 0.700, dog 0.200"


def test_predict_reports_an_endpoint_error_and_fails(
    runtime: Stubber, tmp_path: Path, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "notes.jpg"
    image.write_bytes(b"not an image")
    runtime.add_client_error(
        "invoke_endpoint", "ModelError", "Received client error (400): unable to decode image", http_status_code=424
    )

    with runtime:
        code = main(["predict", "--endpoint", "icflow-pets", "--json", str(image), *stack_flags])

    assert code == 1 and "unable to decode image" in capsys.readouterr().out


def test_predict_names_classes_as_the_endpoints_class_folders_model_was_trained(
    runtime: Stubber,
    aws: Any,
    role_arn: str,
    tmp_path: Path,
    stack_flags: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A run of class folders keeps its class names with the run; the dataset has no classes.txt of its own, and
    # one there would not be the model's.
    dataset, run_id = "pets", "0123456789ab"
    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    bucket = stack_flags[stack_flags.index("--bucket") + 1]
    s3.put_object(Bucket=bucket, Key=layout.prepared_classes_key(dataset, run_id), Body=b"cat\ndog\nemu\n")
    s3.put_object(Bucket=bucket, Key=layout.classes_key(dataset), Body=b"ant\nbee\ncow\n")
    model = naming.model_name(dataset, run_id)
    sagemaker.create_model(
        ModelName=model, ExecutionRoleArn=role_arn, PrimaryContainer={"Image": "example.com/image-classification:1"}
    )
    config = naming.endpoint_config_name(dataset, run_id)
    variant = {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large"}
    sagemaker.create_endpoint_config(
        EndpointConfigName=config, ProductionVariants=[{**variant, "InitialInstanceCount": 1}]
    )
    tags = [{"Key": key, "Value": value} for key, value in naming.dataset_tags(dataset).items()]
    sagemaker.create_endpoint(EndpointName=naming.endpoint_name(dataset), EndpointConfigName=config, Tags=tags)
    image = tmp_path / "dog.jpg"
    image.write_bytes(JPEG)
    runtime.add_response(
        "invoke_endpoint",
        _answer([0.1, 0.7, 0.2]),
        {"EndpointName": naming.endpoint_name(dataset), "ContentType": "application/x-image", "Body": JPEG},
    )

    with runtime:
        code = main(["predict", "--endpoint", naming.endpoint_name(dataset), str(image), *stack_flags])

    assert code == 0
    assert capsys.readouterr().out.strip() == f"{image}: dog (0.700)  top-3: dog 0.700, emu 0.200, cat 0.100"
