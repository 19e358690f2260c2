"""What the trainer writes: the model in model_dir (tarred into model.tar.gz) and the resumable training
state in checkpoint_dir (synced with S3 for managed spot training).

model_dir holds `image-classification-<epoch>.pt` parameter files (PyTorch state dicts, named after the
algorithm's `image-classification-<epoch>.params`; epochs count from 1) and `model-config.json`, which
says how to rebuild the network and which parameter file is the model to serve.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from icflow_tools.trainer.api import ClientError

MODEL_CONFIG = "model-config.json"
TRAINING_STATE = "training-state.pt"
PARAMS_PREFIX = "image-classification-"
PARAMS_SUFFIX = ".pt"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ModelConfig:
    num_layers: int
    num_classes: int
    image_shape: str  # "C,H,W"
    resize: int  # shorter side images are resized to before the centre crop when served
    multi_label: bool
    params: str  # the parameter file to serve
    format_version: int = FORMAT_VERSION


def params_name(epoch: int) -> str:
    return f"{PARAMS_PREFIX}{epoch + 1:04d}{PARAMS_SUFFIX}"


def _atomic_save(obj: Any, path: Path) -> None:
    """Write then rename, so a crash (or a spot interruption) never leaves half a file behind."""
    partial = path.with_name(path.name + ".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def save_params(model: torch.nn.Module, epoch: int, model_dir: Path, checkpoint_dir: Path | None) -> Path:
    """Save the model's parameters as epoch's file; a copy in checkpoint_dir survives a spot restart."""
    state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
    path = model_dir / params_name(epoch)
    _atomic_save(state, path)
    if checkpoint_dir is not None:
        shutil.copyfile(path, checkpoint_dir / path.name)
    return path


def restore_params_files(checkpoint_dir: Path, model_dir: Path) -> list[str]:
    """Parameter files saved before an interruption, copied back into the fresh model_dir."""
    names = []
    for path in sorted(checkpoint_dir.glob(f"{PARAMS_PREFIX}*{PARAMS_SUFFIX}")):
        shutil.copyfile(path, model_dir / path.name)
        names.append(path.name)
    return names


def write_config(model_dir: Path, config: ModelConfig) -> None:
    (model_dir / MODEL_CONFIG).write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")


def read_config(model_dir: Path) -> ModelConfig:
    path = model_dir / MODEL_CONFIG
    if not path.is_file():
        raise ClientError(f"{model_dir} holds no {MODEL_CONFIG}: it is not a model written by the icflow trainer")
    try:
        config = ModelConfig(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as error:
        raise ClientError(f"{MODEL_CONFIG} is not a valid icflow model configuration: {error}") from error
    if config.format_version != FORMAT_VERSION:
        raise ClientError(
            f"{MODEL_CONFIG} has format version {config.format_version}; this trainer reads {FORMAT_VERSION}"
        )
    return config


def save_training_state(checkpoint_dir: Path, state: dict[str, Any]) -> None:
    _atomic_save(state, checkpoint_dir / TRAINING_STATE)


def load_training_state(checkpoint_dir: Path) -> dict[str, Any] | None:
    path = checkpoint_dir / TRAINING_STATE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise ClientError(
            f"the checkpoint {TRAINING_STATE} cannot be read ({error}); delete the job's checkpoint prefix to start over"
        ) from error
