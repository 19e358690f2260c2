"""The built-in algorithm's hyperparameters as the algorithm sees them: typed, parsed from the strings SageMaker
passes (CreateTrainingJob's HyperParameters map only holds strings).

Which names exist, which are required, their defaults and the values each accepts are icflow's single
specification, `icflow.algorithm.hyperparameters`; this module adds the typed view and the algorithm's own
checks between fields. Those are more lenient than icflow's pre-checks (early_stopping_* without early_stopping
is accepted here, as the real container accepts it). Rejections raise ClientError with messages shaped like the
real algorithm's FailureReason.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import get_args, get_origin, get_type_hints

from icflow.algorithm import hyperparameters as spec
from icflow_tools.trainer.api import ClientError

# SageMaker adds its own entries to a job's hyperparameters (`_tuning_objective_metric` for tuning trials,
# `sagemaker_*` for SDK estimators); the algorithm ignores them.
_RESERVED = re.compile(r"^(_|sagemaker_)")


@dataclass(frozen=True)
class ImageShape:
    channels: int
    height: int
    width: int

    def __str__(self) -> str:
        return f"{self.channels},{self.height},{self.width}"


@dataclass(frozen=True)
class Hyperparameters:
    """One field per hyperparameter of the specification; None where it has no value and no default."""

    num_classes: int
    num_training_samples: int
    num_layers: int
    image_shape: ImageShape
    resize: int | None
    epochs: int
    mini_batch_size: int
    learning_rate: float
    optimizer: str
    momentum: float
    weight_decay: float
    beta_1: float
    beta_2: float
    eps: float
    gamma: float
    lr_scheduler_factor: float
    lr_scheduler_step: tuple[int, ...] | None
    augmentation_type: str | None
    use_pretrained_model: bool
    checkpoint_frequency: int | None
    early_stopping: bool
    early_stopping_min_epochs: int
    early_stopping_patience: int
    early_stopping_tolerance: float
    top_k: int | None
    kv_store: str | None
    multi_label: bool
    use_weighted_loss: bool
    precision_dtype: str


def _integers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


# From the specification's canonical strings to the field's type: flags are "1"/"0", switches "True"/"False".
_CONVERTERS: dict[object, Callable[[str], object]] = {
    int: int,
    float: float,
    str: str,
    bool: lambda text: text in ("1", "True"),
    ImageShape: lambda text: ImageShape(*_integers(text)),
    tuple: _integers,
}


def _converter(annotation: object) -> Callable[[str], object]:
    if isinstance(annotation, types.UnionType):
        (annotation,) = (arg for arg in get_args(annotation) if arg is not type(None))
    return _CONVERTERS[get_origin(annotation) or annotation]


_FIELD_CONVERTERS = {name: _converter(annotation) for name, annotation in get_type_hints(Hyperparameters).items()}


def _invalid(name: str, value: str, expected: str) -> ClientError:
    return ClientError(
        f"The value '{value}' is not valid for the '{name}' hyperparameter which expects {expected} "
        "(caused by ValidationError)"
    )


def _canonical(name: str, value: str) -> str:
    try:
        return spec.parse(name, value)
    except spec.ValueNotAllowed as rejected:
        raise _invalid(name, value, rejected.allowed) from None


def parse_hyperparameters(raw: Mapping[str, str]) -> Hyperparameters:
    """Validate and type the job's hyperparameters; reject unknown names and missing required ones."""
    known = {name: value for name, value in raw.items() if not _RESERVED.match(name)}
    unexpected = sorted(set(known) - set(spec.SPECS))
    if unexpected:
        raise ClientError(
            f"Additional hyperparameters are not allowed ('{unexpected[0]}' was unexpected) (caused by ValidationError)"
        )
    missing = [name for name in spec.REQUIRED if name not in known]
    if missing:
        raise ClientError(
            f"No value(s) were specified for {', '.join(repr(name) for name in missing)} "
            "which are required hyperparameter(s) (caused by ValidationError)"
        )
    for name, value in known.items():
        if not isinstance(value, str):
            raise _invalid(name, repr(value), "a string, as SageMaker passes every hyperparameter")
    texts = {name: _canonical(name, known[name]) if name in known else spec.SPECS[name].default for name in spec.SPECS}
    hyperparameters = Hyperparameters(
        **{  # type: ignore[arg-type]
            name: None if text is None else _FIELD_CONVERTERS[name](text) for name, text in texts.items()
        }
    )
    _check_consistency(hyperparameters)
    return hyperparameters


def _check_consistency(hp: Hyperparameters) -> None:
    """The algorithm's own rules between fields (icflow's stricter pre-checks stay in icflow)."""
    if hp.checkpoint_frequency is not None and hp.checkpoint_frequency > hp.epochs:
        raise _invalid(
            "checkpoint_frequency",
            str(hp.checkpoint_frequency),
            f"a positive integer no greater than epochs ({hp.epochs})",
        )
    if hp.top_k is not None and (hp.top_k < 2 or (hp.top_k > hp.num_classes and not hp.multi_label)):
        raise _invalid(
            "top_k", str(hp.top_k), f"a positive integer larger than 1 and at most num_classes ({hp.num_classes})"
        )
    if hp.use_pretrained_model:
        raise ClientError(
            "use_pretrained_model=1 needs the algorithm's ImageNet-pretrained weights, which do not exist "
            "offline; set use_pretrained_model to 0 to train from scratch, or run the job on Amazon SageMaker"
        )


def parse_image_shape(value: str) -> ImageShape:
    return ImageShape(*_integers(_canonical("image_shape", value)))
