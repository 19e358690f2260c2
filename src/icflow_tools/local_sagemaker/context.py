"""What every operation and job shares: configuration, the store, clients, the algorithm and the running jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.model import ServiceModel

from icflow_tools.local_sagemaker.algorithm import Algorithm
from icflow_tools.local_sagemaker.errors import ResourceLimitExceeded
from icflow_tools.local_sagemaker.events import EventPublisher
from icflow_tools.local_sagemaker.fault_injector import FaultInjector
from icflow_tools.local_sagemaker.s3io import S3Access
from icflow_tools.local_sagemaker.store import TRAINING_JOB, TRANSFORM_JOB, TUNING_JOB, Store

logger = logging.getLogger(__name__)

RUNNING = ("InProgress", "Stopping")


@dataclass
class JobControl:
    """How the API reaches a running job: StopXxx sets `stop` with a reason the job ends with."""

    stop: threading.Event = field(default_factory=threading.Event)
    reason: str = "Stopped"  # Stopped (StopXxx), MaxRuntimeExceeded, Pruned (a tuning strategy), Shutdown
    stop_time: float = 0.0
    thread: threading.Thread | None = None

    def request_stop(self, reason: str) -> None:
        if not self.stop.is_set():
            self.reason = reason
            self.stop_time = time.time()
            self.stop.set()


@dataclass
class ServiceContext:
    store: Store
    publisher: EventPublisher
    model: ServiceModel
    s3: Any
    work_dir: Path
    max_running_jobs: int
    algorithm_loader: Callable[[], Algorithm]
    faults: FaultInjector
    # After StopTrainingJob, a training that has not reached its next epoch end is interrupted at its next log line.
    stop_grace_seconds: float = 10.0
    # Role ARN -> an S3 client with that role's credentials; None: every job uses `s3`.
    s3_as: Callable[[str], Any] | None = None
    # How a process of a job's own (a transform instance) reaches S3: `s3`'s access, and a role's credentials
    # (as AWS_* variables) when jobs run as their roles.
    s3_access: S3Access = S3Access(None, "us-east-1", None)
    credentials_as: Callable[[str], dict[str, str]] | None = None
    # CloudWatch Logs, where training jobs' lines are copied as SageMaker sends them; None: job.log only.
    logs: Any = None
    # Role ARN -> a CloudWatch Logs client with that role's credentials; None: every job uses `logs`.
    logs_as: Callable[[str], Any] | None = None
    _controls: dict[tuple[str, str], JobControl] = field(default_factory=dict)
    _algorithm: Algorithm | None = None
    _algorithm_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def algorithm(self) -> Algorithm:
        with self._algorithm_lock:
            if self._algorithm is None:
                self._algorithm = self.algorithm_loader()
            return self._algorithm

    def s3_for(self, role_arn: str | None) -> Any:
        """The S3 client of a job or model that runs as `role_arn`."""
        return self.s3_as(role_arn) if self.s3_as is not None and role_arn else self.s3

    def logs_for(self, role_arn: str | None) -> Any:
        """The CloudWatch Logs client a job running as `role_arn` writes its lines with; None when there is none."""
        if self.logs is None:
            return None
        return self.logs_as(role_arn) if self.logs_as is not None and role_arn else self.logs

    def s3_access_for(self, role_arn: str | None) -> S3Access:
        """What s3_for(role_arn) is, for another process."""
        if self.credentials_as is not None and role_arn:
            return S3Access(self.s3_access.endpoint_url, self.s3_access.region, self.credentials_as(role_arn))
        return self.s3_access

    def folder(self, kind: str, name: str) -> Path:
        """work_dir/<kind>s/<name>/: the job's log, metrics and scratch files."""
        path = self.work_dir / f"{kind}s" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check_job_limit(self) -> None:
        """Call under the store's lock, before inserting a job. Tuning trials count against their tuning job."""
        running = (
            self.store.count(TRAINING_JOB, lambda r: r["TrainingJobStatus"] in RUNNING and "TuningJobArn" not in r)
            + self.store.count(TRANSFORM_JOB, lambda r: r["TransformJobStatus"] in RUNNING)
            + self.store.count(TUNING_JOB, lambda r: r["HyperParameterTuningJobStatus"] in RUNNING)
        )
        if running >= self.max_running_jobs:
            raise ResourceLimitExceeded(
                f"The account-level service limit 'local running jobs' is {self.max_running_jobs} Jobs, with current "
                f"utilization of {running} Jobs and a request delta of 1 Jobs. Wait for a job to end, or start the "
                f"local SageMaker with a higher --max-running-jobs."
            )

    def control(self, kind: str, name: str) -> JobControl | None:
        return self._controls.get((kind, name.lower()))

    def register(self, kind: str, name: str) -> JobControl:
        control = JobControl()
        self._controls[(kind, name.lower())] = control
        return control

    def unregister(self, kind: str, name: str, control: JobControl) -> None:
        if self._controls.get((kind, name.lower())) is control:
            del self._controls[(kind, name.lower())]

    def start(self, kind: str, name: str, target: Callable[[JobControl], None]) -> JobControl:
        """Run `target` in a thread of its own, reachable through control(kind, name) while it runs."""
        control = self.register(kind, name)

        def run() -> None:
            try:
                target(control)
            except Exception:  # the job records its own failure; this only keeps a bug visible
                logger.exception("%s %s crashed", kind, name)
            finally:
                self.unregister(kind, name, control)

        control.thread = threading.Thread(target=run, name=f"{kind}:{name}", daemon=True)
        control.thread.start()
        return control

    def shutdown(self, timeout: float) -> None:
        deadline = time.time() + timeout
        controls = list(self._controls.values())
        for control in controls:
            control.request_stop("Shutdown")
        for control in controls:
            if control.thread is not None:
                control.thread.join(max(0.0, deadline - time.time()))
