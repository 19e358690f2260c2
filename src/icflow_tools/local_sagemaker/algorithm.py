"""What the service runs: any object with the trainer's `train` and `load_model` (icflow_tools.trainer by default)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from icflow_tools.trainer.api import Channel, Classifier, TrainingHooks, TrainingResult

DEFAULT_ALGORITHM = "icflow_tools.trainer"


class Algorithm(Protocol):
    def train(
        self,
        hyperparameters: Mapping[str, str],
        channels: Mapping[str, Channel],
        model_dir: Path,
        checkpoint_dir: Path | None,
        hooks: TrainingHooks,
    ) -> TrainingResult: ...

    def load_model(self, model_dir: Path) -> Classifier: ...


def import_algorithm(module_name: str = DEFAULT_ALGORITHM) -> Algorithm:
    """The algorithm module named `module_name`; imported when first needed, since torch is slow to import."""
    return importlib.import_module(module_name)  # type: ignore[return-value]
