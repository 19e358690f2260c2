"""Runs one training job: channels from S3, the algorithm, the model tarball back to S3, every state published.

Jobs run in threads of the service: hooks let the algorithm report to the job and let the job stop it at an
epoch end (StopTrainingJob, MaxRuntimeInSeconds, a tuning strategy pruning the trial). A training that does
not reach an epoch end within `stop_grace_seconds` of a stop is interrupted at its next log line or status.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icflow_tools.local_sagemaker import s3io
from icflow_tools.local_sagemaker.context import JobControl, ServiceContext
from icflow_tools.local_sagemaker.errors import JobFailure, failure_prefix
from icflow_tools.local_sagemaker.events import TRAINING_JOB_STATE_CHANGE
from icflow_tools.local_sagemaker.job_log_stream import JobLogStream, stream_name
from icflow_tools.local_sagemaker.store import TRAINING_JOB, Record
from icflow_tools.trainer.api import AlgorithmError, Channel, TrainingResult

logger = logging.getLogger(__name__)

LOG_FILE = "job.log"
METRICS_FILE = "metrics.jsonl"
MODEL_TARBALL = "model.tar.gz"
DEFAULT_CONTENT_TYPE = "application/x-recordio"

# A tuning strategy's view of a trial: called at each epoch end, returns True to stop (prune) the trial.
EpochCallback = Callable[[int, dict[str, float]], bool]

_END_MESSAGES = {
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job stopped because it exceeded its maximum allowed runtime",
}


def apply_transition(record: Record, secondary: str, message: str, status: str | None, fields: dict[str, Any]) -> None:
    now = time.time()
    transitions = record["SecondaryStatusTransitions"]
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    entry = {"Status": secondary, "StartTime": now, "StatusMessage": message}
    if status in ("Completed", "Failed", "Stopped"):
        entry["EndTime"] = now
    transitions.append(entry)
    record["SecondaryStatus"] = secondary
    if status is not None:
        record["TrainingJobStatus"] = status
    record.update(fields)


class _Interrupted(BaseException):
    """Raised from a hook into a training that ignored a stop; BaseException so `except Exception` lets it pass."""


def model_artifact_uri(record: Record) -> str:
    return s3io.join_uri(record["OutputDataConfig"]["S3OutputPath"], record["TrainingJobName"], "output", MODEL_TARBALL)


class _Hooks:
    def __init__(self, job: TrainingJob) -> None:
        self._job = job

    def log(self, line: str) -> None:
        self._job.check_interrupt()
        self._job.log(line)

    def secondary_status(self, status: str, message: str) -> None:
        self._job.check_interrupt()
        self._job.transition(status, message)

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> bool:
        return self._job.epoch_end(epoch, metrics)


class TrainingJob:
    def __init__(
        self, ctx: ServiceContext, name: str, control: JobControl, on_epoch: EpochCallback | None = None
    ) -> None:
        self.ctx = ctx
        self.name = name
        self.control = control
        self.on_epoch = on_epoch
        self.folder = ctx.folder(TRAINING_JOB, name)
        record = ctx.store.get(TRAINING_JOB, name)
        self.s3 = ctx.s3_for(record.get("RoleArn") if record else None)
        self._log_lock = threading.Lock()
        self._epochs: list[dict[str, float]] = []
        self._deadline = math.inf
        self._checkpoints: tuple[Path, str] | None = None  # local folder, CheckpointConfig.S3Uri
        self._stream: JobLogStream | None = None  # the copy in CloudWatch Logs, from the start of the job

    # -- reporting ------------------------------------------------------------------------------------------------
    def log(self, line: str) -> None:
        self._write(line)
        if self._stream is not None:
            self._stream.add(line)

    def _write(self, line: str) -> None:
        with self._log_lock, (self.folder / LOG_FILE).open("a", encoding="utf-8") as log:
            log.write(line.rstrip("\n") + "\n")

    def _open_stream(self, record: Record, start: float) -> None:
        try:
            logs = self.ctx.logs_for(record.get("RoleArn"))
        except Exception as error:  # the role's credentials for the copy: without them, job.log alone
            self._write(f"[local-sagemaker] CloudWatch Logs: no client for the job's role: {error}")
            return
        if logs is not None:
            self._stream = JobLogStream(logs, stream_name(self.name, start), self._write)

    def _flush_stream(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def publish(self, record: Record) -> None:
        self.ctx.publisher.publish(
            TRAINING_JOB_STATE_CHANGE,
            "DescribeTrainingJob",
            record["TrainingJobArn"],
            record,
            self.ctx.store.tags(record["TrainingJobArn"]),
        )

    def transition(self, secondary: str, message: str, status: str | None = None, **fields: Any) -> Record:
        self.log(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} {secondary} - {message}")
        # Before the status changes: whoever sees the job ended finds all its lines in CloudWatch Logs.
        self._flush_stream()
        record = self.ctx.store.update(
            TRAINING_JOB, self.name, lambda r: apply_transition(r, secondary, message, status, fields)
        )
        self.publish(record)
        return record

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> bool:
        self._epochs.append(dict(metrics))
        with (self.folder / METRICS_FILE).open("a", encoding="utf-8") as out:
            out.write(json.dumps({"epoch": epoch, "timestamp": time.time(), "metrics": metrics}) + "\n")
        self._flush_stream()
        # SageMaker syncs checkpoints while the job runs, so an interrupted job's next run can resume.
        self._sync_checkpoints()
        if self.on_epoch is not None and self.on_epoch(epoch, metrics):
            self.control.request_stop("Pruned")
        if time.time() >= self._deadline:
            self.control.request_stop("MaxRuntimeExceeded")
        return self.control.stop.is_set()

    def _sync_checkpoints(self) -> None:
        if self._checkpoints is not None:
            s3io.upload_folder(self.s3, *self._checkpoints)

    def check_interrupt(self) -> None:
        if time.time() >= self._deadline:
            self.control.request_stop("MaxRuntimeExceeded")
        if self.control.stop.is_set() and time.time() - self.control.stop_time >= self.ctx.stop_grace_seconds:
            raise _Interrupted()

    # -- the job --------------------------------------------------------------------------------------------------
    def run(self) -> None:
        record = self.ctx.store.get(TRAINING_JOB, self.name)
        assert record is not None
        if record["EnableManagedSpotTraining"] and (fault := self.ctx.faults.failure("spot-capacity", self.name)):
            self._no_spot_capacity(fault.failure_reason())
            return
        start = time.time()
        self._deadline = start + record["StoppingCondition"].get("MaxRuntimeInSeconds", math.inf)
        self.ctx.store.update(TRAINING_JOB, self.name, lambda r: r.update(TrainingStartTime=start))
        self._open_stream(record, start)
        result: TrainingResult | None = None
        try:
            if record["ResourceConfig"].get("InstanceCount", 1) > 1:
                self.log(
                    f"[local-sagemaker] InstanceCount={record['ResourceConfig']['InstanceCount']}: "
                    "the local SageMaker trains once, on this machine."
                )
            self.transition("Downloading", "Downloading input data")
            channels = self._download_channels(record)
            checkpoint_dir = self._download_checkpoints(record)
            self._raise_if_stopped()
            self.transition("Training", "Training image download completed. Training in progress.")
            if fault := self.ctx.faults.failure("training", self.name):
                raise JobFailure(fault.failure_reason())
            model_dir = self.folder / "model"
            shutil.rmtree(model_dir, ignore_errors=True)
            model_dir.mkdir()
            try:
                result = self.ctx.algorithm.train(
                    record["HyperParameters"], channels, model_dir, checkpoint_dir, _Hooks(self)
                )
            except _Interrupted:
                self.log("[local-sagemaker] training interrupted: it did not reach an epoch end after the stop")
            self._finish(record, start, model_dir, result)
        except AlgorithmError as error:
            self._fail(start, f"{failure_prefix(error)}: {error}")
        except JobFailure as error:
            self._fail(start, str(error))
        except _Interrupted:
            self._end_stopped(start, {})
        except Exception as error:  # a bug here or in the algorithm: the job fails, the service lives on
            self.log(traceback.format_exc())
            self._fail(start, f"InternalServerError: {type(error).__name__}: {error}")
        finally:
            self._flush_stream()

    def _download_channels(self, record: Record) -> dict[str, Channel]:
        channels: dict[str, Channel] = {}
        for channel in record.get("InputDataConfig", []):
            source = channel["DataSource"].get("S3DataSource")
            if source is None:
                raise JobFailure(
                    f"ClientError: Channel {channel['ChannelName']}: only S3DataSource is supported locally."
                )
            folder = s3io.inside(
                self.folder / "input" / "data", channel["ChannelName"], f"Channel {channel['ChannelName']}"
            )
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            objects = s3io.objects_for(self.s3, source["S3DataType"], source["S3Uri"])
            s3io.download(self.s3, objects, folder)
            self.log(
                f"[local-sagemaker] channel {channel['ChannelName']}: {len(objects)} objects from {source['S3Uri']}"
            )
            channels[channel["ChannelName"]] = Channel(folder, channel.get("ContentType", DEFAULT_CONTENT_TYPE))
        return channels

    def _download_checkpoints(self, record: Record) -> Path | None:
        config = record.get("CheckpointConfig")
        if not config:
            return None
        folder = self.folder / "checkpoints"
        folder.mkdir(exist_ok=True)
        try:
            objects = s3io.list_prefix(self.s3, config["S3Uri"].rstrip("/") + "/")
        except JobFailure:
            objects = []  # a first run has no checkpoints yet
        s3io.download(self.s3, objects, folder)
        self._checkpoints = (folder, config["S3Uri"])
        return folder

    def _raise_if_stopped(self) -> None:
        if self.control.stop.is_set():
            raise _Interrupted()

    def _finish(self, record: Record, start: float, model_dir: Path, result: TrainingResult | None) -> None:
        fields: dict[str, Any] = {}
        if any(model_dir.iterdir()):
            self.transition("Uploading", "Uploading generated training model")
            tarball = self.folder / MODEL_TARBALL
            s3io.tar_folder(model_dir, tarball)
            uri = model_artifact_uri(record)
            s3io.upload_file(self.s3, tarball, uri)
            fields["ModelArtifacts"] = {"S3ModelArtifacts": uri}
        self._sync_checkpoints()
        final = result.final_metrics if result is not None else (self._epochs[-1] if self._epochs else {})
        now = time.time()
        fields["FinalMetricDataList"] = [
            {"MetricName": k, "Value": float(v), "Timestamp": now} for k, v in final.items()
        ]
        if self.control.stop.is_set() or (result is not None and result.stopped):
            self._end_stopped(start, fields)
        elif not fields.get("ModelArtifacts"):
            raise AlgorithmError("the training ended without writing a model")
        else:
            self.transition("Completed", _END_MESSAGES["Completed"], "Completed", **self._times(start), **fields)

    def _end_stopped(self, start: float, fields: dict[str, Any]) -> None:
        secondary = "MaxRuntimeExceeded" if self.control.reason == "MaxRuntimeExceeded" else "Stopped"
        message = _END_MESSAGES[secondary]
        if self.control.reason == "Pruned":
            message = "Training job stopped early by the tuning job's strategy"
        self.transition(secondary, message, "Stopped", **self._times(start), **fields)

    def _no_spot_capacity(self, reason: str) -> None:
        # As SageMaker reports it: the job waits in Pending for instances, then fails with a CapacityError; it
        # never started, so it has no training or billable time.
        self.transition("Pending", "Insufficient capacity error from EC2 while launching instances, retrying!")
        self.log(f"[local-sagemaker] {reason}")
        self.transition("Failed", _END_MESSAGES["Failed"], "Failed", FailureReason=reason[:1024])

    def _fail(self, start: float, reason: str) -> None:
        self.log(f"[local-sagemaker] {reason}")
        self.transition("Failed", _END_MESSAGES["Failed"], "Failed", FailureReason=reason[:1024], **self._times(start))

    @staticmethod
    def _times(start: float) -> dict[str, Any]:
        end = time.time()
        seconds = max(1, math.ceil(end - start))
        return {"TrainingEndTime": end, "TrainingTimeInSeconds": seconds, "BillableTimeInSeconds": seconds}


def stop_training_job(ctx: ServiceContext, name: str) -> None:
    """StopTrainingJob: Stopping now, Stopped when the training has ended; a no-op once the job has ended."""
    control = ctx.control(TRAINING_JOB, name)
    changed = False

    def change(record: Record) -> None:
        nonlocal changed
        if record["TrainingJobStatus"] == "InProgress" and control is not None:
            apply_transition(record, "Stopping", "Stopping the training job", "Stopping", {})
            changed = True

    record = ctx.store.update(TRAINING_JOB, name, change)
    if changed and control is not None:
        control.request_stop("Stopped")
        ctx.publisher.publish(
            TRAINING_JOB_STATE_CHANGE,
            "DescribeTrainingJob",
            record["TrainingJobArn"],
            record,
            ctx.store.tags(record["TrainingJobArn"]),
        )
