"""Every hyperparameter of SageMaker's built-in image-classification algorithm, with the documented rules.

Source: the AWS guide's "Image Classification Hyperparameters" page (IC-Hyperparameter). The API takes
every value as a string; pipeline.json gives JSON numbers, strings or booleans. One rule for all:

- integers: a JSON integer or a string of digits ("64"); never a boolean, never 64.0;
- floats: a JSON number or a numeric string; normalised with Python's repr ("1e-08", "0.1");
- 0/1 flags (multi_label, use_pretrained_model, use_weighted_loss) and True/False switches
  (early_stopping) accept the same inputs: true/false, 1/0, "1"/"0", "true"/"false" (any case).
  Flags are sent as "1"/"0", switches as "True"/"False", as the algorithm documents them;
- image_shape: "3,224,224" (spaces allowed) or [3, 224, 224]; lr_scheduler_step: "10,20", [10, 20] or 10.

Normalised values are canonical, so the same configuration always yields the same strings (the run
fingerprint relies on it).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from icflow.algorithm.problems import InvalidInput
from icflow.core.sagemaker_limits import API_INTEGER_MAX

LARGE_IMAGE_LAYERS = (18, 34, 50, 101, 152, 200)
SMALL_IMAGE_LAYERS = (20, 32, 44, 56, 110)
# Grayscale or colour. The guide only says "num_channels"; limiting it catches the common channels-last
# mistake ("224,224,3") before a GPU job fails on it.
IMAGE_CHANNELS = (1, 3)

# The two the algorithm requires; icflow infers both from the data when pipeline.json leaves them out.
NUM_CLASSES = "num_classes"
NUM_TRAINING_SAMPLES = "num_training_samples"


class _Rejected(ValueError):
    """A value a parser does not accept; the hyperparameter's `allowed` text says what would be, and the
    exception's own text (when it has one) what this value broke beyond that."""


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    allowed: str  # what the API accepts, in words, for messages and docs/architecture.md
    default: str | None  # the algorithm's documented default, as the API spells it; None: no default
    parse: Callable[[object], str]
    required: bool = False


def _integer_text(value: object) -> int:
    if isinstance(value, bool):
        raise _Rejected
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,20}\s*", value):
        number = int(value)
    else:
        raise _Rejected
    if abs(number) > API_INTEGER_MAX:
        # The API carries values as text, but no count of epochs, samples or pixels comes near this one.
        raise _Rejected(f"at most {API_INTEGER_MAX}")
    return number


def _float_value(value: object) -> float:
    if isinstance(value, bool):
        raise _Rejected
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _Rejected from None
    else:
        raise _Rejected
    if not math.isfinite(number):
        raise _Rejected
    return number


def _truth(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise _Rejected


def _positive_integer(value: object) -> str:
    number = _integer_text(value)
    if number < 1:
        raise _Rejected
    return str(number)


def _unit_interval(value: object) -> str:
    number = _float_value(value)
    if not 0.0 <= number <= 1.0:
        raise _Rejected
    return repr(number)


def _flag(value: object) -> str:
    return "1" if _truth(value) else "0"


def _switch(value: object) -> str:
    return "True" if _truth(value) else "False"


def _one_of(*choices: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise _Rejected

    return parse


def _num_layers(value: object) -> str:
    number = _integer_text(value)
    if number not in LARGE_IMAGE_LAYERS + SMALL_IMAGE_LAYERS:
        raise _Rejected
    return str(number)


def _integer_list(value: object) -> list[int]:
    if isinstance(value, list):
        return [_integer_text(item) for item in value]
    if isinstance(value, str):
        return [_integer_text(item) for item in value.split(",")]
    return [_integer_text(value)]


def _image_shape(value: object) -> str:
    numbers = _integer_list(value)
    if len(numbers) != 3 or numbers[0] not in IMAGE_CHANNELS or min(numbers[1:]) < 1:
        raise _Rejected
    return ",".join(str(number) for number in numbers)


def _epoch_list(value: object) -> str:
    epochs = _integer_list(value)
    if not epochs or min(epochs) < 1 or any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise _Rejected
    return ",".join(str(epoch) for epoch in epochs)


_POSITIVE = "a positive integer"
_SHOWN_CHARACTERS = 40  # of a value quoted in a message: enough to recognise it, however long it is
_UNIT = "a number from 0 to 1"
_FLAG = "0 or 1 (true/false also accepted)"
_SWITCH = "true or false (sent as True/False; 1/0 also accepted)"

SPECS: dict[str, Hyperparameter] = {
    spec.name: spec
    for spec in (
        Hyperparameter(NUM_CLASSES, _POSITIVE, None, _positive_integer, required=True),
        Hyperparameter(NUM_TRAINING_SAMPLES, _POSITIVE, None, _positive_integer, required=True),
        Hyperparameter(
            "augmentation_type",
            "crop, crop_color or crop_color_transform",
            None,
            _one_of("crop", "crop_color", "crop_color_transform"),
        ),
        Hyperparameter("beta_1", _UNIT, "0.9", _unit_interval),
        Hyperparameter("beta_2", _UNIT, "0.999", _unit_interval),
        Hyperparameter("checkpoint_frequency", f"{_POSITIVE}, at most epochs", None, _positive_integer),
        Hyperparameter("early_stopping", _SWITCH, "False", _switch),
        Hyperparameter(
            "early_stopping_min_epochs", f"{_POSITIVE} (needs early_stopping true)", "10", _positive_integer
        ),
        Hyperparameter("early_stopping_patience", f"{_POSITIVE} (needs early_stopping true)", "5", _positive_integer),
        Hyperparameter("early_stopping_tolerance", f"{_UNIT} (needs early_stopping true)", "0.0", _unit_interval),
        Hyperparameter("epochs", _POSITIVE, "30", _positive_integer),
        Hyperparameter("eps", _UNIT, "1e-08", _unit_interval),
        Hyperparameter("gamma", _UNIT, "0.9", _unit_interval),
        Hyperparameter(
            "image_shape", '"channels,height,width" with 1 or 3 channels, e.g. "3,224,224"', "3,224,224", _image_shape
        ),
        Hyperparameter("kv_store", "dist_sync or dist_async", None, _one_of("dist_sync", "dist_async")),
        Hyperparameter("learning_rate", _UNIT, "0.1", _unit_interval),
        Hyperparameter("lr_scheduler_factor", _UNIT, "0.1", _unit_interval),
        Hyperparameter("lr_scheduler_step", 'increasing epochs separated by commas, e.g. "10,20"', None, _epoch_list),
        Hyperparameter("mini_batch_size", _POSITIVE, "32", _positive_integer),
        Hyperparameter("momentum", _UNIT, "0.9", _unit_interval),
        Hyperparameter("multi_label", _FLAG, "0", _flag),
        Hyperparameter(
            "num_layers",
            f"one of {', '.join(map(str, LARGE_IMAGE_LAYERS))} (large images) or "
            f"{', '.join(map(str, SMALL_IMAGE_LAYERS))} (small images)",
            "152",
            _num_layers,
        ),
        Hyperparameter("optimizer", "sgd, adam, rmsprop or nag", "sgd", _one_of("sgd", "adam", "rmsprop", "nag")),
        Hyperparameter("precision_dtype", "float32 or float16", "float32", _one_of("float32", "float16")),
        Hyperparameter("resize", f"{_POSITIVE}, at least image_shape's height and width", None, _positive_integer),
        Hyperparameter("top_k", "an integer from 2 to num_classes", None, _positive_integer),
        Hyperparameter("use_pretrained_model", _FLAG, "0", _flag),
        Hyperparameter("use_weighted_loss", _FLAG, "0", _flag),
        Hyperparameter("weight_decay", _UNIT, "0.0001", _unit_interval),
    )
}

REQUIRED = tuple(name for name, spec in SPECS.items() if spec.required)
EARLY_STOPPING_FIELDS = ("early_stopping_min_epochs", "early_stopping_patience", "early_stopping_tolerance")


def suggestion(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a misspelt name, or '' when nothing is close."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def effective(values: Mapping[str, str], name: str) -> str | None:
    """The value the algorithm will use: the given one, else its documented default."""
    return values.get(name, SPECS[name].default)


def image_height_width(image_shape: str) -> tuple[int, int]:
    _, height, width = (int(part) for part in image_shape.split(","))
    return height, width


class ValueNotAllowed(ValueError):
    """A value one hyperparameter does not accept; `allowed` says in words what it does."""

    def __init__(self, name: str, value: object, detail: str = "") -> None:
        self.name = name
        self.value = value
        self.allowed = SPECS[name].allowed + (f" ({detail})" if detail else "")
        super().__init__(f"{name}: {_show(value)} is not allowed; expected {self.allowed}")


def parse(name: str, value: object) -> str:
    """One hyperparameter's value as the API's canonical string, by that field's own rules (the rules between
    fields are validate_hyperparameters'). Raises KeyError for a name the algorithm does not take and
    ValueNotAllowed for a value the field does not accept."""
    spec = SPECS[name]
    try:
        return spec.parse(value)
    except _Rejected as rejected:
        raise ValueNotAllowed(name, value, str(rejected)) from None


def validate_hyperparameters(values: Mapping[str, object]) -> dict[str, str]:
    """The given hyperparameters as the API's normalised strings; raises InvalidInput (an IcflowError)
    listing every problem: unknown names (with a suggestion), wrong types, out-of-range values and
    broken cross-field rules. Absent hyperparameters stay absent (the algorithm applies its defaults);
    the required num_classes and num_training_samples may be absent here (see require_complete)."""
    problems: list[str] = []
    parsed: dict[str, str] = {}
    for name, value in values.items():
        spec = SPECS.get(name)
        if spec is None:
            problems.append(
                f"{name}: unknown hyperparameter{suggestion(name, SPECS)}; "
                "see the pipeline.json reference for the ones the algorithm takes"
            )
            continue
        try:
            parsed[name] = parse(name, value)
        except ValueNotAllowed as rejected:
            problems.append(str(rejected))
    problems.extend(_cross_field_problems(parsed, set(values)))
    if problems:
        raise InvalidInput("hyperparameters", problems)
    return dict(sorted(parsed.items()))


def require_complete(values: Mapping[str, str]) -> None:
    """Raises InvalidInput when a hyperparameter the algorithm requires is missing."""
    missing = [name for name in REQUIRED if name not in values]
    if missing:
        raise InvalidInput("hyperparameters", [f"{name}: required by the algorithm and missing" for name in missing])


def _show(value: object) -> str:
    """A value as the user wrote it in JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= _SHOWN_CHARACTERS else f"{shown[:_SHOWN_CHARACTERS]}... ({len(shown)} characters)"


def _cross_field_problems(parsed: Mapping[str, str], given: set[str]) -> list[str]:
    """Rules between fields. A rule uses a field's parsed value, or its default when it was not given; a
    field given with a bad value is skipped, so one typo is reported once."""

    def value(name: str) -> str | None:
        return parsed[name] if name in parsed else None if name in given else SPECS[name].default

    problems: list[str] = []
    epochs = value("epochs")
    if epochs is not None and "checkpoint_frequency" in parsed and int(parsed["checkpoint_frequency"]) > int(epochs):
        problems.append(
            f"checkpoint_frequency: {parsed['checkpoint_frequency']} is more than epochs ({epochs}); "
            "set it to at most epochs"
        )
    if epochs is not None and "lr_scheduler_step" in parsed:
        late = [step for step in parsed["lr_scheduler_step"].split(",") if int(step) >= int(epochs)]
        if late:
            problems.append(
                f"lr_scheduler_step: epoch {late[0]} is not before the last epoch ({epochs}), so the "
                "learning rate would never change there; use epochs below epochs or raise epochs"
            )

    if "top_k" in parsed:
        top_k = int(parsed["top_k"])
        if top_k < 2:
            problems.append(
                f"top_k: {top_k} is not allowed; expected an integer larger than 1 (top-1 accuracy is always reported)"
            )
        elif NUM_CLASSES in parsed and top_k > int(parsed[NUM_CLASSES]):
            problems.append(
                f"top_k: {top_k} is more than num_classes ({parsed[NUM_CLASSES]}); "
                "set it to at most the number of classes"
            )

    if {"mini_batch_size", NUM_TRAINING_SAMPLES} <= parsed.keys() and int(parsed["mini_batch_size"]) > int(
        parsed[NUM_TRAINING_SAMPLES]
    ):
        problems.append(
            f"mini_batch_size: {parsed['mini_batch_size']} is more than num_training_samples "
            f"({parsed[NUM_TRAINING_SAMPLES]}); set a smaller mini_batch_size"
        )

    if parsed.get("use_weighted_loss") == "1" and value("multi_label") == "0":
        problems.append(
            "use_weighted_loss: 1 applies only to multi-label training; set multi_label to 1 or use_weighted_loss to 0"
        )

    layers = value("num_layers")
    if parsed.get("use_pretrained_model") == "1" and layers is not None and int(layers) not in LARGE_IMAGE_LAYERS:
        problems.append(
            f"num_layers: {layers} has no pretrained model; with use_pretrained_model 1 "
            f"use one of {', '.join(map(str, LARGE_IMAGE_LAYERS))}"
        )

    if value("early_stopping") == "False":
        problems.extend(
            f"{name}: has no effect unless early_stopping is true; set early_stopping to true or remove it"
            for name in EARLY_STOPPING_FIELDS
            if name in parsed
        )

    shape = value("image_shape")
    if "resize" in parsed and shape is not None:
        height, width = image_height_width(shape)
        if int(parsed["resize"]) < max(height, width):
            problems.append(
                f"resize: {parsed['resize']} is smaller than image_shape's height or width "
                f"({height}x{width}); set resize to at least {max(height, width)}"
            )
    return problems
