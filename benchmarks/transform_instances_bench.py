"""Batch transform over instances on the local SageMaker: the same batch with InstanceCount 1 (the baseline) and
2, in the same run, with the real trainer's model: ResNet-18 (the algorithm's usual depth for photos) trained
briefly on scikit-learn's digits upscaled to --side pixels, so that labeling an image costs what a photo's does
rather than S3's round trips (at 28 pixels the local S3 would be most of the work, unlike on SageMaker).

Each job is timed from CreateTransformJob to Completed, so the instances' start (a process each, importing
torch and loading the model) is paid inside the figure, as an instance's start-up is on SageMaker. S3 (moto)
runs in a process of its own, as S3 is remote to SageMaker's instances. Rounds alternate 1 and 2 instances so
that load from other processes on the machine falls on both alike.

Two settings, both printed: as the service runs (an instance in the service's process labels with torch's threads
on every core), and with one core per instance (torch limited to one thread in the service's process too, as each
instance process has), where InstanceCount is the only thing that changes.

    .venv/bin/python benchmarks/transform_instances_bench.py [--images 2000] [--rounds 2] [--side 112]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from local_sagemaker_bench import IMAGE, REGION, ROLE, ended, free_port, job_request, use_bench_credentials, wait
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from icflow.batch.transform_resources import TransformResources, transform_resources
from icflow.core.pipeline_config import BatchSettings
from icflow.recordio import IndexedRecordWriter, pack_image_record
from icflow_tools.demo.digits import digit_png
from icflow_tools.local_sagemaker import LocalSageMaker

BUCKET = "bench"
INSTANCE_TYPE = "ml.m5.large"  # 2 vCPUs, as this machine has


def put_data(s3: Any, images: int, side: int, samples: int) -> None:
    """RecordIO channels of `samples` digits each, and `images` PNGs under batch/in/ (validation digits, cycled),
    all upscaled to `side` pixels."""
    digits = load_digits()
    train_x, val_x, train_y, val_y = train_test_split(
        digits.images, digits.target, test_size=0.2, stratify=digits.target, random_state=0
    )
    for channel, (x, y) in {"train": (train_x, train_y), "validation": (val_x, val_y)}.items():
        body = recordio(x[:samples], y[:samples], side)
        s3.put_object(Bucket=BUCKET, Key=f"data/{channel}/digits.rec", Body=body)
    for index in range(images):
        body = digit_png(val_x[index % len(val_x)], side)
        s3.put_object(Bucket=BUCKET, Key=f"batch/in/{index:05d}.png", Body=body)


def recordio(images: Any, labels: Any, side: int) -> bytes:
    rec, idx = io.BytesIO(), io.StringIO()
    writer = IndexedRecordWriter(rec, idx)
    for key, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        writer.write(key, pack_image_record(float(label), digit_png(pixels, side), key))
    return rec.getvalue()


def trained_model(client: Any, samples: int, side: int) -> str:
    hyperparameters = {
        "num_classes": "10",
        "num_training_samples": str(samples),
        "num_layers": "18",
        "image_shape": f"3,{side},{side}",
        "epochs": "1",  # the figure is throughput: what the model learnt does not change it
        "mini_batch_size": "32",
        "learning_rate": "0.1",
        "optimizer": "sgd",
    }
    client.create_training_job(**job_request(BUCKET, "digits", hyperparameters))
    job = wait(lambda: ended(client, "digits"))
    if job["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"training failed: {job.get('FailureReason')}")
    client.create_model(
        ModelName="digits",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"]},
    )
    return "digits"


@dataclass(frozen=True)
class Run:
    seconds: float  # CreateTransformJob -> Completed
    labeling: float  # first output written -> last output written: the instances at work, their start left out


def transform(s3: Any, client: Any, model: str, name: str, instances: int) -> Run:
    resources = resources_for(instances)
    start = time.perf_counter()
    client.create_transform_job(
        TransformJobName=name,
        ModelName=model,
        MaxConcurrentTransforms=resources.max_concurrent_transforms,
        BatchStrategy="SingleRecord",
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/in/"}},
            "ContentType": "application/x-image",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/out/{name}/"},
        TransformResources={"InstanceType": resources.instance_type, "InstanceCount": resources.instance_count},
    )
    job = wait(
        lambda: (lambda j: j if j["TransformJobStatus"] in ("Completed", "Failed") else None)(
            client.describe_transform_job(TransformJobName=name)
        )
    )
    seconds = time.perf_counter() - start
    if job["TransformJobStatus"] != "Completed":
        raise SystemExit(f"{name} failed: {job.get('FailureReason')}")
    written = [
        item["LastModified"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"out/{name}/")
        for item in page["Contents"]
    ]
    return Run(seconds, (max(written) - min(written)).total_seconds())


def compare(s3: Any, client: Any, model: str, args: argparse.Namespace, setting: str) -> None:
    """The same batch on 1 and 2 instances, rounds alternating; prints both and the ratio."""
    runs: dict[int, list[Run]] = {1: [], 2: []}
    for round_ in range(args.rounds):
        for instances in runs:
            name = f"{setting.split()[0]}-{round_}-{instances}".replace("'", "")
            runs[instances].append(transform(s3, client, model, name, instances))
    whole = {count: statistics.median(run.seconds for run in done) for count, done in runs.items()}
    labeling = {count: statistics.median(run.labeling for run in done) for count, done in runs.items()}
    print(f"-- {setting}")
    for count in runs:
        print(
            f"batch transform of {args.images} images ({args.side}x{args.side}, ResNet-18), InstanceCount {count} x "
            f"{INSTANCE_TYPE}, MaxConcurrentTransforms {resources_for(count).max_concurrent_transforms}: "
            f"Create -> Completed {whole[count]:.1f} s ({args.images / whole[count]:.1f} images/s), labeling once "
            f"started {labeling[count]:.1f} s ({args.images / labeling[count]:.1f} images/s); medians of {args.rounds}"
        )
    print(
        f"2 instances over 1 (the baseline): {whole[1] / whole[2]:.2f}x whole job, "
        f"{labeling[1] / labeling[2]:.2f}x labeling once started; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except OSError:
        return False
    return True


def resources_for(instances: int) -> TransformResources:
    """icflow's own rule for the concurrency (the type's vCPUs); the instance count fixed, as pipeline.json can."""
    return transform_resources(BatchSettings(instance_type=INSTANCE_TYPE, instance_count=instances), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--side", type=int, default=112)
    parser.add_argument("--samples", type=int, default=320, help="training and validation digits")
    args = parser.parse_args()
    use_bench_credentials()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    port = free_port()
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    moto_url = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: _answers(moto_url), timeout=60)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_url)
        s3.create_bucket(Bucket=BUCKET)
        put_data(s3, args.images, args.side, args.samples)
        with (
            tempfile.TemporaryDirectory() as folder,
            LocalSageMaker(Path(folder), s3_endpoint_url=moto_url, events_endpoint_url=moto_url) as service,
        ):
            client = boto3.client("sagemaker", region_name=REGION, endpoint_url=service.url)
            model = trained_model(client, args.samples, args.side)
            compare(s3, client, model, args, "torch's threads on every core")
            # What an instance has on SageMaker is its own vCPUs; here instances share two cores, and one instance
            # in the service's process already labels on both (torch's threads). With one thread per instance, an
            # instance is one core of this machine and InstanceCount is the only thing that changes.
            import torch  # loaded by the trainer by now; imported here only to set its threads

            torch.set_num_threads(1)
            compare(s3, client, model, args, "one core per instance")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
