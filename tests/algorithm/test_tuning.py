import pytest

from icflow.algorithm.tuning import (
    DEFAULT_RANGES,
    EarlyStoppingType,
    RangeKind,
    RangeOverride,
    Scaling,
    Strategy,
    merge_ranges,
    parameter_ranges,
    plan_tuning,
)
from icflow.core.errors import IcflowError

HYPERPARAMETERS = {"num_classes": "10", "num_training_samples": "1000", "epochs": "12"}


def plan(**overrides):
    arguments = dict(
        strategy=Strategy.BAYESIAN,
        max_jobs=6,
        max_parallel_jobs=2,
        early_stopping=EarlyStoppingType.OFF,
        overrides={},
        hyperparameters=HYPERPARAMETERS,
    )
    arguments.update(overrides)
    return plan_tuning(**arguments)


def problems(**overrides) -> list[str]:
    with pytest.raises(IcflowError) as caught:
        plan(**overrides)
    return list(caught.value.problems)


def test_the_default_ranges_are_the_seed_notebooks():
    ranges = parameter_ranges(plan().ranges)
    continuous = {r["Name"]: (r["MinValue"], r["MaxValue"]) for r in ranges["ContinuousParameterRanges"]}
    assert continuous == {
        "beta_1": ("1e-06", "0.999"),
        "beta_2": ("1e-06", "0.999"),
        "eps": ("1e-08", "1.0"),
        "gamma": ("1e-08", "0.999"),
        "learning_rate": ("1e-06", "0.5"),
        "momentum": ("0.0", "0.999"),
        "weight_decay": ("0.0", "0.999"),
    }
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "mini_batch_size", "MinValue": "8", "MaxValue": "64", "ScalingType": "Auto"}
    ]
    assert ranges["CategoricalParameterRanges"] == []


def test_an_override_replaces_one_range_and_null_stops_tuning_a_parameter():
    tuned = plan(
        overrides={
            "learning_rate": RangeOverride(0.001, 0.1, scaling=Scaling.LOGARITHMIC),
            "optimizer": RangeOverride(values=("sgd", "adam")),
            "gamma": None,
        }
    )
    by_name = {r.name: r for r in tuned.ranges}
    assert "gamma" not in by_name
    assert (by_name["learning_rate"].min_value, by_name["learning_rate"].max_value) == (0.001, 0.1)
    assert by_name["learning_rate"].scaling is Scaling.LOGARITHMIC
    assert by_name["optimizer"].kind is RangeKind.CATEGORICAL and by_name["optimizer"].values == ("sgd", "adam")
    assert parameter_ranges(tuned.ranges)["CategoricalParameterRanges"] == [
        {"Name": "optimizer", "Values": ["sgd", "adam"]}
    ]


def test_a_fixed_hyperparameter_is_static_not_tuned():
    tuned = plan(hyperparameters={**HYPERPARAMETERS, "learning_rate": "0.05"})
    assert "learning_rate" not in tuned.tuned_names
    assert "momentum" in tuned.tuned_names


def test_fixing_and_tuning_the_same_hyperparameter_is_a_conflict():
    [problem] = problems(
        hyperparameters={**HYPERPARAMETERS, "learning_rate": "0.05"},
        overrides={"learning_rate": RangeOverride(0.001, 0.1)},
    )
    assert "learning_rate" in problem and "also fixed" in problem


@pytest.mark.parametrize(
    ("name", "override", "hint"),
    [
        ("learning_rate", RangeOverride(0.0, 0.9), "outside the documented bounds 1e-06..0.5"),
        ("mini_batch_size", RangeOverride(8, 1024), "outside the documented bounds 8..512"),
        ("mini_batch_size", RangeOverride(8.5, 64), "whole numbers"),
        ("momentum", RangeOverride(0.5, 0.1), "must be below max"),
        ("momentum", RangeOverride(0.5, None), "both min and max"),
        ("momentum", RangeOverride(0.0, 0.5, scaling=Scaling.LOGARITHMIC), "Logarithmic scaling needs min above 0"),
        ("mini_batch_size", RangeOverride(8, 64, scaling=Scaling.REVERSE_LOGARITHMIC), "only for continuous"),
        ("eps", RangeOverride(1e-8, 1.0, scaling=Scaling.REVERSE_LOGARITHMIC), "max < 1"),
        ("momentum", RangeOverride(values=("0.9",)), "numeric"),
        ("optimizer", RangeOverride(values=("sgd", "lbfgs")), "'lbfgs' not allowed"),
        ("optimizer", RangeOverride(0, 1), "categorical"),
        ("learning_rat", RangeOverride(0.01, 0.1), "did you mean 'learning_rate'"),
        ("epochs", RangeOverride(1, 10), "not a tunable hyperparameter"),
    ],
)
def test_bad_ranges_name_the_range_and_what_is_allowed(name, override, hint):
    found = problems(overrides={name: override})
    assert any(p.startswith(f"parameter_ranges.{name}") and hint in p for p in found), found


def test_every_range_problem_is_listed_at_once():
    found = problems(overrides={"learning_rate": RangeOverride(0.0, 0.9), "optimizer": RangeOverride(values=())})
    assert {p.split(":")[0] for p in found} == {"parameter_ranges.learning_rate", "parameter_ranges.optimizer.values"}


def test_mini_batch_range_must_fit_the_training_samples():
    [problem] = problems(hyperparameters={**HYPERPARAMETERS, "num_training_samples": "40"})
    assert "mini_batch_size" in problem and "40 training samples" in problem


def test_parallel_jobs_at_most_max_jobs():
    [problem] = problems(max_jobs=2, max_parallel_jobs=3)
    assert problem.startswith("max_parallel_jobs: 3")


def test_hyperband_needs_early_stopping_off_and_min_epochs_within_epochs():
    found = problems(strategy=Strategy.HYPERBAND, early_stopping=EarlyStoppingType.AUTO, hyperband_min_epochs=13)
    assert any(p.startswith("early_stopping:") for p in found)
    assert any(p.startswith("hyperband_min_epochs: 13 is more than epochs (12)") for p in found)


def test_nothing_left_to_tune_is_an_error():
    found = problems(overrides={name: None for name in DEFAULT_RANGES})
    assert any("nothing left to tune" in p for p in found)


def test_merge_ranges_keeps_defaults_untouched():
    assert merge_ranges({}) == DEFAULT_RANGES
    assert merge_ranges({"gamma": None}).keys() == DEFAULT_RANGES.keys() - {"gamma"}
