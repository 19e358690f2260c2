"""Local SageMaker figures: API latency, job overhead, stop latency, and the real trainer behind the service
(training wall time, batch transform throughput, InvokeEndpoint latency) on scikit-learn's digits.

Also times what a child process per job would cost (a fresh interpreter importing torch and the trainer)
against starting a thread, the figure behind running jobs in threads. Uses moto's server for S3/EventBridge.

    .venv/bin/python benchmarks/local_sagemaker_bench.py [--epochs 2] [--images 200] [--invocations 100]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from moto.server import ThreadedMotoServer
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from icflow.recordio import IndexedRecordWriter, pack_image_record
from icflow_tools.demo.digits import SIDE, digit_png
from icflow_tools.local_sagemaker import LocalSageMaker
from icflow_tools.trainer.api import TrainingResult

REGION = "us-east-1"
IMAGE = "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1"
ROLE = "arn:aws:iam::123456789012:role/bench"


class NoOpAlgorithm:
    """Epochs of `epoch_seconds` that learn nothing: isolates the service's own cost."""

    def train(self, hyperparameters, channels, model_dir, checkpoint_dir, hooks) -> TrainingResult:
        epochs = []
        for epoch in range(int(hyperparameters.get("epochs", "1"))):
            time.sleep(float(hyperparameters.get("epoch_seconds", "0")))
            epochs.append({"validation:accuracy": 0.5})
            if hooks.epoch_end(epoch, epochs[-1]):
                break
        (model_dir / "model.json").write_text("{}")
        return TrainingResult(final_metrics=epochs[-1], epochs=epochs)

    def load_model(self, model_dir):
        raise NotImplementedError("the no-op algorithm serves nothing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(check: Callable[[], Any], timeout: float = 600.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("gave up waiting")


def recordio(images: np.ndarray, labels: np.ndarray) -> bytes:
    rec, idx = io.BytesIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    for key, (pixels, label) in enumerate(zip(images, labels)):
        writer.write(key, pack_image_record(float(label), digit_png(pixels), key))
    return rec.getvalue()


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def job_request(bucket: str, name: str, hyperparameters: dict[str, str]) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": c,
                "ContentType": "application/x-recordio",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/data/{c}/"}},
            }
            for c in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/artifacts/"},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def ended(client: Any, name: str) -> dict[str, Any] | None:
    job = client.describe_training_job(TrainingJobName=name)
    return job if job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") else None


def service_figures(moto_url: str, work: Path, bucket: str) -> None:
    with LocalSageMaker(
        work / "noop",
        s3_endpoint_url=moto_url,
        events_endpoint_url=moto_url,
        algorithm=NoOpAlgorithm(),
        max_running_jobs=20,
    ) as service:
        client = boto3.client("sagemaker", region_name=REGION, endpoint_url=service.url)
        client.create_training_job(**job_request(bucket, "noop-0", {"epochs": "1"}))
        wait(lambda: ended(client, "noop-0"))
        latencies = []
        for _ in range(200):
            start = time.perf_counter()
            client.describe_training_job(TrainingJobName="noop-0")
            latencies.append(time.perf_counter() - start)
        print(
            f"DescribeTrainingJob latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms"
        )
        overheads = []
        for index in range(1, 11):
            start = time.perf_counter()
            client.create_training_job(**job_request(bucket, f"noop-{index}", {"epochs": "1"}))
            wait(lambda: ended(client, f"noop-{index}"))
            overheads.append(time.perf_counter() - start)
        print(
            f"training job overhead (Create -> Completed, no-op algorithm, events on): "
            f"median {statistics.median(overheads):.2f} s over {len(overheads)} jobs"
        )
        stops = []
        for index in range(5):
            name = f"stop-{index}"
            client.create_training_job(**job_request(bucket, name, {"epochs": "1000", "epoch_seconds": "0.1"}))
            wait(lambda: client.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training")
            start = time.perf_counter()
            client.stop_training_job(TrainingJobName=name)
            wait(lambda: ended(client, name))
            stops.append(time.perf_counter() - start)
        print(f"StopTrainingJob -> Stopped (epochs of 0.1 s): median {statistics.median(stops):.2f} s")


def process_versus_thread() -> None:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, icflow_tools.trainer"], check=True)
    child = time.perf_counter() - start
    start = time.perf_counter()
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    print(
        f"per-job start cost: child process importing torch + trainer {child:.2f} s; thread "
        f"{(time.perf_counter() - start) * 1000:.2f} ms"
    )


def put_digits(s3: Any, bucket: str, images: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation RecordIO channels, and `images` validation PNGs under batch/in/."""
    digits = load_digits()
    train_x, val_x, train_y, val_y = train_test_split(
        digits.images, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    s3.put_object(Bucket=bucket, Key="data/train/digits.rec", Body=recordio(train_x, train_y))
    s3.put_object(Bucket=bucket, Key="data/validation/digits.rec", Body=recordio(val_x, val_y))
    for index, pixels in enumerate(val_x[:images]):
        s3.put_object(Bucket=bucket, Key=f"batch/in/{index:04d}.png", Body=digit_png(pixels))
    return train_y, val_x


def trainer_figures(
    moto_url: str, work: Path, bucket: str, digits: tuple[np.ndarray, np.ndarray], args: argparse.Namespace
) -> None:
    train_y, val_x = digits
    with LocalSageMaker(work / "real", s3_endpoint_url=moto_url, events_endpoint_url=moto_url) as service:
        client = boto3.client("sagemaker", region_name=REGION, endpoint_url=service.url)
        runtime = boto3.client("sagemaker-runtime", region_name=REGION, endpoint_url=service.url)
        hyperparameters = {
            "num_classes": "10",
            "num_training_samples": str(len(train_y)),
            "num_layers": "20",
            "image_shape": f"3,{SIDE},{SIDE}",
            "epochs": str(args.epochs),
            "mini_batch_size": "32",
            "learning_rate": "0.1",
            "optimizer": "sgd",
        }
        start = time.perf_counter()
        client.create_training_job(**job_request(bucket, "digits", hyperparameters))
        job = wait(lambda: ended(client, "digits"))
        metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
        print(
            f"real training job ({args.epochs} epochs, ResNet-20, {len(train_y)} digits): {job['TrainingJobStatus']}, "
            f"Create -> Completed {time.perf_counter() - start:.1f} s, TrainingTimeInSeconds {job['TrainingTimeInSeconds']}, "
            f"validation:accuracy {metrics.get('validation:accuracy', float('nan')):.3f}"
        )
        client.create_model(
            ModelName="digits",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
        )
        for workers in (1, 2):
            name = f"batch-{workers}"
            start = time.perf_counter()
            client.create_transform_job(
                TransformJobName=name,
                ModelName="digits",
                MaxConcurrentTransforms=workers,
                TransformInput={
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/batch/in/"}},
                    "ContentType": "application/x-image",
                },
                TransformOutput={"S3OutputPath": f"s3://{bucket}/batch/out-{workers}/"},
                TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
            )
            done = wait(
                lambda: (lambda j: j if j["TransformJobStatus"] in ("Completed", "Failed") else None)(
                    client.describe_transform_job(TransformJobName=name)
                )
            )
            seconds = time.perf_counter() - start
            print(
                f"batch transform, MaxConcurrentTransforms={workers}: {done['TransformJobStatus']}, "
                f"{args.images} images in {seconds:.1f} s ({args.images / seconds:.0f} images/s, model load included)"
            )
        client.create_endpoint_config(
            EndpointConfigName="digits",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "digits",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        client.create_endpoint(EndpointName="digits", EndpointConfigName="digits")
        wait(lambda: client.describe_endpoint(EndpointName="digits")["EndpointStatus"] == "InService")
        body = digit_png(val_x[0])
        latencies = []
        for _ in range(args.invocations):
            start = time.perf_counter()
            answer = runtime.invoke_endpoint(EndpointName="digits", Body=body, ContentType="image/png")
            json.loads(answer["Body"].read())
            latencies.append(time.perf_counter() - start)
        print(
            f"InvokeEndpoint latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms over {args.invocations} requests"
        )


def use_bench_credentials() -> None:
    """Fake credentials and the region for boto3 against the local services, unless the caller set its own."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--invocations", type=int, default=100)
    args = parser.parse_args()
    use_bench_credentials()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    moto_url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
        s3.create_bucket(Bucket="bench")
        digits = put_digits(s3, "bench", args.images)
        with tempfile.TemporaryDirectory() as folder:
            process_versus_thread()
            service_figures(moto_url, Path(folder), "bench")
            trainer_figures(moto_url, Path(folder), "bench", digits, args)
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
