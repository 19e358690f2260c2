import pytest

from icflow.algorithm.hyperparameters import SPECS, require_complete, validate_hyperparameters
from icflow.core.errors import IcflowError


def problems_of(values: dict) -> list[str]:
    with pytest.raises(IcflowError) as caught:
        validate_hyperparameters(values)
    return list(caught.value.problems)


def test_the_notebook_hyperparameters_pass_and_come_back_as_api_strings():
    values = {
        "num_layers": 18,
        "image_shape": "3,224,224",
        "num_training_samples": "15420",
        "num_classes": 257,
        "mini_batch_size": 64,
        "epochs": 2,
        "learning_rate": 0.01,
    }
    assert validate_hyperparameters(values) == {
        "epochs": "2",
        "image_shape": "3,224,224",
        "learning_rate": "0.01",
        "mini_batch_size": "64",
        "num_classes": "257",
        "num_layers": "18",
        "num_training_samples": "15420",
    }


@pytest.mark.parametrize(
    ("name", "given", "sent"),
    [
        ("epochs", "12", "12"),
        ("epochs", 12, "12"),
        ("learning_rate", 1, "1.0"),
        ("learning_rate", "1e-3", "0.001"),
        ("eps", 1e-8, "1e-08"),
        ("multi_label", True, "1"),
        ("multi_label", "1", "1"),
        ("multi_label", 0, "0"),
        ("use_pretrained_model", "false", "0"),
        ("early_stopping", True, "True"),
        ("early_stopping", 1, "True"),
        ("early_stopping", "False", "False"),
        ("image_shape", "3, 32, 32", "3,32,32"),
        ("image_shape", [1, 28, 28], "1,28,28"),
        ("lr_scheduler_step", "10, 20", "10,20"),
        ("lr_scheduler_step", [5, 8], "5,8"),
        ("lr_scheduler_step", 7, "7"),
        ("num_layers", "110", "110"),
        ("precision_dtype", "float16", "float16"),
    ],
)
def test_values_are_normalised_the_same_whatever_json_type_they_arrive_as(name, given, sent):
    assert validate_hyperparameters({name: given})[name] == sent


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("epochs", 0, "a positive integer"),
        ("epochs", True, "a positive integer"),
        ("epochs", 2.0, "a positive integer"),
        ("epochs", "two", "a positive integer"),
        ("learning_rate", 1.5, "a number from 0 to 1"),
        ("learning_rate", "nan", "a number from 0 to 1"),
        ("learning_rate", None, "a number from 0 to 1"),
        ("multi_label", 2, "0 or 1"),
        ("early_stopping", "yes", "true or false"),
        ("optimizer", "Adam", "sgd, adam, rmsprop or nag"),
        ("num_layers", 19, "one of 18, 34"),
        ("image_shape", "224,224,3", "channels,height,width"),
        ("image_shape", "3,224", "channels,height,width"),
        ("lr_scheduler_step", "20,10", "increasing epochs"),
        ("lr_scheduler_step", "0", "increasing epochs"),
        ("kv_store", "local", "dist_sync or dist_async"),
        ("augmentation_type", "flip", "crop, crop_color or crop_color_transform"),
    ],
)
def test_a_bad_value_names_the_field_the_value_and_what_is_allowed(name, value, allowed):
    [problem] = problems_of({name: value})
    assert problem.startswith(f"{name}: ")
    assert allowed in problem


def test_unknown_names_get_a_suggestion():
    [problem] = problems_of({"learning_rat": 0.1})
    assert "unknown hyperparameter" in problem and "did you mean 'learning_rate'" in problem
    [problem] = problems_of({"zzz": 1})
    assert "did you mean" not in problem


def test_every_problem_is_listed_at_once():
    problems = problems_of({"epoch": 3, "learning_rate": 7, "optimizer": "lbfgs"})
    assert [p.split(":")[0] for p in problems] == ["epoch", "learning_rate", "optimizer"]


@pytest.mark.parametrize(
    ("values", "field", "hint"),
    [
        ({"checkpoint_frequency": 31}, "checkpoint_frequency", "more than epochs (30)"),
        ({"checkpoint_frequency": 5, "epochs": 4}, "checkpoint_frequency", "more than epochs (4)"),
        ({"lr_scheduler_step": "10,30"}, "lr_scheduler_step", "epoch 30"),
        ({"top_k": 1}, "top_k", "larger than 1"),
        ({"top_k": 5, "num_classes": 3}, "top_k", "more than num_classes (3)"),
        ({"mini_batch_size": 64, "num_training_samples": 10}, "mini_batch_size", "more than num_training_samples"),
        ({"use_weighted_loss": 1}, "use_weighted_loss", "multi_label"),
        ({"use_pretrained_model": 1, "num_layers": 20}, "num_layers", "no pretrained model"),
        ({"early_stopping_patience": 3}, "early_stopping_patience", "early_stopping"),
        ({"early_stopping": False, "early_stopping_tolerance": 0.1}, "early_stopping_tolerance", "early_stopping"),
        ({"resize": 200}, "resize", "at least 224"),
        ({"resize": 30, "image_shape": "3,32,28"}, "resize", "at least 32"),
    ],
)
def test_cross_field_rules(values, field, hint):
    [problem] = problems_of(values)
    assert problem.startswith(f"{field}: ") and hint in problem


def test_cross_field_rules_hold_when_satisfied():
    values = {
        "use_weighted_loss": 1,
        "multi_label": 1,
        "early_stopping": True,
        "early_stopping_patience": 3,
        "use_pretrained_model": 1,
        "num_layers": 50,
        "top_k": 3,
        "num_classes": 3,
        "resize": 256,
        "checkpoint_frequency": 30,
        "lr_scheduler_step": "10,20",
    }
    assert validate_hyperparameters(values)["use_weighted_loss"] == "1"


def test_a_bad_field_is_reported_once_not_again_by_the_rules_that_use_it():
    [problem] = problems_of({"epochs": -1, "checkpoint_frequency": 5})
    assert problem.startswith("epochs: ")


@pytest.mark.parametrize("spec", [spec for spec in SPECS.values() if spec.default is not None], ids=lambda s: s.name)
def test_every_documented_default_is_canonical_under_its_own_rule(spec):
    assert spec.parse(spec.default) == spec.default


def test_require_complete_names_the_missing_required_ones():
    with pytest.raises(IcflowError, match="num_classes: required"):
        require_complete({"num_training_samples": "10"})
    require_complete({"num_training_samples": "10", "num_classes": "2"})
