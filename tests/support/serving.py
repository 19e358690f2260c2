"""A dataset's realtime endpoint in service on the moto stack, and a stand-in for the model it serves.

moto's sagemaker-runtime answers InvokeEndpoint with fixed text, so ServingModel takes its place at moto's
response: requests still pass through botocore and the local IAM (the handler's role must allow
sagemaker:InvokeEndpoint on the endpoint), and the answer is what the image-classification algorithm's
container gives: a JSON list of class probabilities, or a ModelError carrying the container's status.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import unquote

import pytest
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse

from icflow.core import naming
from icflow.core.state import ENDPOINT_SK, EndpointStatus, StateTable
from support.batches import MODEL_RUN_ID
from support.stack import Stack

# An image of class i holds the word of class i; the model answers it with probability 0.9.
CLASS_WORDS = (b"cat", b"dog")
# An image holding this does not decode: the container answers 400, as the algorithm does.
UNDECODABLE = b"undecodable"


def jpeg(word: bytes, index: int = 0) -> bytes:
    """A JPEG the collector's checks take (signature first, end-of-image marker last), of the word's class."""
    return b"\xff\xd8\xff\xe0" + word + b"-%d" % index + b"\x00" * 64 + b"\xff\xd9"


class ServingModel:
    """Answers InvokeEndpoint like the algorithm's container. Its first `throttled` invocations SageMaker
    throttles; after `fail_after` invocations it fails: its worker answers 500 (a ModelError), or, with `gone`,
    SageMaker says the endpoint does not exist."""

    def __init__(self) -> None:
        self.invocations: list[tuple[str, str]] = []  # (endpoint name, content type)
        self.throttled = 0
        self.fail_after: int | None = None
        self.gone = False
        self._lock = threading.Lock()

    def answer(self, endpoint: str, content_type: str, body: bytes) -> tuple[int, dict[str, str], str]:
        with self._lock:
            self.invocations.append((endpoint, content_type))
            count = len(self.invocations)
        if count <= self.throttled:
            return 400, moto_headers(400, "ThrottlingException"), json.dumps({"message": "Rate exceeded"})
        if self.fail_after is not None and count > self.fail_after:
            if self.gone:
                message = json.dumps({"message": f"Endpoint {endpoint} of account 123456789012 not found."})
                return 400, moto_headers(400, "ValidationError"), message
            return _model_error(500, "worker died")
        if UNDECODABLE in body:
            return _model_error(400, "unable to evaluate payload provided")
        scores = [0.9 if word in body else 0.1 / (len(CLASS_WORDS) - 1) for word in CLASS_WORDS]
        return 200, {"Content-Type": "application/json"}, json.dumps(scores)


def _model_error(status: int, message: str) -> tuple[int, dict[str, str], str]:
    body = {
        "Message": f'Received client error ({status}) from primary with message "{message}".',
        "OriginalStatusCode": status,
        "OriginalMessage": message,
    }
    return 424, moto_headers(424, "ModelError"), json.dumps(body)


def moto_headers(status: int, error: str) -> dict[str, str]:
    """The headers of an error answer; moto takes the status from the "status" header, not the tuple."""
    return {"status": str(status), "x-amzn-ErrorType": error, "Content-Type": "application/json"}


def install_serving_model(monkeypatch: pytest.MonkeyPatch) -> ServingModel:
    """Every endpoint on moto answers as `ServingModel` does, for the rest of the test."""
    model = ServingModel()

    def invoke_endpoint(response: Any) -> tuple[int, dict[str, str], str]:
        endpoint = unquote(response.parsed_url.path.split("/")[2])  # /endpoints/<name>/invocations
        return model.answer(endpoint, response.headers.get("Content-Type", ""), response.raw_body)

    monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", invoke_endpoint)
    # moto reads request bodies as UTF-8 text; an image is not.
    monkeypatch.setattr(SageMakerRuntimeResponse, "use_raw_body", True, raising=False)
    return model


def serve(stack: Stack, dataset: str, model_name: str, status: EndpointStatus = EndpointStatus.IN_SERVICE) -> str:
    """The dataset's endpoint on `model_name`, created by this stack and recorded as the deployment leaves it."""
    endpoints = stack.adapters().endpoints
    name = naming.endpoint_name(dataset)
    config = naming.endpoint_config_name(dataset, MODEL_RUN_ID)
    tags = {naming.TAG_DATASET: dataset}
    endpoints.create_endpoint_config(config, model_name, "ml.m5.large", 1, tags)
    endpoints.create_endpoint(name, config, tags)
    fields = {"endpoint_name": name, "current_config": config, "current_models": [model_name]}
    StateTable(stack.client("dynamodb"), stack.settings.runs_table).create_item(
        dataset, ENDPOINT_SK, "endpoint", status.value, fields
    )
    return name
