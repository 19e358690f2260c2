"""The Lambda environment as one validated model: a missing or malformed variable fails the first
invocation with the variable's name, before anything is read or started."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, PositiveInt


class Settings(BaseModel):
    """Names match the template's environment variables (template.yaml, Globals and each function)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    region: str = Field(alias="AWS_REGION", min_length=1)
    data_bucket: str = Field(alias="DATA_BUCKET", min_length=3)
    runs_table: str = Field(alias="RUNS_TABLE", min_length=3)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    notifications_topic_arn: str = Field(alias="NOTIFICATIONS_TOPIC_ARN", pattern=r"^arn:aws[a-z-]*:sns:")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", default="default", min_length=1)
    sagemaker_role_arn: str = Field(alias="SAGEMAKER_ROLE_ARN", pattern=r"^arn:aws[a-z-]*:iam::")
    training_instance_type: str = Field(alias="TRAINING_INSTANCE_TYPE", pattern=r"^ml\.")
    training_instance_count: PositiveInt = Field(alias="TRAINING_INSTANCE_COUNT")
    training_volume_size_gb: PositiveInt = Field(alias="TRAINING_VOLUME_SIZE_GB")
    training_max_runtime_seconds: PositiveInt = Field(alias="TRAINING_MAX_RUNTIME_SECONDS")
    managed_spot_training: bool = Field(alias="MANAGED_SPOT_TRAINING")
    # Deploy path; defaulted so that environments written before it keep loading.
    endpoint_idle_hours: int = Field(alias="ENDPOINT_IDLE_HOURS", default=0, ge=0)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.model_validate(dict(os.environ if environ is None else environ))


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """The running function's settings, read once per execution environment."""
    return load_settings()
