"""The demo's stages, against a running local stack: the user's steps, done the way a user does them.

Data goes in only as a user puts it (S3 uploads); progress and results are read only where a user reads
them (the run-state table, status/, predictions/ and reports/ in the bucket, the SageMaker API, `icflow`
commands).
The local SageMaker's per-epoch metrics file is the one exception, read to show training as it happens.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from icflow.batch.predictions.summary import SUMMARY_FILE
from icflow.batch.predictions.writers import PREDICTIONS_JSONL
from icflow.core import layout
from icflow.core.errors import IcflowError
from icflow.core.state import (
    BATCH_SK_PREFIX,
    DATASET_SETTLING,
    DATASET_SK,
    ENDPOINT_SK,
    BatchStatus,
    EndpointStatus,
    StateTable,
)
from icflow_tools.demo.digits import SIDE, DigitFolders, HeldOut, write_digit_folders
from icflow_tools.demo.report_pages import REPORT_WAIT_SECONDS, ReportPage, ReportPages

T = TypeVar("T")
POLL_SECONDS = 0.5
STAGES = 7
FINAL_BATCH = (BatchStatus.LABELED.value, BatchStatus.EMPTY.value, BatchStatus.FAILED.value, BatchStatus.STOPPED.value)
FAILED_RUN = ("rejected", "failed", "stopped")
# Objects a folder dragged from a desktop brings along; icflow must leave them out of the transform job.
JUNK = {".DS_Store": b"\x00\x00\x00\x01Bud1", "notes.txt": b"held-out digits for the demo\n"}
# The template's default minute suits a person dragging a folder into the console; the demo's 271 uploads take
# about 11 s on the local stack (each put goes through S3 -> EventBridge -> SQS), so half a minute gathers them.
# Its dataset is four files put one after another, quiet within a second or two.
STACK_PARAMETERS = {"BatchMaximumBatchingWindowSeconds": "30", "DatasetSettleSeconds": "3"}
UPLOAD_THREADS = 8
ENDPOINT_IMAGES = 3


@dataclass(frozen=True)
class DemoOptions:
    work_dir: Path  # data/ and outputs/ are written here
    dataset: str = "digits"
    per_class: int | None = None  # None: every digit scikit-learn has (about 180 per class)
    held_out_fraction: float = 0.15
    train_ratio: float = 0.8
    epochs: int = 4
    endpoint: bool = True
    seed: int = 0
    stage_timeout_seconds: float = 900.0


@dataclass
class DemoReport:
    stage_seconds: dict[str, float] = field(default_factory=dict)
    job_name: str = ""
    model_name: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    training_jobs: int = 0  # after the duplicate upload
    predictions: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    accuracy: float = 0.0
    endpoint_name: str | None = None
    outputs_dir: Path | None = None
    # The report pages copied from the bucket, by "run" and "batch <batch_id>"; those that did not come, and why.
    reports: dict[str, Path] = field(default_factory=dict)
    missing_reports: dict[str, str] = field(default_factory=dict)


def say(line: str = "") -> None:
    print(line, flush=True)


def run_cli(*argv: str) -> None:
    """An `icflow` command, shown as the user would type it; its failure ends the demo."""
    from icflow_tools.cli import main

    say("  $ icflow " + " ".join(argv))
    if main(list(argv)) != 0:
        raise IcflowError(f"`icflow {' '.join(argv)}` failed (see above)")


class DemoFlow:
    def __init__(self, stack: Any, options: DemoOptions) -> None:
        self.stack = stack
        self.options = options
        state = stack.state()
        self.bucket = state["outputs"]["DataBucketName"]
        self.state_file = Path(stack.options.state_file)
        self.logs_dir = Path(state["logs_dir"])
        self.sagemaker_dir = Path(state["sagemaker_work_dir"])
        self.s3 = stack.client("s3")
        self.sagemaker = stack.client("sagemaker")
        self.runs = StateTable(stack.client("dynamodb"), state["outputs"]["RunsTableName"])
        self.report = DemoReport()
        self.pages = ReportPages(self.s3, self.bucket, state["functions"], POLL_SECONDS)
        self.expected_pages: list[ReportPage] = []

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _stage(self, number: int, title: str) -> Iterator[None]:
        say(f"\n[{number}/{STAGES}] {title}")
        started = time.monotonic()
        yield
        seconds = time.monotonic() - started
        self.report.stage_seconds[title] = seconds
        say(f"  ... {seconds:.1f} s")

    def _wait(self, check: Callable[[], T | None], what: str) -> T:
        deadline = time.monotonic() + self.options.stage_timeout_seconds
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(POLL_SECONDS)
        raise IcflowError(
            f"{what} did not happen within {self.options.stage_timeout_seconds:.0f} s; "
            f"the functions' logs are in {self.logs_dir}, the jobs' in {self.sagemaker_dir}"
        )

    def _put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def _get(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _dataset_item(self) -> dict[str, Any]:
        return self.runs.get_item(self.options.dataset, DATASET_SK) or {}

    def _fail_if_rejected(self) -> None:
        item = self._dataset_item()
        if item.get("status") in FAILED_RUN:
            raise IcflowError(f"dataset {self.options.dataset} is {item['status']}: {item.get('reason')}")

    # ------------------------------------------------------------------ stages
    def run(self) -> DemoReport:
        with self._stage(1, "prepare the dataset"):
            data = self.options.work_dir / "data"
            folders = self._prepare(data)
        with self._stage(2, "upload it"):
            self._upload(data)
        with self._stage(3, "train"):
            self._train()
        with self._stage(4, "upload it again"):
            self._duplicate_upload(data)
        with self._stage(5, "classify held-out images in a batch"):
            self._batch(folders.held_out)
        if self.options.endpoint:
            with self._stage(6, "classify images with the endpoint"):
                self._endpoint(folders.held_out[:ENDPOINT_IMAGES])
        # Last, so that the pages render while the batch and the endpoint run, and the demo rarely waits for them.
        with self._stage(7, "copy the report pages"):
            self._copy_report_pages()
        return self.report

    def _prepare(self, data: Path) -> DigitFolders:
        folders = write_digit_folders(data, self.options.held_out_fraction, self.options.per_class, self.options.seed)
        say(
            f"  wrote {folders.training_images} digit images to {folders.classes_root}/<digit>/ and "
            f"{len(folders.held_out)} held out to {folders.held_out[0].path.parent}/"
        )
        prefix = str(data / self.options.dataset)
        run_cli(
            "pack",
            "--list",
            "--recursive",
            "--train-ratio",
            str(self.options.train_ratio),
            "--seed",
            str(self.options.seed),
            prefix,
            str(folders.classes_root),
        )
        run_cli("pack", "--num-thread", "2", prefix, str(folders.classes_root))
        run_cli("inspect", "--no-decode", f"{prefix}_val.rec")
        return folders

    def _pipeline(self) -> dict[str, Any]:
        # ResNet-20 for 28x28 images; adam with one rate drop reaches 95% on digits within a few epochs
        # (benchmarks/trainer_digits_bench.py).
        return {
            "hyperparameters": {
                "num_layers": 20,
                "image_shape": f"3,{SIDE},{SIDE}",
                "epochs": self.options.epochs,
                "mini_batch_size": 32,
                "optimizer": "adam",
                "learning_rate": 0.003,
                "lr_scheduler_step": str(max(1, self.options.epochs // 2)),
                "lr_scheduler_factor": 0.1,
                "top_k": 2,
            },
            "deploy": {
                "realtime": {"enabled": self.options.endpoint},
                "batch": {"max_concurrent_transforms": 2},
                "top_k": 3,
            },
        }

    def _upload(self, data: Path) -> None:
        dataset = self.options.dataset
        uploads = [
            (layout.pipeline_key(dataset), json.dumps(self._pipeline(), indent=1).encode()),
            (layout.classes_key(dataset), (data / layout.CLASSES_FILE).read_bytes()),
            (
                f"{layout.channel_prefix(dataset, layout.TRAIN)}{dataset}_train.rec",
                (data / f"{dataset}_train.rec").read_bytes(),
            ),
            # Validation last: until both channels hold data the dataset waits, so one run starts.
            (
                f"{layout.channel_prefix(dataset, layout.VALIDATION)}{dataset}_val.rec",
                (data / f"{dataset}_val.rec").read_bytes(),
            ),
        ]
        for key, body in uploads:
            self._put(key, body)
            say(f"  put s3://{self.bucket}/{key} ({len(body):,} bytes)")

    def _train(self) -> None:
        dataset = self.options.dataset

        def job_started() -> str | None:
            self._fail_if_rejected()
            jobs = self.sagemaker.list_training_jobs(NameContains=f"icflow-{dataset}-")["TrainingJobSummaries"]
            return jobs[0]["TrainingJobName"] if jobs else None

        job_name = self._wait(job_started, "DatasetUploadFunction starting a training job")
        run = self._dataset_item()
        say(f"  DatasetUploadFunction started training job {job_name} (run {run.get('latest_run_id')})")
        self.report.job_name = job_name
        shown_transitions, shown_epochs = 0, 0
        metrics_file = self.sagemaker_dir / "training-jobs" / job_name / "metrics.jsonl"

        def model_ready() -> dict[str, Any] | None:
            nonlocal shown_transitions, shown_epochs
            job = self.sagemaker.describe_training_job(TrainingJobName=job_name)
            lines = metrics_file.read_text().splitlines() if metrics_file.exists() else []
            for line in lines[shown_epochs:]:
                epoch = json.loads(line)
                values = ", ".join(f"{name} {value:.3f}" for name, value in sorted(epoch["metrics"].items()))
                say(f"  epoch {epoch['epoch']}: {values}")
                shown_epochs += 1
            for transition in job.get("SecondaryStatusTransitions", [])[shown_transitions:]:
                say(f"  {transition['Status']}: {transition.get('StatusMessage', '')}")
                shown_transitions += 1
            if job["TrainingJobStatus"] in ("Failed", "Stopped"):
                raise IcflowError(f"training job {job_name} {job['TrainingJobStatus']}: {job.get('FailureReason', '')}")
            self._fail_if_rejected()
            item = self._dataset_item()
            return item if item.get("status") == "model_ready" else None

        item = self._wait(model_ready, f"TrainingStateFunction creating the model of {job_name}")
        self.report.model_name = item["current_model_name"]
        run_id = item["current_model_run_id"]
        run = self.runs.get_run(dataset, run_id) or {}
        self._expect_page("run", layout.run_report_key(dataset, run_id), f"run-{run_id}.html")
        self.report.metrics = {name: float(value) for name, value in (run.get("metrics") or {}).items()}
        say(
            f"  TrainingStateFunction created model {self.report.model_name}; status/{dataset}/latest.json says "
            f"{json.loads(self._get(f's3://{self.bucket}/{layout.latest_status_key(dataset)}'))['status']}"
        )

    def _duplicate_upload(self, data: Path) -> None:
        dataset = self.options.dataset
        upload = self.stack.functions["DatasetUploadFunction"]
        before = upload.invocations
        key = f"{layout.channel_prefix(dataset, layout.VALIDATION)}{dataset}_val.rec"
        self._put(key, (data / f"{dataset}_val.rec").read_bytes())
        say(f"  put s3://{self.bucket}/{key} again, unchanged")
        # Noted, held while the dataset settles, then decided: the function runs for the upload and for its check.
        self._wait(
            lambda: upload.invocations > before and self._dataset_item().get("status") != DATASET_SETTLING,
            "DatasetUploadFunction deciding the repeated upload once the dataset settled",
        )
        jobs = self.sagemaker.list_training_jobs(NameContains=f"icflow-{dataset}-")["TrainingJobSummaries"]
        self.report.training_jobs = len(jobs)
        say(f"  same data, same configuration: the same run; training jobs of {dataset}: {len(jobs)}")

    def _batch(self, held_out: tuple[HeldOut, ...]) -> None:
        dataset = self.options.dataset
        # Each image in the folder of its digit's name: the batch's report then scores the model against the folders
        # (accuracy, confusion matrix). The desktop's stray files sit beside the folders.
        folder = f"{layout.BATCH}{dataset}/"
        keys = {image: f"{folder}{image.true_label}/{image.path.name}" for image in held_out}
        truth = {f"s3://{self.bucket}/{key}": image.true_label for image, key in keys.items()}
        uploads = [(key, image.path.read_bytes()) for image, key in keys.items()]
        uploads += [(f"{folder}{name}", body) for name, body in JUNK.items()]
        started = time.monotonic()
        # In parallel, as the console or `aws s3 cp --recursive` uploads a folder.
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(lambda upload: self._put(*upload), uploads))
        say(
            f"  put {len(held_out)} images in a folder per digit and {len(JUNK)} other files ({', '.join(JUNK)}) "
            f"under s3://{self.bucket}/{folder} in {time.monotonic() - started:.1f} s"
        )
        window = self.stack.state()["parameters"].get("BatchMaximumBatchingWindowSeconds")
        say(
            f"  the batch queue gathers uploads for {window} s (BatchMaximumBatchingWindowSeconds), then "
            "BatchCollectFunction labels them through the endpoint if it is in service and the batch is small "
            "(deploy.realtime.batch_max_images), else starts one transform job"
        )
        shown: dict[str, str] = {}

        def batches_done() -> list[dict[str, Any]] | None:
            batches = self.runs.query(dataset, BATCH_SK_PREFIX)
            for batch in batches:
                if shown.get(batch["batch_id"]) != batch["status"]:
                    shown[batch["batch_id"]] = batch["status"]
                    say(
                        f"  batch {batch['batch_id']}: {batch['status']}{_labeler(batch)}, "
                        f"{batch.get('images', 0)} images, "
                        f"{batch.get('skipped', 0)} left out"
                    )
            collected = sum(int(batch.get("images", 0)) + int(batch.get("skipped", 0)) for batch in batches)
            finished = all(batch["status"] in FINAL_BATCH for batch in batches)
            return batches if batches and finished and collected >= len(truth) + len(JUNK) else None

        batches = self._wait(batches_done, "the batch's labeled predictions")
        outputs = self.options.work_dir / "outputs"
        for batch in batches:
            if batch["status"] != BatchStatus.LABELED.value:
                raise IcflowError(f"batch {batch['batch_id']} is {batch['status']}: {batch.get('reason')}")
            local = outputs / batch["batch_id"]
            local.mkdir(parents=True, exist_ok=True)
            predictions, summary = self._get(batch["predictions_uri"]), self._get(batch["summary_uri"])
            (local / PREDICTIONS_JSONL).write_bytes(predictions)
            (local / SUMMARY_FILE).write_bytes(summary)
            self.report.predictions.extend(json.loads(line) for line in predictions.splitlines())
            self.report.summaries.append(json.loads(summary))
            say(f"  wrote {batch['predictions_uri']} and {batch['summary_uri']}; copies in {local}/")
            batch_id = batch["batch_id"]
            self._expect_page(f"batch {batch_id}", layout.batch_report_key(dataset, batch_id), f"batch-{batch_id}.html")
        self.report.outputs_dir = outputs
        right = sum(1 for row in self.report.predictions if truth.get(row["image_uri"]) == row["label"])
        self.report.accuracy = right / len(truth)
        left_out = sorted(
            entry["uri"].rsplit("/", 1)[1] for summary in self.report.summaries for entry in summary["skipped"]
        )
        say(
            f"  {len(self.report.predictions)} of {len(truth)} images labeled; {right} labeled right: "
            f"accuracy {self.report.accuracy:.1%}; left out: {', '.join(left_out) or 'nothing'}"
        )
        for row in self.report.predictions[:3]:
            top = ", ".join(f"{ranked['label']} {ranked['probability']:.2f}" for ranked in row["top_k"])
            say(
                f"    {row['image_uri'].rsplit('/', 1)[1]}: {row['label']} (truth {truth[row['image_uri']]}); top-3: {top}"
            )

    def _endpoint(self, images: tuple[HeldOut, ...]) -> None:
        dataset = self.options.dataset

        def in_service() -> dict[str, Any] | None:
            item = self.runs.get_item(dataset, ENDPOINT_SK) or {}
            if item.get("status") in (EndpointStatus.FAILED.value, EndpointStatus.ROLLED_BACK.value):
                raise IcflowError(f"endpoint {item.get('endpoint_name')} is {item['status']}: {item.get('reason')}")
            return item if item.get("status") == EndpointStatus.IN_SERVICE.value else None

        item = self._wait(in_service, "ModelDeployFunction's endpoint coming into service")
        self.report.endpoint_name = item["endpoint_name"]
        say(
            f"  endpoint {item['endpoint_name']} is in service with {item.get('current_config')}; the images show "
            + ", ".join(f"{image.path.name}: {image.true_label}" for image in images)
        )
        run_cli(
            "predict",
            "--state-file",
            str(self.state_file),
            "--endpoint",
            item["endpoint_name"],
            *(str(image.path) for image in images),
        )

    def _expect_page(self, name: str, key: str, file_name: str) -> None:
        local = self.options.work_dir / "outputs" / "reports" / self.options.dataset / file_name
        self.expected_pages.append(ReportPage(name, key, local))

    def _copy_report_pages(self) -> None:
        """Copies every page the stages led to; one that does not come within the wait is said, not fatal."""
        deadline = time.monotonic() + min(self.options.stage_timeout_seconds, REPORT_WAIT_SECONDS)
        for page in self.expected_pages:
            why = self.pages.copy(page, deadline)
            if why is None:
                self.report.reports[page.name] = page.local
                say(f"  {page.name} report: s3://{self.bucket}/{page.key}; copy in {page.local}")
            else:
                self.report.missing_reports[page.name] = why
                say(f"  {page.name} report is missing: {why}")


def _labeler(batch: dict[str, Any]) -> str:
    """Who labels the batch, once chosen: its transform job (also after the endpoint failed), or the endpoint."""
    if batch.get("transform_job_name"):
        return f" (transform job {batch['transform_job_name']})"
    if batch.get("endpoint_name"):
        return f" (endpoint {batch['endpoint_name']})"
    return ""
