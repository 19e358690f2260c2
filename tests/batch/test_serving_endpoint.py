"""How an InvokeEndpoint error reads: one image refused by the model, or the endpoint failing for the batch."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from icflow.batch.serving_endpoint import EndpointFailed, ImageRefused, ServingEndpoint


def _answering(code: str, status: int, **modeled: object) -> ServingEndpoint:
    runtime = boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(runtime)
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code=code,
        service_message="from the model",
        http_status_code=status,
        modeled_fields=modeled,
    )
    stub.activate()
    return ServingEndpoint(runtime)


def test_a_4xx_from_the_container_refuses_that_image() -> None:
    endpoint = _answering("ModelError", 424, OriginalStatusCode=400, OriginalMessage="unable to evaluate payload")

    with pytest.raises(ImageRefused, match="ClientError: 400: unable to evaluate payload"):
        endpoint.classify("icflow-pets", b"\xff\xd8")


@pytest.mark.parametrize(
    ("code", "status", "modeled"),
    [
        # A model that takes no images refuses every one: the endpoint is wrong, not the image.
        ("ModelError", 424, {"OriginalStatusCode": 415, "OriginalMessage": "unsupported content type"}),
        ("ModelError", 424, {"OriginalStatusCode": 500, "OriginalMessage": "worker died"}),
        ("ValidationError", 400, {}),
        ("ServiceUnavailable", 503, {}),
    ],
)
def test_anything_else_fails_the_endpoint_for_the_batch(code: str, status: int, modeled: dict[str, object]) -> None:
    endpoint = _answering(code, status, **modeled)

    with pytest.raises(EndpointFailed, match=f"icflow-pets answered {code}"):
        endpoint.classify("icflow-pets", b"\xff\xd8")
