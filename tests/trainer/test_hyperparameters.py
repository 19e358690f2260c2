from dataclasses import fields

import pytest

from icflow.algorithm.hyperparameters import SPECS
from icflow_tools.trainer.api import ClientError
from icflow_tools.trainer.hyperparameters import Hyperparameters, ImageShape, parse_hyperparameters

REQUIRED = {"num_classes": "10", "num_training_samples": "100"}


def parse(**values: str):
    return parse_hyperparameters({**REQUIRED, **values})


def test_defaults_are_the_documented_ones():
    hp = parse()
    assert (hp.num_layers, hp.image_shape, hp.epochs, hp.mini_batch_size) == (152, ImageShape(3, 224, 224), 30, 32)
    assert (hp.optimizer, hp.learning_rate, hp.momentum, hp.weight_decay) == ("sgd", 0.1, 0.9, 0.0001)
    assert (hp.beta_1, hp.beta_2, hp.eps, hp.gamma) == (0.9, 0.999, 1e-8, 0.9)
    assert (hp.lr_scheduler_factor, hp.lr_scheduler_step) == (0.1, None)
    assert (hp.early_stopping, hp.early_stopping_min_epochs, hp.early_stopping_patience) == (False, 10, 5)
    assert hp.early_stopping_tolerance == 0.0
    assert (hp.augmentation_type, hp.resize, hp.top_k, hp.checkpoint_frequency, hp.kv_store) == (None,) * 5
    assert (hp.multi_label, hp.use_weighted_loss, hp.use_pretrained_model, hp.precision_dtype) == (
        False,
        False,
        False,
        "float32",
    )


def test_the_typed_view_has_one_field_per_specified_hyperparameter():
    assert {field.name for field in fields(Hyperparameters)} == set(SPECS)


@pytest.mark.parametrize("name", [name for name, spec in SPECS.items() if not spec.required])
def test_an_absent_hyperparameter_takes_the_specification_default(name):
    default = SPECS[name].default
    expected = None if default is None else getattr(parse(**{name: default}), name)
    assert getattr(parse(), name) == expected


def test_icflow_only_rules_are_not_the_algorithm_ones():
    # icflow refuses early_stopping_* without early_stopping before it starts a job; the algorithm accepts it
    hp = parse(early_stopping_patience="3", use_weighted_loss="1")
    assert (hp.early_stopping, hp.early_stopping_patience, hp.use_weighted_loss) == (False, 3, True)


def test_string_values_are_typed():
    hp = parse(
        num_layers="20",
        image_shape="1, 28, 28",
        resize="32",
        lr_scheduler_step="10, 20",
        early_stopping="True",
        multi_label="1",
        optimizer="adam",
        eps="1e-7",
        top_k="3",
        kv_store="dist_sync",
        precision_dtype="float16",
    )
    assert hp.num_layers == 20 and hp.image_shape == ImageShape(1, 28, 28) and hp.resize == 32
    assert hp.lr_scheduler_step == (10, 20) and hp.early_stopping and hp.multi_label
    assert (hp.optimizer, hp.eps, hp.top_k, hp.kv_store, hp.precision_dtype) == (
        "adam",
        1e-7,
        3,
        "dist_sync",
        "float16",
    )


def test_sagemaker_own_entries_are_ignored():
    hp = parse(_tuning_objective_metric="validation:accuracy", sagemaker_region="us-east-1")
    assert hp.num_classes == 10


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("num_layers", "19", "one of 18, 34, 50, 101, 152, 200 (large images) or 20, 32, 44, 56, 110"),
        ("image_shape", "3,416", '"channels,height,width"'),
        ("image_shape", "4,32,32", "with 1 or 3 channels"),
        ("epochs", "0", "a positive integer"),
        ("mini_batch_size", "32.0", "a positive integer"),
        ("learning_rate", "1.5", "a number from 0 to 1"),
        ("momentum", "nan", "a number from 0 to 1"),
        ("optimizer", "adagrad", "sgd, adam, rmsprop or nag"),
        ("augmentation_type", "rotate", "crop, crop_color or crop_color_transform"),
        ("top_k", "1", "a positive integer larger than 1"),
        ("multi_label", "yes", "0 or 1"),
        ("early_stopping", "maybe", "true or false"),
        ("lr_scheduler_step", "20,10", "increasing epochs"),
        ("lr_scheduler_step", "10;20", "increasing epochs separated by commas"),
        ("precision_dtype", "bfloat16", "float32 or float16"),
        ("kv_store", "nccl", "dist_sync or dist_async"),
    ],
)
def test_invalid_values_are_rejected_naming_the_hyperparameter_and_what_it_expects(name, value, expected):
    with pytest.raises(ClientError) as raised:
        parse(**{name: value})
    message = str(raised.value)
    assert f"The value '{value}' is not valid for the '{name}' hyperparameter" in message
    assert expected in message


def test_missing_required_hyperparameters_are_named():
    with pytest.raises(ClientError, match="No value\\(s\\) were specified for 'num_training_samples'"):
        parse_hyperparameters({"num_classes": "2"})


def test_unknown_hyperparameters_are_rejected():
    with pytest.raises(
        ClientError, match="Additional hyperparameters are not allowed \\('num_epochs' was unexpected\\)"
    ):
        parse(num_epochs="3")


def test_checkpoint_frequency_may_not_exceed_epochs():
    assert parse(epochs="5", checkpoint_frequency="5").checkpoint_frequency == 5
    with pytest.raises(ClientError, match="no greater than epochs \\(5\\)"):
        parse(epochs="5", checkpoint_frequency="6")


def test_top_k_may_not_exceed_the_classes():
    with pytest.raises(ClientError, match="at most num_classes \\(10\\)"):
        parse(top_k="11")


def test_pretrained_model_fails_with_what_to_do():
    with pytest.raises(
        ClientError, match="no.*pretrained weights|pretrained weights, which do not exist offline"
    ) as raised:
        parse(use_pretrained_model="1")
    assert "set use_pretrained_model to 0" in str(raised.value)
