"""Tuning strategies as optuna samplers and pruners.

Bayesian is TPE (constant liar, so parallel trials spread out), Random is random sampling, Grid walks every
combination of categorical values, and Hyperband samples randomly while optuna's HyperbandPruner stops weak
trials at epoch ends (`epoch_end` reports are its budget steps). TrainingJobEarlyStoppingType=Auto stops a
trial whose objective is below the median of earlier trials at the same epoch, as SageMaker describes it.
"""

from __future__ import annotations

import math
from typing import Any

import optuna

from icflow_tools.local_sagemaker.errors import ValidationException

INTEGER = "IntegerParameterRanges"
CONTINUOUS = "ContinuousParameterRanges"
CATEGORICAL = "CategoricalParameterRanges"
DEFAULT_EPOCHS = 30  # the image-classification algorithm's default `epochs`


def _bounds(spec: dict[str, Any], kind: str) -> tuple[float, float]:
    try:
        low, high = float(spec["MinValue"]), float(spec["MaxValue"])
    except ValueError:
        raise ValidationException(f"{kind} {spec['Name']}: MinValue and MaxValue must be numbers.") from None
    if low > high:
        raise ValidationException(
            f"{kind} {spec['Name']}: MinValue {spec['MinValue']} is greater than MaxValue {spec['MaxValue']}."
        )
    if spec.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic") and low <= 0:
        raise ValidationException(f"{kind} {spec['Name']}: logarithmic scaling needs MinValue greater than 0.")
    if kind == INTEGER and (not low.is_integer() or not high.is_integer()):
        raise ValidationException(f"{kind} {spec['Name']}: MinValue and MaxValue must be integers.")
    return low, high


def check_ranges(ranges: dict[str, Any], static: dict[str, str]) -> list[str]:
    """The tuned hyperparameter names, after checking the ranges as SageMaker does."""
    names: list[str] = []
    for kind in (INTEGER, CONTINUOUS):
        for spec in ranges.get(kind, []):
            _bounds(spec, kind)
            names.append(spec["Name"])
    for spec in ranges.get(CATEGORICAL, []):
        if not spec["Values"]:
            raise ValidationException(f"{CATEGORICAL} {spec['Name']}: Values must not be empty.")
        names.append(spec["Name"])
    if not names:
        raise ValidationException("ParameterRanges must name at least one hyperparameter to tune.")
    duplicated = sorted({name for name in names if names.count(name) > 1} | (set(names) & set(static)))
    if duplicated:
        raise ValidationException(f"Hyperparameters {duplicated} are tuned more than once or are also static.")
    return names


def suggest(trial: optuna.Trial, ranges: dict[str, Any]) -> dict[str, str]:
    """One value per tuned hyperparameter, formatted as SageMaker passes them (strings)."""
    values: dict[str, str] = {}
    for spec in ranges.get(INTEGER, []):
        low, high = _bounds(spec, INTEGER)
        log = spec.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic")
        values[spec["Name"]] = str(trial.suggest_int(spec["Name"], int(low), int(high), log=log))
    for spec in ranges.get(CONTINUOUS, []):
        low, high = _bounds(spec, CONTINUOUS)
        # ReverseLogarithmic (dense near 1) has no optuna counterpart; it is sampled on a log scale instead.
        log = spec.get("ScalingType") in ("Logarithmic", "ReverseLogarithmic")
        values[spec["Name"]] = repr(trial.suggest_float(spec["Name"], low, high, log=log))
    for spec in ranges.get(CATEGORICAL, []):
        values[spec["Name"]] = str(trial.suggest_categorical(spec["Name"], spec["Values"]))
    return values


def grid_size(ranges: dict[str, Any]) -> int:
    return math.prod(len(spec["Values"]) for spec in ranges.get(CATEGORICAL, []))


def make_sampler(strategy: str, ranges: dict[str, Any], seed: int | None) -> optuna.samplers.BaseSampler:
    if strategy == "Bayesian":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=3)
    if strategy == "Grid":
        space = {spec["Name"]: list(spec["Values"]) for spec in ranges.get(CATEGORICAL, [])}
        return optuna.samplers.GridSampler(space, seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def make_pruner(config: dict[str, Any], static: dict[str, str]) -> optuna.pruners.BasePruner:
    if config.get("Strategy") == "Hyperband":
        hyperband = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig", {})
        max_resource = hyperband.get("MaxResource") or int(static.get("epochs", DEFAULT_EPOCHS))
        return optuna.pruners.HyperbandPruner(
            min_resource=hyperband.get("MinResource") or 1, max_resource=max_resource, reduction_factor=3
        )
    if config.get("TrainingJobEarlyStoppingType") == "Auto":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


def check_config(config: dict[str, Any], static: dict[str, str]) -> None:
    strategy = config["Strategy"]
    ranges = config.get("ParameterRanges") or {}
    check_ranges(ranges, static)
    limits = config.get("ResourceLimits") or {}
    if strategy == "Grid":
        if ranges.get(INTEGER) or ranges.get(CONTINUOUS):
            raise ValidationException("The Grid strategy only supports CategoricalParameterRanges.")
    elif "MaxNumberOfTrainingJobs" not in limits:
        raise ValidationException(
            f"ResourceLimits.MaxNumberOfTrainingJobs must be specified for the {strategy} strategy."
        )
    if strategy == "Hyperband" and config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
        raise ValidationException(
            "TrainingJobEarlyStoppingType must be Off with the Hyperband strategy, which stops "
            "training jobs early on its own."
        )
    if "HyperParameterTuningJobObjective" not in config:
        raise ValidationException(
            "HyperParameterTuningJobObjective must be specified (e.g. validation:accuracy, Maximize)."
        )
