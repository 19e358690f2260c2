"""The built-in algorithm's hyperparameters: names, defaults and valid values, parsed from the strings
SageMaker passes (CreateTrainingJob's HyperParameters map only holds strings).

Defaults and ranges follow the "Image Classification Hyperparameters" page of the SageMaker developer
guide. Rejections raise AlgorithmError with messages shaped like the real algorithm's FailureReason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from icflow_tools.trainer.api import AlgorithmError

LARGE_IMAGE_DEPTHS = (18, 34, 50, 101, 152, 200)
SMALL_IMAGE_DEPTHS = (20, 32, 44, 56, 110)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "nag")
AUGMENTATION_TYPES = ("crop", "crop_color", "crop_color_transform")
PRECISION_DTYPES = ("float32", "float16")
KV_STORES = ("dist_sync", "dist_async")
REQUIRED = ("num_classes", "num_training_samples")

# SageMaker adds its own entries to a job's hyperparameters (`_tuning_objective_metric` for tuning trials,
# `sagemaker_*` for SDK estimators); the algorithm ignores them.
_RESERVED = re.compile(r"^(_|sagemaker_)")
_POSITIVE_INT = re.compile(r"^[1-9][0-9]*$")

T = TypeVar("T")


@dataclass(frozen=True)
class ImageShape:
    channels: int
    height: int
    width: int

    def __str__(self) -> str:
        return f"{self.channels},{self.height},{self.width}"


@dataclass(frozen=True)
class Hyperparameters:
    num_classes: int
    num_training_samples: int
    num_layers: int = 152
    image_shape: ImageShape = ImageShape(3, 224, 224)
    resize: int | None = None
    epochs: int = 30
    mini_batch_size: int = 32
    learning_rate: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0001
    beta_1: float = 0.9
    beta_2: float = 0.999
    eps: float = 1e-8
    gamma: float = 0.9
    lr_scheduler_factor: float = 0.1
    lr_scheduler_step: tuple[int, ...] = ()
    augmentation_type: str | None = None
    use_pretrained_model: bool = False
    checkpoint_frequency: int | None = None
    early_stopping: bool = False
    early_stopping_min_epochs: int = 10
    early_stopping_patience: int = 5
    early_stopping_tolerance: float = 0.0
    top_k: int | None = None
    kv_store: str | None = None
    multi_label: bool = False
    use_weighted_loss: bool = False
    precision_dtype: str = "float32"


def _invalid(name: str, value: str, expected: str) -> AlgorithmError:
    return AlgorithmError(
        f"The value '{value}' is not valid for the '{name}' hyperparameter which expects {expected} "
        "(caused by ValidationError)"
    )


def _positive_int(name: str, value: str) -> int:
    if not _POSITIVE_INT.match(value.strip()):
        raise _invalid(name, value, "a positive integer")
    return int(value)


def _float_in(low: float, high: float) -> Callable[[str, str], float]:
    def parse(name: str, value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:  # also rejects nan and inf
            raise _invalid(name, value, f"a float between {low:g} and {high:g}")
        return number

    return parse


def _one_of(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, value: str) -> str:
        if value.strip() not in choices:
            raise _invalid(name, value, "one of " + ", ".join(f"'{choice}'" for choice in choices))
        return value.strip()

    return parse


def _flag(name: str, value: str) -> bool:
    if value.strip() not in ("0", "1"):
        raise _invalid(name, value, "0 or 1")
    return value.strip() == "1"


def _boolean(name: str, value: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise _invalid(name, value, "'True' or 'False'")
    return value.strip().lower() == "true"


def _num_layers(name: str, value: str) -> int:
    depths = LARGE_IMAGE_DEPTHS + SMALL_IMAGE_DEPTHS
    if not _POSITIVE_INT.match(value.strip()) or int(value) not in depths:
        raise _invalid(name, value, "one of " + ", ".join(str(depth) for depth in depths))
    return int(value)


def _image_shape(name: str, value: str) -> ImageShape:
    parts = [part.strip() for part in value.split(",")]
    if len(parts) != 3 or not all(_POSITIVE_INT.match(part) for part in parts) or parts[0] not in ("1", "3"):
        raise _invalid(name, value, "'channels,height,width' with 1 or 3 channels and a positive height and width")
    return ImageShape(*(int(part) for part in parts))


def _top_k(name: str, value: str) -> int:
    if not _POSITIVE_INT.match(value.strip()) or int(value) < 2:
        raise _invalid(name, value, "a positive integer larger than 1")
    return int(value)


def _steps(name: str, value: str) -> tuple[int, ...]:
    parts = [part.strip() for part in value.split(",")]
    if not all(_POSITIVE_INT.match(part) for part in parts):
        raise _invalid(name, value, "comma-separated positive epoch numbers such as '10,20'")
    steps = tuple(int(part) for part in parts)
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])):
        raise _invalid(name, value, "epoch numbers in increasing order such as '10,20'")
    return steps


_PARSERS: dict[str, Callable[[str, str], object]] = {
    "num_classes": _positive_int,
    "num_training_samples": _positive_int,
    "num_layers": _num_layers,
    "image_shape": _image_shape,
    "resize": _positive_int,
    "epochs": _positive_int,
    "mini_batch_size": _positive_int,
    "learning_rate": _float_in(0.0, 1.0),
    "optimizer": _one_of(*OPTIMIZERS),
    "momentum": _float_in(0.0, 1.0),
    "weight_decay": _float_in(0.0, 1.0),
    "beta_1": _float_in(0.0, 1.0),
    "beta_2": _float_in(0.0, 1.0),
    "eps": _float_in(0.0, 1.0),
    "gamma": _float_in(0.0, 1.0),
    "lr_scheduler_factor": _float_in(0.0, 1.0),
    "lr_scheduler_step": _steps,
    "augmentation_type": _one_of(*AUGMENTATION_TYPES),
    "use_pretrained_model": _flag,
    "checkpoint_frequency": _positive_int,
    "early_stopping": _boolean,
    "early_stopping_min_epochs": _positive_int,
    "early_stopping_patience": _positive_int,
    "early_stopping_tolerance": _float_in(0.0, 1.0),
    "top_k": _top_k,
    "kv_store": _one_of(*KV_STORES),
    "multi_label": _flag,
    "use_weighted_loss": _flag,
    "precision_dtype": _one_of(*PRECISION_DTYPES),
}


def parse_hyperparameters(raw: Mapping[str, str]) -> Hyperparameters:
    """Validate and type the job's hyperparameters; reject unknown names and missing required ones."""
    known = {name: value for name, value in raw.items() if not _RESERVED.match(name)}
    unexpected = sorted(set(known) - set(_PARSERS))
    if unexpected:
        raise AlgorithmError(
            f"Additional hyperparameters are not allowed ('{unexpected[0]}' was unexpected) "
            "(caused by ValidationError)"
        )
    missing = [name for name in REQUIRED if name not in known]
    if missing:
        raise AlgorithmError(
            f"No value(s) were specified for {', '.join(repr(name) for name in missing)} "
            "which are required hyperparameter(s) (caused by ValidationError)"
        )
    for name, value in known.items():
        if not isinstance(value, str):
            raise _invalid(name, repr(value), "a string, as SageMaker passes every hyperparameter")
    values = {name: _PARSERS[name](name, value) for name, value in known.items()}
    hyperparameters = Hyperparameters(**values)  # type: ignore[arg-type]
    _check_consistency(hyperparameters)
    return hyperparameters


def _check_consistency(hp: Hyperparameters) -> None:
    if hp.checkpoint_frequency is not None and hp.checkpoint_frequency > hp.epochs:
        raise _invalid(
            "checkpoint_frequency", str(hp.checkpoint_frequency), f"a positive integer no greater than epochs ({hp.epochs})"
        )
    if hp.top_k is not None and hp.top_k > hp.num_classes and not hp.multi_label:
        raise _invalid("top_k", str(hp.top_k), f"a positive integer larger than 1 and at most num_classes ({hp.num_classes})")
    if hp.use_pretrained_model:
        raise AlgorithmError(
            "use_pretrained_model=1 needs the algorithm's ImageNet-pretrained weights, which do not exist "
            "offline; set use_pretrained_model to 0 to train from scratch, or run the job on Amazon SageMaker"
        )


def parse_image_shape(value: str) -> ImageShape:
    return _image_shape("image_shape", value)
