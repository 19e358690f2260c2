"""Fixtures for the local SageMaker tests: moto's server as S3, EventBridge and SQS; the service on a free
port; boto3 clients pointed at both; a small deterministic algorithm for everything but the real-trainer test."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from icflow_tools.local_sagemaker import LocalSageMaker
from icflow_tools.local_stack.wiring import WHOLE_EVENT
from icflow_tools.trainer.api import AlgorithmError, Channel, ClientError, TrainingHooks, TrainingResult

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/icflow-sagemaker"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
WAIT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], Any], timeout: float = WAIT_SECONDS, interval: float = 0.05) -> Any:
    """Poll until `check()` is truthy; returns its value, or fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def png(size: int = 8, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def jpeg(size: int = 8, color: tuple[int, int, int] = (30, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="JPEG")
    return out.getvalue()


class FakeClassifier:
    """Probabilities from the image's size, so tests know the answer; counts concurrent calls."""

    def __init__(self, num_classes: int, delay: float) -> None:
        self.num_classes = num_classes
        self.delay = delay
        self._lock = threading.Lock()
        self.active = 0
        self.most_active = 0

    def predict(self, image: bytes) -> list[float]:
        if not (image.startswith(b"\x89PNG") or image.startswith(b"\xff\xd8")):
            raise AlgorithmError("the payload is not a JPEG or PNG image")
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(self.delay)
        with self._lock:
            self.active -= 1
        probabilities = [0.0] * self.num_classes
        probabilities[len(image) % self.num_classes] = 1.0
        return probabilities


class FakeAlgorithm:
    """Deterministic stand-in for the trainer. Hyperparameters steer it:
    epochs, epoch_seconds (sleep per epoch), learning_rate (accuracy = min(1, lr * (epoch + 1))),
    num_classes, fail (raise AlgorithmError with this message), client_fail (raise ClientError with this message),
    predict_seconds (per prediction)."""

    def __init__(self) -> None:
        self.classifiers: list[FakeClassifier] = []
        self.calls: list[dict[str, Any]] = []

    def train(
        self,
        hyperparameters: Mapping[str, str],
        channels: Mapping[str, Channel],
        model_dir: Path,
        checkpoint_dir: Path | None,
        hooks: TrainingHooks,
    ) -> TrainingResult:
        files = {
            name: sorted(p.relative_to(c.path).as_posix() for p in c.path.rglob("*") if p.is_file())
            for name, c in channels.items()
        }
        resumed = (
            (checkpoint_dir / "last_epoch").read_text()
            if checkpoint_dir and (checkpoint_dir / "last_epoch").exists()
            else None
        )
        self.calls.append(
            {
                "hyperparameters": dict(hyperparameters),
                "files": files,
                "resumed": resumed,
                "content_types": {name: c.content_type for name, c in channels.items()},
            }
        )
        if "fail" in hyperparameters:
            raise AlgorithmError(hyperparameters["fail"])
        if "client_fail" in hyperparameters:
            raise ClientError(hyperparameters["client_fail"])
        rate = float(hyperparameters.get("learning_rate", "0.1"))
        epochs: list[dict[str, float]] = []
        stopped = False
        for epoch in range(int(hyperparameters.get("epochs", "2"))):
            time.sleep(float(hyperparameters.get("epoch_seconds", "0")))
            accuracy = min(1.0, rate * (epoch + 1))
            metrics = {"train:accuracy": accuracy, "validation:accuracy": accuracy}
            epochs.append(metrics)
            hooks.log(f"Epoch[{epoch}] Validation-accuracy={accuracy:f}")
            if checkpoint_dir is not None:
                (checkpoint_dir / "last_epoch").write_text(str(epoch))
            if hooks.epoch_end(epoch, metrics):
                stopped = True
                break
        (model_dir / "model.json").write_text(
            json.dumps(
                {
                    "num_classes": int(hyperparameters.get("num_classes", "2")),
                    "predict_seconds": float(hyperparameters.get("predict_seconds", "0")),
                }
            )
        )
        return TrainingResult(final_metrics=epochs[-1] if epochs else {}, epochs=epochs, stopped=stopped)

    def load_model(self, model_dir: Path) -> FakeClassifier:
        spec = json.loads((model_dir / "model.json").read_text())
        classifier = FakeClassifier(spec["num_classes"], spec["predict_seconds"])
        self.classifiers.append(classifier)
        return classifier


@pytest.fixture(scope="package")
def moto_url() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


class Aws:
    """moto clients, a fresh bucket and a fresh bus whose sagemaker events land in an SQS queue."""

    def __init__(self, moto_url: str) -> None:
        self.s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
        self.events = boto3.client("events", region_name=REGION, endpoint_url=moto_url)
        self.sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_url)
        suffix = uuid.uuid4().hex[:10]
        self.bucket = f"icflow-test-{suffix}"
        self.bus = f"icflow-bus-{suffix}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.events.create_event_bus(Name=self.bus)
        self.queue_url = self.sqs.create_queue(QueueName=f"events-{suffix}")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name="sagemaker", EventBusName=self.bus, EventPattern=json.dumps({"source": ["aws.sagemaker"]})
        )
        # The whole event as the target's input: moto's default delivery drops the envelope's `account`.
        self.events.put_targets(
            Rule="sagemaker",
            EventBusName=self.bus,
            Targets=[{"Id": "queue", "Arn": queue_arn, "InputTransformer": WHOLE_EVENT}],
        )
        self.received: list[dict[str, Any]] = []

    def put(self, key: str, body: bytes) -> str:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return f"s3://{self.bucket}/{key}"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def keys(self, prefix: str) -> list[str]:
        return sorted(
            item["Key"] for item in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])
        )

    def drain(self) -> list[dict[str, Any]]:
        """Every event delivered so far (accumulated across calls), in publishing order."""
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.received
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def events_for(self, detail_type: str, name_field: str, name: str) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail-type"] == detail_type and e["detail"].get(name_field) == name]


@pytest.fixture
def aws(moto_url: str) -> Aws:
    return Aws(moto_url)


@pytest.fixture
def algorithm() -> FakeAlgorithm:
    return FakeAlgorithm()


ServiceFactory = Callable[..., LocalSageMaker]


@pytest.fixture
def start_service(tmp_path: Path, moto_url: str, aws: Aws, algorithm: FakeAlgorithm) -> Iterator[ServiceFactory]:
    """Starts a local SageMaker on moto with the fake algorithm, `options` adding to or overriding its own; every
    one started is stopped after the test."""
    with ExitStack() as started:

        def start(**options: Any) -> LocalSageMaker:
            return started.enter_context(_running_service(tmp_path, moto_url, aws, algorithm, **options))

        yield start


@contextmanager
def _running_service(
    tmp_path: Path, moto_url: str, aws: Aws, algorithm: FakeAlgorithm, **options: Any
) -> Iterator[LocalSageMaker]:
    local = LocalSageMaker(
        **{
            "work_dir": tmp_path / "work",
            "s3_endpoint_url": moto_url,
            "events_endpoint_url": moto_url,
            "event_bus_name": aws.bus,
            "region": REGION,
            "algorithm": algorithm,
            "stop_grace_seconds": 1.0,
            **options,
        }
    )
    local.start()
    try:
        yield local
    finally:
        local.stop(timeout=10)


@pytest.fixture
def real_service(tmp_path: Path, moto_url: str, aws: Aws) -> Iterator[LocalSageMaker]:
    """A local SageMaker on moto running the real trainer (its default algorithm), its jobs logging to moto's
    CloudWatch Logs."""
    local = LocalSageMaker(
        work_dir=tmp_path / "work",
        s3_endpoint_url=moto_url,
        events_endpoint_url=moto_url,
        logs_endpoint_url=moto_url,
        event_bus_name=aws.bus,
        region=REGION,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop(timeout=30)


@pytest.fixture
def service(start_service: ServiceFactory) -> LocalSageMaker:
    return start_service(max_running_jobs=2)


@pytest.fixture
def sagemaker(service: LocalSageMaker) -> Any:
    return boto3.client("sagemaker", region_name=REGION, endpoint_url=service.url)


@pytest.fixture
def runtime(service: LocalSageMaker) -> Any:
    return boto3.client("sagemaker-runtime", region_name=REGION, endpoint_url=service.url)


def training_request(
    aws: Aws, name: str, hyperparameters: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A CreateTrainingJob request on the bucket's data/train and data/validation prefixes."""
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"num_classes": "2", "epochs": "2", **(hyperparameters or {})},
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "application/x-recordio",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": aws.uri(f"data/{channel}/"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": aws.uri("artifacts/")},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "dataset", "Value": "digits"}],
    }
    request.update(extra)
    return request


def put_training_data(aws: Aws) -> None:
    aws.put("data/train/part-1.rec", b"train records")
    aws.put("data/train/nested/part-2.rec", b"more train records")
    aws.put("data/validation/val.rec", b"validation records")


def ended(client: Any, name: str) -> dict[str, Any] | None:
    job = client.describe_training_job(TrainingJobName=name)
    return job if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") else None


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The module's helpers, for test files (which cannot import conftest under --import-mode=importlib)."""
    return SimpleNamespace(
        wait_for=wait_for,
        png=png,
        jpeg=jpeg,
        training_request=training_request,
        put_training_data=put_training_data,
        ended=ended,
        IMAGE=IMAGE,
        ROLE=ROLE,
        REGION=REGION,
    )
