"""Deterministic SageMaker names: the same dataset and run always get the same names, so a retried or
duplicated event asks SageMaker to create a job that already exists (ResourceInUse) instead of a second one.

Every name starts with NAME_PREFIX, which is how EventBridge rules and the use cases recognise icflow's
own jobs. Names match SageMaker's `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`: the dataset name (layout.DATASET_NAME
allows `_` and `.`) is sanitised to letters, digits and hyphens, and truncated so that the run id, which
makes the name unique, is always kept whole. When sanitising or truncating loses information, a short
digest of the original dataset name is appended, so two datasets never share a name that has no run id.
"""

from __future__ import annotations

import hashlib
import re

NAME_PREFIX = "icflow-"
# Tags on every job, model and endpoint icflow creates: how a state-change event finds its dataset and run.
TAG_DATASET = "icflow:dataset"
TAG_RUN_ID = "icflow:run-id"
TAG_BATCH_ID = "icflow:batch-id"
# ... and which stack created it: stacks in one account share the name prefix (icflow.core.ownership).
TAG_STACK = "icflow:stack"
MAX_NAME = 63  # training job, model, endpoint config, endpoint, transform job
MAX_TUNING_JOB_NAME = 32
RUN_ID_LENGTH = 12  # hex characters; see icflow.training.fingerprint
_DIGEST_LENGTH = 6
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_RUN_ID = re.compile(rf"^[0-9a-f]{{{RUN_ID_LENGTH}}}$")
_SUFFIX = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def _dataset_part(dataset: str, room: int) -> str:
    """`dataset` as letters, digits and single hyphens, at most `room` characters."""
    clean = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9-]", "-", dataset)).strip("-")
    if clean == dataset and len(clean) <= room:
        return clean
    digest = hashlib.sha256(dataset.encode()).hexdigest()[:_DIGEST_LENGTH]
    head = clean[: max(room - _DIGEST_LENGTH - 1, 0)].rstrip("-")
    return f"{head}-{digest}" if head else digest[:room]


def _name(dataset: str, suffix: str, limit: int) -> str:
    if suffix and not _SUFFIX.match(suffix):
        raise ValueError(f"not a SageMaker name part: {suffix!r}")
    room = limit - len(NAME_PREFIX) - len(suffix) - (1 if suffix else 0)
    if room < 1:
        raise ValueError(f"{suffix!r} leaves no room for the dataset in a {limit}-character name")
    part = _dataset_part(dataset, room)
    return f"{NAME_PREFIX}{part}-{suffix}" if suffix else f"{NAME_PREFIX}{part}"


def _run(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"not an icflow run id ({RUN_ID_LENGTH} lowercase hex characters): {run_id!r}")
    return run_id


def training_job_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def tuning_job_name(dataset: str, run_id: str) -> str:
    """At most 32 characters: SageMaker names the tuning job's trials `<this>-NNN-xxxxxxxx`."""
    return _name(dataset, _run(run_id), MAX_TUNING_JOB_NAME)


def model_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def endpoint_config_name(dataset: str, run_id: str) -> str:
    return _name(dataset, _run(run_id), MAX_NAME)


def endpoint_name(dataset: str) -> str:
    """One realtime endpoint per dataset: later models update it in place."""
    return _name(dataset, "", MAX_NAME)


def transform_job_name(dataset: str, batch_id: str) -> str:
    """`batch_id` (letters, digits, hyphens) is kept whole, like a run id."""
    return _name(dataset, batch_id, MAX_NAME)


def is_icflow_name(name: str) -> bool:
    """True for names icflow gives (and for the trials SageMaker names after an icflow tuning job)."""
    return name.startswith(NAME_PREFIX) and bool(SAGEMAKER_NAME.match(name))
