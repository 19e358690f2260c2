"""The Lambda environment as validated models, one per concern: a missing or malformed variable fails the first
invocation with the variable's name, before anything is read or started.

Names match the template's environment variables (template.yaml, Globals and each function). A use case takes
the concern it reads (TrainingEnv for the training resources, say), and Settings is every concern together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

_ENV = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class CoreEnv(BaseModel):
    """Where icflow keeps its state and whom it tells: what every function reads."""

    model_config = _ENV

    region: str = Field(alias="AWS_REGION", min_length=1)
    # The CloudFormation stack: what the icflow:stack tag of every SageMaker resource it creates says.
    stack_name: str = Field(alias="STACK_NAME", min_length=1, max_length=128)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    runs_table: str = Field(alias="RUNS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN", pattern=r"^arn:aws[a-z-]*:sns:")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", default="default", min_length=1)
    sagemaker_role_arn: str = Field(alias="SAGEMAKER_ROLE_ARN", pattern=r"^arn:aws[a-z-]*:iam::")


class TrainingEnv(BaseModel):
    """The stack's training defaults, which pipeline.json's training section may override."""

    model_config = _ENV

    training_instance_type: str = Field(alias="TRAINING_INSTANCE_TYPE", pattern=r"^ml\.")
    training_instance_count: PositiveInt = Field(alias="TRAINING_INSTANCE_COUNT")
    training_volume_size_gb: PositiveInt = Field(alias="TRAINING_VOLUME_SIZE_GB")
    training_max_runtime_seconds: PositiveInt = Field(alias="TRAINING_MAX_RUNTIME_SECONDS")
    managed_spot_training: bool = Field(alias="MANAGED_SPOT_TRAINING")
    # How long a dataset's uploads must have been quiet before its run is decided; 0 decides at every upload.
    dataset_settle_seconds: int = Field(alias="DATASET_SETTLE_SECONDS", default=0, ge=0, le=900)
    # Where uploads wait while they settle: the upload function's own queue (the other functions have none).
    dataset_settle_queue_url: str | None = Field(alias="DATASET_SETTLE_QUEUE_URL", default=None)


class DeployEnv(BaseModel):
    """The deploy path's stack parameters; defaulted so that environments written before it keep loading."""

    model_config = _ENV

    endpoint_idle_hours: int = Field(alias="ENDPOINT_IDLE_HOURS", default=0, ge=0)


class Settings(CoreEnv, TrainingEnv, DeployEnv):
    """Every concern together: the functions share one Globals environment in template.yaml."""

    model_config = _ENV


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.model_validate(dict(os.environ if environ is None else environ))


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The running function's settings, read once per execution environment."""
    return load_settings()
