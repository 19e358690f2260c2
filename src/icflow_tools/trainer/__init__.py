"""The image-classification algorithm in PyTorch: what the local SageMaker runs for training jobs and serves
for transform jobs and endpoints. Its contract with the local SageMaker is `icflow_tools.trainer.api`.

`train` and `load_model` load on first use, so importing the package (or its api) does not import torch.
"""

from __future__ import annotations

import os
from typing import Any

from icflow_tools.trainer.api import AlgorithmError, Channel, Classifier, ClientError, TrainingHooks, TrainingResult

# Idle OpenMP threads spin by default; on a machine whose cores other processes also use, a thread spinning
# while its partner waits for a core made training ten times slower. OpenMP reads this once, when torch
# first loads, so it is set before that can happen; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__all__ = [
    "AlgorithmError",
    "Channel",
    "Classifier",
    "ClientError",
    "TrainingHooks",
    "TrainingResult",
    "load_model",
    "train",
]


def __getattr__(name: str) -> Any:
    if name == "train":
        from icflow_tools.trainer.training import train

        return train
    if name == "load_model":
        from icflow_tools.trainer.inference import load_model

        return load_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
