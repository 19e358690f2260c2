"""FaultInjector: the faults a running service holds, consumed by the calls and jobs they match.

Requests and jobs consume faults from their own threads, hence the lock. Faults apply in the order they were
added: the first one that matches is used (one of its `times`), and leaves once used up.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from botocore.model import ServiceModel

from icflow_tools.local_sagemaker.faults import (
    COMMON_ERRORS,
    Failure,
    FailureKind,
    Fault,
    Refusal,
    fault_as_json,
    faults_from_json,
)
from icflow_tools.local_sagemaker.request_json import read_json

logger = logging.getLogger(__name__)


class FaultInjector:
    def __init__(self, model: ServiceModel, operations: Collection[str]) -> None:
        """`operations`: the operations the service implements, which refusals may name."""
        self._model = model
        self._operations = operations
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, *faults: Fault) -> None:
        """Raises ValueError, adding none, if one names an operation the service does not implement or an error
        that botocore's model does not declare for its operation (common errors excepted)."""
        for fault in faults:
            if isinstance(fault, Refusal):
                self._check(fault)
        with self._lock:
            self._faults.extend(faults)
        for fault in faults:
            logger.info("fault added: %s", fault_as_json(fault))

    def _check(self, refusal: Refusal) -> None:
        if refusal.operation not in self._operations:
            raise ValueError(f"the local SageMaker does not implement {refusal.operation}")
        declared = {shape.name for shape in self._model.operation_model(refusal.operation).error_shapes}
        if refusal.error not in declared | COMMON_ERRORS:
            raise ValueError(
                f"{refusal.operation} does not answer {refusal.error}: SageMaker's model declares "
                f"{sorted(declared) or 'no error'} for it, and any operation may answer {sorted(COMMON_ERRORS)}"
            )

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults still to apply, each with the `times` it has left."""
        with self._lock:
            return list(self._faults)

    def refuse(self, operation: str, params: Mapping[str, Any]) -> None:
        """Raise the error of the first refusal of `operation`, if any."""
        fault = self._take(lambda f: isinstance(f, Refusal) and f.operation == operation)
        if isinstance(fault, Refusal):
            logger.info("injected %s into %s", fault.error, operation)
            raise fault.service_error(params)

    def failure(self, kind: FailureKind, name: str) -> Failure | None:
        """The first failure of `kind` whose glob matches the job's (or endpoint's) name, if any."""
        fault = self._take(lambda f: isinstance(f, Failure) and f.kind == kind and fnmatch.fnmatchcase(name, f.name))
        if isinstance(fault, Failure):
            logger.info("injected a %s failure into %s", kind, name)
            return fault
        return None

    def _take(self, matches: Callable[[Fault], bool]) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if matches(fault):
                    if fault.times == 1:
                        del self._faults[index]
                    elif fault.times is not None:  # None: it always applies
                        self._faults[index] = dataclasses.replace(fault, times=fault.times - 1)
                    return fault
        return None

    def control(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """`/_icflow/faults`: GET lists the pending faults, POST adds `{"faults": [...]}`, DELETE removes them all.
        Every answer is the pending faults, or `{"message": ...}` with 400 for a request it cannot use."""
        if method == "POST":
            try:
                self.add(*faults_from_json(read_json(body, b"null")))
            except ValueError as error:  # UnreadableJson included
                return 400, {"message": str(error)}
        elif method == "DELETE":
            self.clear()
        elif method != "GET":
            return 405, {"message": f"{method} is not one of GET, POST, DELETE"}
        return 200, {"faults": [fault_as_json(fault) for fault in self.pending()]}
