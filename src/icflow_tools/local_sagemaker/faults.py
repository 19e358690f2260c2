"""The faults the local SageMaker can inject, so that callers see it answer as AWS does when things go wrong.

A Refusal answers calls of one operation with an error before the operation runs; a Failure ends the background
work of a job or an endpoint update Failed, with the FailureReason and the state-change events a real failure
has. Each holds for `times` matching calls or jobs (None: every one), so a transient fault ("fails twice, then
succeeds") and a permanent one ("always fails") are both one fault.

JSON (`--faults`, `POST /_icflow/faults`): `{"faults": [...]}` whose items are
`{"refuse": "<Operation>", "error": "<code>", "message"?: str, "times"?: int | "always"}` or
`{"fail": "<kind>", "reason"?: str, "name"?: "<glob>", "times"?: int | "always"}`; `times` defaults to 1.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from icflow_tools.local_sagemaker.errors import (
    InternalFailure,
    ResourceLimitExceeded,
    ServiceError,
    ThrottlingException,
    ValidationException,
)
from icflow_tools.local_sagemaker.request_json import read_json

RefusalCode = Literal["ResourceLimitExceeded", "ThrottlingException", "ValidationException", "InternalFailure"]
# training: after the job reaches Training; spot-capacity: a managed spot training that never gets instances;
# transform: after the job has listed its input; endpoint-update: an UpdateEndpoint ends Failed.
FailureKind = Literal["training", "spot-capacity", "transform", "endpoint-update"]

ALWAYS = "always"  # JSON's spelling of times=None

_ERRORS: dict[str, type[ServiceError]] = {
    "ResourceLimitExceeded": ResourceLimitExceeded,
    "ThrottlingException": ThrottlingException,
    "ValidationException": ValidationException,
    "InternalFailure": InternalFailure,
}
# AWS's common errors: every operation may answer them, although botocore's model declares them on none.
COMMON_ERRORS = frozenset({"ThrottlingException", "ValidationException", "InternalFailure"})

# The wording of AWS's common-errors reference ("Rate exceeded" is what SageMaker's throttling says).
_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "ValidationException": "The input fails to satisfy the constraints specified by an AWS service.",
    "InternalFailure": "The request processing has failed because of an unknown error, exception or failure.",
}
_REASONS = {
    "training": "AlgorithmError: See job logs for more information",
    "spot-capacity": (
        "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML "
        "instance type."
    ),
    "transform": "AlgorithmError: See job logs for more information",
    "endpoint-update": (
        "The primary container for production variant {variant} did not pass the ping health check. Please check "
        "CloudWatch logs for this endpoint."
    ),
}


def _check_times(times: int | None) -> None:
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise ValueError(f"times must be a count of at least 1, or {ALWAYS!r}; got {times!r}")


@dataclass(frozen=True)
class Refusal:
    """Answer calls of `operation` with `error` (after validation and authorization, before the operation runs)."""

    operation: str
    error: RefusalCode
    message: str | None = None  # None: AWS's wording
    times: int | None = 1  # None: every call

    def __post_init__(self) -> None:
        if self.error not in _ERRORS:
            raise ValueError(f"error must be one of {', '.join(_ERRORS)}; got {self.error!r}")
        _check_times(self.times)

    def service_error(self, params: Mapping[str, Any]) -> ServiceError:
        message = self.message or _MESSAGES.get(self.error) or _limit_message(self.operation, params)
        return _ERRORS[self.error](message)


@dataclass(frozen=True)
class Failure:
    """End the matching jobs (or endpoint updates) Failed with `reason`; `name` is a glob on their names."""

    kind: FailureKind
    reason: str | None = None  # None: AWS's wording
    name: str = "*"
    times: int | None = 1  # None: every matching job

    def __post_init__(self) -> None:
        if self.kind not in get_args(FailureKind):
            raise ValueError(f"fail must be one of {', '.join(get_args(FailureKind))}; got {self.kind!r}")
        _check_times(self.times)

    def failure_reason(self, variant: str = "AllTraffic") -> str:
        """`variant`: the endpoint-update's first production variant, which AWS's health-check message names."""
        return self.reason or _REASONS[self.kind].format(variant=variant)


Fault = Refusal | Failure


def _limit_message(operation: str, params: Mapping[str, Any]) -> str:
    """ResourceLimitExceeded as SageMaker words it: the quota of the requested instance type where the request
    names one (jobs), otherwise a count of the resource the operation makes."""
    if operation == "CreateTransformJob":
        resources, usage = params.get("TransformResources") or {}, "transform job usage"
    else:
        resources, usage = (
            (params.get("TrainingJobDefinition") or params).get("ResourceConfig") or {},
            "training job usage",
        )
    if "InstanceType" in resources:
        limit, unit, delta = f"{resources['InstanceType']} for {usage}", "Instances", resources.get("InstanceCount", 1)
    else:
        noun = operation.removeprefix("Create").removeprefix("Update")
        limit, unit, delta = f"Number of {noun}s", f"{noun}s", 1
    return (
        f"The account-level service limit '{limit}' is 0 {unit}, with current utilization of 0 {unit} and a request "
        f"delta of {delta} {unit}. Please use AWS Service Quotas to request an increase for this quota. If AWS "
        "Service Quotas is not available, contact AWS support to request an increase for this quota."
    )


# -- JSON -----------------------------------------------------------------------------------------------------------
_REFUSAL_KEYS = {"refuse", "error", "message", "times"}
_FAILURE_KEYS = {"fail", "reason", "name", "times"}


def _times_from_json(value: Any) -> int | None:
    return None if value == ALWAYS else value


def fault_from_json(item: Any) -> Fault:
    """One item of the JSON shape above; raises ValueError naming what is wrong (unknown keys included)."""
    if not isinstance(item, dict) or ("refuse" in item) == ("fail" in item):
        raise ValueError(f'a fault is an object with either "refuse" or "fail"; got {item!r}')
    keys = _REFUSAL_KEYS if "refuse" in item else _FAILURE_KEYS
    if unknown := sorted(set(item) - keys):
        raise ValueError(f"unknown keys {unknown} in {item!r}; expected some of {sorted(keys)}")
    times = _times_from_json(item.get("times", 1))
    if "refuse" in item:
        if "error" not in item:
            raise ValueError(f'a refusal needs an "error": {item!r}')
        return Refusal(item["refuse"], item["error"], item.get("message"), times)
    return Failure(item["fail"], item.get("reason"), item.get("name", "*"), times)


def faults_from_json(document: Any) -> list[Fault]:
    """`{"faults": [...]}`."""
    if not isinstance(document, dict) or not isinstance(document.get("faults"), list) or set(document) != {"faults"}:
        raise ValueError('expected {"faults": [...]}')
    return [fault_from_json(item) for item in document["faults"]]


def fault_as_json(fault: Fault) -> dict[str, Any]:
    times = ALWAYS if fault.times is None else fault.times
    if isinstance(fault, Refusal):
        answer = {"refuse": fault.operation, "error": fault.error, "message": fault.message, "times": times}
    else:
        answer = {"fail": fault.kind, "reason": fault.reason, "name": fault.name, "times": times}
    return {key: value for key, value in answer.items() if value is not None}


def faults_argument(value: str) -> list[Fault]:
    """argparse's type for --faults: a JSON file, or the JSON itself; an unreadable file or a bad shape is a
    usage error naming the problem."""
    try:
        text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
        return faults_from_json(read_json(text.encode("utf-8"), b"null"))
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None
