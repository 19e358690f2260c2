"""The demo's stages, against a running local stack: the user's steps, done the way a user does them.

The same digits come in both ways a user brings data (icflow_tools.demo.ways): as class folders uploaded as they
are (the dataset the batch and the endpoint then use), and packed into RecordIO as a second dataset; the two
training jobs run side by side.
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
from icflow.core import layout, naming
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
from icflow_tools.demo.ways import (
    JUNK,
    PER_CLASS,
    Upload,
    class_folder_uploads,
    pack_arguments,
    pipeline_upload,
    recordio_uploads,
)

T = TypeVar("T")
POLL_SECONDS = 0.5
STAGES = 8
FINAL_BATCH = (BatchStatus.LABELED.value, BatchStatus.EMPTY.value, BatchStatus.FAILED.value, BatchStatus.STOPPED.value)
FAILED_RUN = ("rejected", "failed", "stopped")
# The template's default minute suits a person dragging a folder into the console. The demo's uploads go in
# parallel, as the console's do, each one through S3 -> EventBridge -> a function: 20 s gather the batch's
# 122 uploads (about 2 s); a dataset is decided once its uploads have been quiet for a few seconds.
STACK_PARAMETERS = {"BatchMaximumBatchingWindowSeconds": "20", "DatasetSettleSeconds": "3"}
UPLOAD_THREADS = 8
ENDPOINT_IMAGES = 3


@dataclass(frozen=True)
class DemoOptions:
    work_dir: Path  # data/ and outputs/ are written here
    dataset: str = "digits"  # the class folders, which the batch and the endpoint use
    recordio_dataset: str = "digits-recordio"  # the same digits packed into RecordIO
    per_class: int | None = PER_CLASS  # None: every digit scikit-learn has (about 180 per class)
    held_out_fraction: float = 0.15
    validation_fraction: float = 0.2  # of the training images, in both ways
    epochs: int = 4
    endpoint: bool = True
    seed: int = 0
    stage_timeout_seconds: float = 900.0


@dataclass(frozen=True)
class TrainedRun:
    """A dataset's run, trained to a model: what the user reads of it in the run item and latest.json."""

    dataset: str
    job_name: str
    model_name: str
    metrics: dict[str, float]
    records: dict[str, int]  # training and validation images (or records) the run counted
    skipped: int  # class folders: objects icflow left out


@dataclass
class DemoReport:
    stage_seconds: dict[str, float] = field(default_factory=dict)
    runs: list[TrainedRun] = field(default_factory=list)  # the class folders' first, then RecordIO's
    training_jobs: int = 0  # of the class folders, after the repeated upload
    predictions: list[dict[str, Any]] = field(default_factory=list)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    accuracy: float = 0.0
    endpoint_name: str | None = None
    outputs_dir: Path | None = None
    # The report pages copied from the bucket, by "run <dataset>" and "batch <batch_id>"; those that did not come,
    # and why.
    reports: dict[str, Path] = field(default_factory=dict)
    missing_reports: dict[str, str] = field(default_factory=dict)

    @property
    def model_name(self) -> str:
        """The model the batch and the endpoint label with: the class folders'."""
        return self.runs[0].model_name if self.runs else ""


def say(line: str = "") -> None:
    print(line, flush=True)


def run_cli(*argv: str) -> None:
    """An `icflow` command, shown as the user would type it; its failure ends the demo."""
    from icflow_tools.cli import main

    say("  $ icflow " + " ".join(argv))
    if main(list(argv)) != 0:
        raise IcflowError(f"`icflow {' '.join(argv)}` failed (see above)")


class _JobProgress:
    """Shows a training job's new epochs and status transitions, each line led by its dataset."""

    def __init__(self, sagemaker: Any, dataset: str, job_name: str, sagemaker_dir: Path) -> None:
        self._sagemaker = sagemaker
        self._lead = f"  {dataset}:"
        self.job_name = job_name
        self._metrics_file = sagemaker_dir / "training-jobs" / job_name / "metrics.jsonl"
        self._transitions = 0
        self._epochs = 0

    def show(self) -> None:
        job = self._sagemaker.describe_training_job(TrainingJobName=self.job_name)
        lines = self._metrics_file.read_text().splitlines() if self._metrics_file.exists() else []
        for line in lines[self._epochs :]:
            epoch = json.loads(line)
            values = ", ".join(f"{name} {value:.3f}" for name, value in sorted(epoch["metrics"].items()))
            say(f"{self._lead} epoch {epoch['epoch']}: {values}")
            self._epochs += 1
        for transition in job.get("SecondaryStatusTransitions", [])[self._transitions :]:
            say(f"{self._lead} {transition['Status']}: {transition.get('StatusMessage', '')}")
            self._transitions += 1
        if job["TrainingJobStatus"] in ("Failed", "Stopped"):
            raise IcflowError(
                f"training job {self.job_name} {job['TrainingJobStatus']}: {job.get('FailureReason', '')}"
            )


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

    def _put_all(self, uploads: list[Upload]) -> float:
        """Puts in parallel, as the console or `aws s3 cp --recursive` uploads a folder; returns the seconds taken."""
        started = time.monotonic()
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(lambda upload: self._put(*upload), uploads))
        return time.monotonic() - started

    def _get(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def _latest(self, dataset: str) -> dict[str, Any]:
        return json.loads(self._get(f"s3://{self.bucket}/{layout.latest_status_key(dataset)}"))

    def _fail_if_rejected(self, dataset: str) -> None:
        item = self.runs.get_item(dataset, DATASET_SK) or {}
        if item.get("status") in FAILED_RUN:
            raise IcflowError(f"dataset {dataset} is {item['status']}: {item.get('reason')}")

    def _jobs_of(self, dataset: str) -> list[str]:
        """The dataset's training jobs: "icflow-digits-" also starts the names of digits-recordio's."""
        jobs = self.sagemaker.list_training_jobs(NameContains=naming.training_job_name(dataset, "0" * 12)[:-12])
        names = [job["TrainingJobName"] for job in jobs["TrainingJobSummaries"]]
        return [
            name
            for name in names
            if (run_id := naming.run_id_of_model(name)) and naming.training_job_name(dataset, run_id) == name
        ]

    # ------------------------------------------------------------------ stages
    def run(self) -> DemoReport:
        data = self.options.work_dir / "data"
        with self._stage(1, "write the digits in class folders"):
            folders = self._write(data)
        with self._stage(2, "way 1: upload the class folders as they are"):
            self._upload_folders(folders)
        with self._stage(3, "way 2: pack them into RecordIO and upload that"):
            self._pack_and_upload(data, folders)
        with self._stage(4, "train both"):
            self._train()
        with self._stage(5, "upload an image again"):
            self._duplicate_upload(folders)
        with self._stage(6, "classify held-out images in a batch"):
            self._batch(folders.held_out)
        if self.options.endpoint:
            with self._stage(7, "classify images with the endpoint"):
                self._endpoint(folders.held_out[:ENDPOINT_IMAGES])
        # Last, so that the pages render while the batch and the endpoint run, and the demo rarely waits for them.
        with self._stage(8, "copy the report pages"):
            self._copy_report_pages()
        return self.report

    def _write(self, data: Path) -> DigitFolders:
        folders = write_digit_folders(data, self.options.held_out_fraction, self.options.per_class, self.options.seed)
        say(
            f"  wrote {folders.training_images} digit images to {folders.classes_root}/<digit>/ and "
            f"{len(folders.held_out)} held out to {folders.held_out[0].path.parent}/"
        )
        return folders

    def _pipeline(self, realtime: bool) -> dict[str, Any]:
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
                "realtime": {"enabled": realtime},
                "batch": {"max_concurrent_transforms": 2},
                "top_k": 3,
            },
        }

    def _upload_folders(self, folders: DigitFolders) -> None:
        dataset, options = self.options.dataset, self.options
        pipeline = self._pipeline(realtime=options.endpoint)
        # Written out though these are the defaults, to show where the split is chosen.
        pipeline["split"] = {"validation_fraction": options.validation_fraction, "seed": options.seed}
        key, body = pipeline_upload(dataset, pipeline)
        self._put(key, body)
        say(f'  put s3://{self.bucket}/{key}, with "split": {json.dumps(pipeline["split"])}')
        uploads = class_folder_uploads(dataset, folders.classes_root)
        seconds = self._put_all(uploads)
        prefix = layout.images_prefix(dataset)
        say(
            f"  put {folders.training_images} images as they are, s3://{self.bucket}/{prefix}<digit>/<n>.png, and "
            f"{len(JUNK)} other files beside the folders ({', '.join(JUNK)}) in {seconds:.1f} s: no packing, "
            f"no lists, no classes.txt"
        )

    def _pack_and_upload(self, data: Path, folders: DigitFolders) -> None:
        dataset, options = self.options.recordio_dataset, self.options
        packed = data / dataset
        for argv in pack_arguments(packed, folders.classes_root, options.validation_fraction, options.seed):
            run_cli(*argv)
        # No endpoint of its own: the batch and the endpoint show the class folders' model.
        for key, body in [pipeline_upload(dataset, self._pipeline(realtime=False)), *recordio_uploads(dataset, packed)]:
            self._put(key, body)
            say(f"  put s3://{self.bucket}/{key} ({len(body):,} bytes)")

    def _train(self) -> None:
        datasets = (self.options.dataset, self.options.recordio_dataset)
        progress: dict[str, _JobProgress] = {}
        for dataset in datasets:

            def job_started(dataset: str = dataset) -> str | None:
                self._fail_if_rejected(dataset)
                jobs = self._jobs_of(dataset)
                return jobs[0] if jobs else None

            job_name = self._wait(job_started, f"DatasetUploadFunction starting a training job for {dataset}")
            progress[dataset] = _JobProgress(self.sagemaker, dataset, job_name, self.sagemaker_dir)
            say(f"  DatasetUploadFunction started training job {job_name} for {dataset}")
        self._show_split(self.options.dataset)
        ready: dict[str, dict[str, Any]] = {}

        def models_ready() -> bool:
            for dataset in datasets:
                if dataset in ready:
                    continue
                progress[dataset].show()
                self._fail_if_rejected(dataset)
                item = self.runs.get_item(dataset, DATASET_SK) or {}
                if item.get("status") == "model_ready":
                    ready[dataset] = item
                    say(
                        f"  {dataset}: TrainingStateFunction created model {item['current_model_name']}; "
                        f"status/{dataset}/latest.json says {self._latest(dataset)['status']}"
                    )
            return len(ready) == len(datasets)

        self._wait(models_ready, "TrainingStateFunction creating the models of " + " and ".join(datasets))
        for dataset in datasets:
            item = ready[dataset]
            run_id = item["current_model_run_id"]
            run = self.runs.get_run(dataset, run_id) or {}
            records = (run.get("dataset_summary") or {}).get("records") or {}
            self.report.runs.append(
                TrainedRun(
                    dataset=dataset,
                    job_name=progress[dataset].job_name,
                    model_name=item["current_model_name"],
                    metrics={name: float(value) for name, value in (run.get("metrics") or {}).items()},
                    records={channel: int(count) for channel, count in records.items()},
                    skipped=int((run.get("skipped") or {}).get("count", 0)),
                )
            )
            self._expect_page(f"run {dataset}", dataset, layout.run_report_key(dataset, run_id), f"run-{run_id}.html")

    def _show_split(self, dataset: str) -> None:
        """What icflow made of the class folders, as status/<dataset>/latest.json tells it once the job started."""

        def with_summary() -> dict[str, Any] | None:
            try:
                latest = self._latest(dataset)
            except self.s3.exceptions.NoSuchKey:
                return None
            return latest if "dataset_summary" in latest else None

        latest = self._wait(with_summary, f"status/{dataset}/latest.json showing the run's data")
        summary, skipped = latest["dataset_summary"], latest.get("skipped") or {"count": 0}
        records = summary["records"]
        say(
            f"  icflow checked every image under {layout.images_prefix(dataset)} and split each class: "
            f"{records[layout.TRAIN]} images to train on, {records[layout.VALIDATION]} to validate on "
            f"(split.validation_fraction {self.options.validation_fraction:g}, split.seed {self.options.seed})"
        )
        say(f"  classes in label order, from the folder names: {', '.join(summary.get('class_names', []))}")
        if not skipped["count"]:
            say("  left out: nothing")
            return
        say(f"  left out {skipped['count']} (all listed in {skipped['all']}):")
        for reason, count in skipped["by_reason"].items():
            say(f"    {count} {reason}")

    def _duplicate_upload(self, folders: DigitFolders) -> None:
        dataset = self.options.dataset
        upload = self.stack.functions["DatasetUploadFunction"]
        before = upload.invocations
        image = next(path for path in sorted(folders.classes_root.rglob("*.png")))
        key = f"{layout.images_prefix(dataset)}{image.relative_to(folders.classes_root).as_posix()}"
        self._put(key, image.read_bytes())
        say(f"  put s3://{self.bucket}/{key} again, unchanged")
        # Noted, held while the dataset settles, then decided: the function runs for the upload and for its check.
        self._wait(
            lambda: upload.invocations > before
            and (self.runs.get_item(dataset, DATASET_SK) or {}).get("status") != DATASET_SETTLING,
            "DatasetUploadFunction deciding the repeated upload once the dataset settled",
        )
        self.report.training_jobs = len(self._jobs_of(dataset))
        say(f"  same images, same configuration: the same run; training jobs of {dataset}: {self.report.training_jobs}")

    def _batch(self, held_out: tuple[HeldOut, ...]) -> None:
        dataset = self.options.dataset
        # Each image in the folder of its digit's name: the batch's report then scores the model against the folders
        # (accuracy, confusion matrix). The desktop's stray files sit beside the folders.
        folder = f"{layout.BATCH}{dataset}/"
        keys = {image: f"{folder}{image.true_label}/{image.path.name}" for image in held_out}
        truth = {f"s3://{self.bucket}/{key}": image.true_label for image, key in keys.items()}
        uploads = [(key, image.path.read_bytes()) for image, key in keys.items()]
        uploads += [(f"{folder}{name}", body) for name, body in JUNK.items()]
        seconds = self._put_all(uploads)
        say(
            f"  put {len(held_out)} images in a folder per digit and {len(JUNK)} other files ({', '.join(JUNK)}) "
            f"under s3://{self.bucket}/{folder} in {seconds:.1f} s"
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
            self._expect_page(
                f"batch {batch_id}", dataset, layout.batch_report_key(dataset, batch_id), f"batch-{batch_id}.html"
            )
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

    def _expect_page(self, name: str, dataset: str, key: str, file_name: str) -> None:
        local = self.options.work_dir / "outputs" / "reports" / dataset / file_name
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
