"""The stack's environment as the functions read it, for tests that build parts of it."""

from __future__ import annotations

from icflow.core.settings import TrainingEnv


def stack_defaults(
    instance_type="ml.p3.2xlarge", instance_count=1, volume_size_gb=50, max_runtime_seconds=36000, managed_spot=False
) -> TrainingEnv:
    """The stack's training defaults (TRAINING_* and MANAGED_SPOT_TRAINING), with these values."""
    return TrainingEnv(
        training_instance_type=instance_type,
        training_instance_count=instance_count,
        training_volume_size_gb=volume_size_gb,
        training_max_runtime_seconds=max_runtime_seconds,
        managed_spot_training=managed_spot,
    )
