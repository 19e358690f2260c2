"""Hyperparameter tuning of the image-classification algorithm.

Source: the AWS guide's "Tune an Image Classification Model" (IC-tuning): the objective is
validation:accuracy (Maximize) and these are the tunable hyperparameters with their documented bounds.
The default ranges are the seed notebook's; pipeline.json overrides them per hyperparameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from icflow.algorithm.hyperparameters import NUM_TRAINING_SAMPLES, SPECS, effective, suggestion
from icflow.algorithm.problems import InvalidInput

OBJECTIVE_METRIC = "validation:accuracy"
OBJECTIVE_TYPE = "Maximize"
DEFAULT_MAX_JOBS = 6
DEFAULT_MAX_PARALLEL_JOBS = 2
# Hyperband stops trials after this many epochs at the earliest; its maximum is the epochs hyperparameter.
DEFAULT_HYPERBAND_MIN_EPOCHS = 1
MAX_HYPERBAND_EPOCHS = 20_000  # the API's limit for HyperbandStrategyConfig.MaxResource


class Strategy(StrEnum):
    BAYESIAN = "Bayesian"
    RANDOM = "Random"
    HYPERBAND = "Hyperband"


class EarlyStoppingType(StrEnum):
    OFF = "Off"
    AUTO = "Auto"


class Scaling(StrEnum):
    AUTO = "Auto"
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"


class RangeKind(StrEnum):
    CONTINUOUS = "Continuous"
    INTEGER = "Integer"
    CATEGORICAL = "Categorical"


@dataclass(frozen=True)
class Tunable:
    """A hyperparameter that tuning may vary, with the bounds the documentation gives for it."""

    name: str
    kind: RangeKind
    lower: float = 0.0
    upper: float = 0.0
    choices: tuple[str, ...] = ()


TUNABLE: dict[str, Tunable] = {
    tunable.name: tunable
    for tunable in (
        Tunable("beta_1", RangeKind.CONTINUOUS, 1e-6, 0.999),
        Tunable("beta_2", RangeKind.CONTINUOUS, 1e-6, 0.999),
        Tunable("eps", RangeKind.CONTINUOUS, 1e-8, 1.0),
        Tunable("gamma", RangeKind.CONTINUOUS, 1e-8, 0.999),
        Tunable("learning_rate", RangeKind.CONTINUOUS, 1e-6, 0.5),
        Tunable("mini_batch_size", RangeKind.INTEGER, 8, 512),
        Tunable("momentum", RangeKind.CONTINUOUS, 0.0, 0.999),
        Tunable("optimizer", RangeKind.CATEGORICAL, choices=("sgd", "adam", "rmsprop", "nag")),
        Tunable("weight_decay", RangeKind.CONTINUOUS, 0.0, 0.999),
    )
}


@dataclass(frozen=True)
class ParameterRange:
    """One tuned hyperparameter: min/max for numbers, values for optimizer."""

    name: str
    kind: RangeKind
    min_value: float | None = None
    max_value: float | None = None
    values: tuple[str, ...] = ()
    scaling: Scaling = Scaling.AUTO


# The seed notebook's ranges (IC-tuning's bounds, with mini_batch_size kept to 8..64).
DEFAULT_RANGES: dict[str, ParameterRange] = {
    r.name: r
    for r in (
        ParameterRange("beta_1", RangeKind.CONTINUOUS, 1e-6, 0.999),
        ParameterRange("beta_2", RangeKind.CONTINUOUS, 1e-6, 0.999),
        ParameterRange("eps", RangeKind.CONTINUOUS, 1e-8, 1.0),
        ParameterRange("gamma", RangeKind.CONTINUOUS, 1e-8, 0.999),
        ParameterRange("learning_rate", RangeKind.CONTINUOUS, 1e-6, 0.5),
        ParameterRange("momentum", RangeKind.CONTINUOUS, 0.0, 0.999),
        ParameterRange("weight_decay", RangeKind.CONTINUOUS, 0.0, 0.999),
        ParameterRange("mini_batch_size", RangeKind.INTEGER, 8, 64),
    )
}


@dataclass(frozen=True)
class RangeOverride:
    """A range as pipeline.json gives it (tuning.parameter_ranges.<name>), before it is checked."""

    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    scaling: Scaling = Scaling.AUTO


@dataclass(frozen=True)
class TuningPlan:
    """Everything CreateHyperParameterTuningJob needs beyond the training job definition."""

    strategy: Strategy
    max_jobs: int
    max_parallel_jobs: int
    early_stopping: EarlyStoppingType
    ranges: tuple[ParameterRange, ...]
    hyperband_min_epochs: int = DEFAULT_HYPERBAND_MIN_EPOCHS

    @property
    def tuned_names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.ranges)


def check_range(name: str, override: RangeOverride) -> ParameterRange:
    """A user's range checked against the documented bounds; raises InvalidInput naming every problem."""
    tunable = TUNABLE.get(name)
    if tunable is None:
        raise InvalidInput(
            "tuning",
            [
                f"parameter_ranges.{name}: not a tunable hyperparameter{suggestion(name, TUNABLE)}"
                f"; tunable: {', '.join(TUNABLE)}"
            ],
        )
    path = f"parameter_ranges.{name}"
    if tunable.kind is RangeKind.CATEGORICAL:
        return _categorical(path, tunable, override)
    return _numeric(path, tunable, override)


def _categorical(path: str, tunable: Tunable, override: RangeOverride) -> ParameterRange:
    problems = []
    if override.min is not None or override.max is not None or override.scaling is not Scaling.AUTO:
        problems.append(f'{path}: {tunable.name} is categorical; give "values" (a list), not min/max/scaling')
    values = override.values or ()
    if not values:
        problems.append(f"{path}.values: give at least one of {', '.join(tunable.choices)}")
    unknown = [value for value in values if value not in tunable.choices]
    if unknown:
        problems.append(
            f"{path}.values: {', '.join(map(repr, unknown))} not allowed; expected some of {', '.join(tunable.choices)}"
        )
    if len(set(values)) != len(values):
        problems.append(f"{path}.values: each value once")
    if problems:
        raise InvalidInput("tuning", problems)
    return ParameterRange(tunable.name, tunable.kind, values=tuple(values))


def _numeric(path: str, tunable: Tunable, override: RangeOverride) -> ParameterRange:
    problems = []
    if override.values is not None:
        problems.append(f'{path}: {tunable.name} is numeric; give "min" and "max", not values')
    low, high = override.min, override.max
    if low is None or high is None:
        problems.append(
            f"{path}: give both min and max (documented bounds {_num(tunable.lower)}..{_num(tunable.upper)})"
        )
    else:
        if tunable.kind is RangeKind.INTEGER and (low != int(low) or high != int(high)):
            problems.append(f"{path}: {tunable.name} takes whole numbers; got {_num(low)}..{_num(high)}")
        if low < tunable.lower or high > tunable.upper:
            problems.append(
                f"{path}: {_num(low)}..{_num(high)} is outside the documented bounds "
                f"{_num(tunable.lower)}..{_num(tunable.upper)}"
            )
        if low >= high:
            problems.append(f"{path}: min ({_num(low)}) must be below max ({_num(high)})")
        if override.scaling is Scaling.LOGARITHMIC and low <= 0:
            problems.append(f"{path}: Logarithmic scaling needs min above 0; got {_num(low)}")
        if override.scaling is Scaling.REVERSE_LOGARITHMIC:
            if tunable.kind is RangeKind.INTEGER:
                problems.append(f"{path}: ReverseLogarithmic scaling works only for continuous hyperparameters")
            elif low < 0 or high >= 1:
                problems.append(
                    f"{path}: ReverseLogarithmic scaling needs 0 <= min and max < 1; got {_num(low)}..{_num(high)}"
                )
    if problems:
        raise InvalidInput("tuning", problems)
    assert low is not None and high is not None
    if tunable.kind is RangeKind.INTEGER:
        low, high = int(low), int(high)
    return ParameterRange(tunable.name, tunable.kind, low, high, scaling=override.scaling)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) >= 1 else repr(float(value))


def merge_ranges(overrides: Mapping[str, RangeOverride | None]) -> dict[str, ParameterRange]:
    """The default ranges with the user's overrides applied: a range replaces the default for its
    hyperparameter, None (null in pipeline.json) stops tuning it. Raises InvalidInput listing every problem."""
    ranges = dict(DEFAULT_RANGES)
    problems: list[str] = []
    for name, override in overrides.items():
        if override is None:
            if name not in TUNABLE:
                problems.append(f"parameter_ranges.{name}: not a tunable hyperparameter{suggestion(name, TUNABLE)}")
            ranges.pop(name, None)
            continue
        try:
            ranges[name] = check_range(name, override)
        except InvalidInput as error:
            problems.extend(error.problems)
    if problems:
        raise InvalidInput("tuning", problems)
    return ranges


def plan_tuning(
    *,
    strategy: Strategy,
    max_jobs: int,
    max_parallel_jobs: int,
    early_stopping: EarlyStoppingType,
    overrides: Mapping[str, RangeOverride | None],
    hyperparameters: Mapping[str, str],
    hyperband_min_epochs: int = DEFAULT_HYPERBAND_MIN_EPOCHS,
) -> TuningPlan:
    """The tuning job's plan. `hyperparameters` are the run's (validated, data resolved): a hyperparameter
    fixed there is static and not tuned, unless the user asked for a range for it explicitly (a conflict).

    Raises InvalidInput listing every problem."""
    problems: list[str] = []
    try:
        ranges = merge_ranges(overrides)
    except InvalidInput as error:
        problems.extend(error.problems)
        ranges = None
    for name in list(ranges or ()):
        if name in hyperparameters:
            if overrides.get(name) is not None:
                problems.append(
                    f"parameter_ranges.{name}: {name} is also fixed in hyperparameters "
                    f"({hyperparameters[name]}); remove one of the two"
                )
            del ranges[name]
    if ranges == {}:
        problems.append("parameter_ranges: nothing left to tune; give at least one range or remove the tuning section")
    if max_parallel_jobs > max_jobs:
        problems.append(
            f"max_parallel_jobs: {max_parallel_jobs} is more than max_jobs ({max_jobs}); lower it to at most max_jobs"
        )
    batch = (ranges or {}).get("mini_batch_size")
    samples = hyperparameters.get(NUM_TRAINING_SAMPLES)
    if batch is not None and samples is not None and batch.max_value is not None and batch.max_value > int(samples):
        problems.append(
            f"parameter_ranges.mini_batch_size: max {int(batch.max_value)} is more than the "
            f"{samples} training samples; set max to at most {samples}"
        )
    if strategy is Strategy.HYPERBAND:
        if early_stopping is not EarlyStoppingType.OFF:
            problems.append("early_stopping: must be Off with the Hyperband strategy, which stops trials itself")
        epochs = int(effective(hyperparameters, "epochs") or SPECS["epochs"].default or 0)
        if epochs > MAX_HYPERBAND_EPOCHS:
            problems.append(
                f"strategy: Hyperband allows at most {MAX_HYPERBAND_EPOCHS} epochs, and the epochs "
                f"hyperparameter is {epochs}"
            )
        if hyperband_min_epochs > epochs:
            problems.append(f"hyperband_min_epochs: {hyperband_min_epochs} is more than epochs ({epochs})")
    if problems or ranges is None:
        raise InvalidInput("tuning", problems)
    return TuningPlan(
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        early_stopping=early_stopping,
        ranges=tuple(ranges[name] for name in sorted(ranges)),
        hyperband_min_epochs=hyperband_min_epochs,
    )


def parameter_ranges(ranges: tuple[ParameterRange, ...]) -> dict[str, list[dict[str, object]]]:
    """The API's ParameterRanges structure (all values as strings)."""
    result: dict[str, list[dict[str, object]]] = {
        "ContinuousParameterRanges": [],
        "IntegerParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for r in ranges:
        if r.kind is RangeKind.CATEGORICAL:
            result["CategoricalParameterRanges"].append({"Name": r.name, "Values": list(r.values)})
            continue
        assert r.min_value is not None and r.max_value is not None
        as_text = (lambda v: str(int(v))) if r.kind is RangeKind.INTEGER else (lambda v: repr(float(v)))
        result[f"{r.kind.value}ParameterRanges"].append(
            {
                "Name": r.name,
                "MinValue": as_text(r.min_value),
                "MaxValue": as_text(r.max_value),
                "ScalingType": r.scaling.value,
            }
        )
    return result
