"""A transform job's instances: how its objects are shared among them, and what each instance does with its share.

SageMaker "partitions the Amazon S3 objects in the input by key and maps Amazon S3 objects to instances"
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html): `shares` gives each instance a run of
consecutive keys, so with fewer objects than instances some instances get none and stay idle, as there.

On each SageMaker instance an agent reads the instance's objects from S3, sends them to the model's container
MaxConcurrentTransforms at a time and writes the outputs (`run_share`). A job of more than one instance runs
each instance as a process of its own, its agent and model included (`run_instances`), so the instances read,
decode, label and write in parallel on the machine's cores rather than in one interpreter. A job of one instance
runs in the service's process: a child interpreter costs seconds to import torch, which one instance has
nothing to gain from.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from icflow_tools.local_sagemaker import s3io
from icflow_tools.local_sagemaker.errors import JobFailure, failure_prefix
from icflow_tools.trainer.api import AlgorithmError, Classifier

Item = TypeVar("Item")
OUTPUT_SUFFIX = ".out"
MEGABYTE = 1024 * 1024
# How often the service looks at a stop request and at instances that ended without a word.
POLL_SECONDS = 0.2
# How long an instance may take to finish its requests in flight once told to stop.
STOP_GRACE_SECONDS = 30.0

Log = Callable[[str], None]


def shares(items: Sequence[Item], instances: int) -> list[list[Item]]:
    """`items` (sorted by key) as `instances` runs of consecutive items whose sizes differ by at most one."""
    size, extra = divmod(len(items), instances)
    runs: list[list[Item]] = []
    start = 0
    for index in range(instances):
        end = start + size + (1 if index < extra else 0)
        runs.append(list(items[start:end]))
        start = end
    return runs


def append_log(path: Path, line: str) -> None:
    """One line of a job's log; each instance process appends its own, one write a line."""
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())} {line}\n")


@dataclass(frozen=True)
class Share:
    """What one instance transforms, and how."""

    items: list[s3io.S3Object]
    output: str  # S3OutputPath
    limit: int  # MaxPayloadInMB, in bytes
    concurrent: int  # MaxConcurrentTransforms


def run_share(s3: Any, classifier: Classifier, share: Share, log: Log, stopped: Callable[[], bool]) -> None:
    """An instance's agent: the share's objects, share.concurrent at a time. As on SageMaker, one object the model
    cannot read fails the job: raises JobFailure naming it."""
    with ThreadPoolExecutor(max_workers=share.concurrent) as agent:
        futures = [agent.submit(_one, s3, classifier, item, share, log, stopped) for item in share.items]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            error = future.exception()
            if error is not None:
                raise error


def _one(
    s3: Any, classifier: Classifier, item: s3io.S3Object, share: Share, log: Log, stopped: Callable[[], bool]
) -> None:
    if stopped():
        return
    body = s3io.read_bytes(s3, item.uri)
    if len(body) > share.limit:
        raise JobFailure(
            f"ClientError: {item.uri}: the object is larger than MaxPayloadInMB ({share.limit // MEGABYTE} MB)."
        )
    try:
        probabilities = classifier.predict(body)
    except AlgorithmError as error:
        raise JobFailure(
            f"ClientError: Bad HTTP status received from algorithm for {item.uri}: 400 unable to "
            f"evaluate payload provided: {error}"
        ) from error
    s3io.upload_bytes(
        s3,
        s3io.join_uri(share.output, item.relative + OUTPUT_SUFFIX),
        json.dumps({"prediction": probabilities}).encode(),
        "application/json",
    )
    log(f"{item.uri}: 200")


@dataclass(frozen=True)
class InstanceModel:
    """What an instance process loads: the algorithm (a module by name, any other object as itself, so that it
    crosses the process boundary), the unpacked model folder, and how failures name the model."""

    algorithm: Any
    folder: Path
    label: str  # "<ModelName> from <ModelDataUrl>"

    @classmethod
    def of(cls, algorithm: Any, folder: Path, label: str) -> InstanceModel:
        return cls(algorithm.__name__ if isinstance(algorithm, ModuleType) else algorithm, folder, label)

    def load(self) -> Classifier:
        algorithm = importlib.import_module(self.algorithm) if isinstance(self.algorithm, str) else self.algorithm
        try:
            return algorithm.load_model(self.folder)
        except AlgorithmError as error:
            raise JobFailure(f"{failure_prefix(error)}: Could not load model {self.label}: {error}") from error


def run_instances(
    model: InstanceModel, access: s3io.S3Access, work: Sequence[Share], log_path: Path, stopped: Callable[[], bool]
) -> None:
    """Each share on an instance process of its own, started together as SageMaker starts a job's instances.
    Raises JobFailure with the first failure any instance reports; the others are told to stop then."""
    spawn = multiprocessing.get_context("spawn")  # a fork of the multi-threaded service could inherit held locks
    stop = spawn.Event()
    results: multiprocessing.Queue[tuple[int, str | None]] = spawn.Queue()
    # The instances share this machine's cores: each gets its part for torch's threads.
    threads = max(1, (os.cpu_count() or 1) // len(work))
    processes = [
        spawn.Process(
            target=_instance,
            args=(index, model, access, share, threads, log_path, stop, results),
            name=f"transform-instance-{index}",
            daemon=True,
        )
        for index, share in enumerate(work, start=1)
    ]
    for process in processes:
        process.start()
    failure: str | None = None
    waiting = set(range(1, len(processes) + 1))
    try:
        while waiting:
            if stopped():
                stop.set()
            try:
                index, reason = results.get(timeout=POLL_SECONDS)
            except queue.Empty:
                silent = [i for i in waiting if processes[i - 1].exitcode is not None]
                if silent:  # ended without a word: killed, or crashed in the interpreter
                    code = processes[silent[0] - 1].exitcode
                    failure = failure or f"InternalServerError: instance {silent[0]} ended with exit code {code}"
                    waiting.difference_update(silent)
                    stop.set()
                continue
            waiting.discard(index)
            if reason is not None and failure is None:
                failure = reason
                stop.set()
    finally:
        stop.set()
        for process in processes:
            process.join(STOP_GRACE_SECONDS)
            if process.is_alive():
                process.terminate()
    if failure is not None:
        raise JobFailure(failure)


def _instance(
    index: int,
    model: InstanceModel,
    access: s3io.S3Access,
    share: Share,
    threads: int,
    log_path: Path,
    stop: Event,
    results: multiprocessing.Queue[tuple[int, str | None]],
) -> None:
    """An instance process: loads the model, transforms its share, reports (index, None) or (index, reason)."""
    # OpenMP reads this when torch first loads, which the model's loading does below.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    append_log(log_path, f"instance {index}: {len(share.items)} objects, process {os.getpid()}")
    try:
        run_share(access.client(), model.load(), share, lambda line: append_log(log_path, line), stop.is_set)
    except JobFailure as error:
        results.put((index, str(error)))
    except Exception as error:  # a bug: the job fails, naming it, as the service's own thread would
        results.put((index, f"InternalServerError: {error}"[:1024]))
    else:
        results.put((index, None))
