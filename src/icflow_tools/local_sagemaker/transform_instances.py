"""A transform job's instances: how its objects are shared among them, and an instance's container as a process.

SageMaker "partitions the Amazon S3 objects in the input by key and maps Amazon S3 objects to instances"
(https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform.html): `shares` gives each instance a run of
consecutive keys, so with fewer objects than instances some instances get none and stay idle, as there.

On each SageMaker instance an agent sends the instance's objects to the model's container, MaxConcurrentTransforms
requests at a time. Here the agent is the job's threads in the service, and an instance of a job with more than
one is a process of its own holding the model (`InstanceProcess`), so the instances label in parallel on the
machine's cores rather than one Python interpreter's. A job of one instance keeps the model in the service's
process: a child interpreter costs seconds to import torch, which a single instance has nothing to gain from.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from icflow_tools.trainer.api import AlgorithmError, ClientError

Item = TypeVar("Item")

# What the child process answers: ("ok", probabilities) or ("client" | "algorithm", message). Errors travel as
# text, so an algorithm's exception never needs to survive pickling.
_Answer = tuple[str, Any]


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


def algorithm_reference(algorithm: Any) -> Any:
    """What a child process can rebuild the algorithm from: a module by its name, any other object as itself."""
    return algorithm.__name__ if isinstance(algorithm, ModuleType) else algorithm


_classifier: Any = None  # the child's model, loaded once by _load


def _limit_threads(threads: int) -> None:
    # The instances share this machine's cores; OpenMP reads this when torch first loads, after this runs.
    os.environ["OMP_NUM_THREADS"] = str(threads)


def _load(reference: Any, model_dir: str) -> tuple[str, Any]:
    global _classifier
    algorithm = importlib.import_module(reference) if isinstance(reference, str) else reference
    try:
        _classifier = algorithm.load_model(Path(model_dir))
    except AlgorithmError as error:
        return ("client" if isinstance(error, ClientError) else "algorithm", str(error))
    return ("ok", os.getpid())


def _predict(body: bytes) -> _Answer:
    try:
        return ("ok", _classifier.predict(body))
    except AlgorithmError as error:
        return ("client" if isinstance(error, ClientError) else "algorithm", str(error))


def _raise(kind: str, message: str) -> None:
    raise (ClientError if kind == "client" else AlgorithmError)(message)


class InstanceProcess:
    """One instance's container: a process that loads the model once and answers predict calls one at a time."""

    def __init__(self, threads: int) -> None:
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            # spawn: a fork of the multi-threaded service could inherit a lock another thread holds.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_threads,
            initargs=(threads,),
        )
        self.pid: int | None = None

    def start_loading(self, algorithm: Any, model_dir: Path) -> Future[tuple[str, Any]]:
        return self._pool.submit(_load, algorithm_reference(algorithm), str(model_dir))

    def loaded(self, answer: tuple[str, Any]) -> None:
        """Takes _load's answer: raises the algorithm's error, else records the process id."""
        kind, value = answer
        if kind != "ok":
            _raise(kind, value)
        self.pid = value

    def predict(self, image: bytes) -> list[float]:
        kind, value = self._pool.submit(_predict, image).result()
        if kind != "ok":
            _raise(kind, value)
        return value

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def start_instances(algorithm: Any, model_dir: Path, count: int) -> list[InstanceProcess]:
    """`count` instance processes with the model loaded, started together as SageMaker starts a job's instances.
    Raises the algorithm's AlgorithmError (or ClientError) when the model does not load."""
    threads = max(1, (os.cpu_count() or 1) // count)
    instances = [InstanceProcess(threads) for _ in range(count)]
    try:
        loading = [instance.start_loading(algorithm, model_dir) for instance in instances]
        for instance, answer in zip(instances, loading, strict=True):
            instance.loaded(answer.result())
    except BaseException:
        for instance in instances:
            instance.close()
        raise
    return instances
