import json

import pytest

from icflow.algorithm.tuning import EarlyStoppingType, Strategy
from icflow.core.errors import IcflowError
from icflow.core.pipeline_config import PipelineConfig, parse_pipeline_config, resolve_training_resources
from support.environment import stack_defaults

DEFAULTS = stack_defaults()


def problems_of(document) -> list[str]:
    text = document if isinstance(document, (str, bytes)) else json.dumps(document)
    with pytest.raises(IcflowError) as caught:
        parse_pipeline_config(text)
    return list(caught.value.problems)


@pytest.mark.parametrize("text", [None, "{}", b"{}", "  {\n}\n"])
def test_no_file_or_an_empty_object_means_all_defaults(text):
    config = parse_pipeline_config(text)
    assert config == PipelineConfig()
    assert config.hyperparameters == {} and not config.tuning_enabled
    assert config.deploy.realtime.enabled is False and config.deploy.top_k == 3
    assert config.quality_gate.min_validation_accuracy is None and config.class_names is None


def test_hyperparameters_come_back_normalised():
    config = parse_pipeline_config('{"hyperparameters": {"epochs": "5", "multi_label": true, "eps": 1e-8}}')
    assert config.hyperparameters == {"epochs": "5", "eps": "1e-08", "multi_label": "1"}


def test_tuning_is_on_when_the_section_is_present_unless_disabled():
    assert parse_pipeline_config('{"tuning": {}}').tuning_enabled
    assert not parse_pipeline_config('{"tuning": {"enabled": false}}').tuning_enabled
    tuning = parse_pipeline_config('{"tuning": {"strategy": "Hyperband", "hyperband_min_epochs": 2}}').tuning
    assert tuning.strategy is Strategy.HYPERBAND and tuning.early_stopping is EarlyStoppingType.OFF
    assert (tuning.max_jobs, tuning.max_parallel_jobs) == (6, 2)


def test_every_problem_is_listed_with_its_field_path():
    found = problems_of(
        {
            "hyperparameters": {"epoch": 5, "learning_rate": 2},
            "trainng": {},
            "training": {"instance_count": "2", "instanse_type": "ml.p3.2xlarge", "max_runtime_seconds": 0},
            "tuning": {"strategy": "Grid", "max_jobs": 2, "max_parallel_jobs": 3},
            "quality_gate": {"min_validation_accuracy": 1.5},
            "class_names": ["a", "a"],
            "deploy": {"realtime": {"enabled": 1}, "top_k": 0},
        }
    )
    fields = sorted(problem.split(":")[0] for problem in found)
    assert fields == sorted(
        [
            "hyperparameters.epoch",
            "hyperparameters.learning_rate",
            "training.instance_count",
            "training.instanse_type",
            "training.max_runtime_seconds",
            "tuning.strategy",
            "quality_gate.min_validation_accuracy",
            "class_names",
            "deploy.realtime.enabled",
            "deploy.top_k",
            "trainng",
        ]
    ), found


def test_unknown_fields_get_a_suggestion_and_the_allowed_names():
    [problem] = problems_of({"training": {"instanse_type": "ml.p3.2xlarge"}})
    assert "did you mean 'instance_type'" in problem and "allowed here: instance_type, instance_count" in problem
    [problem] = problems_of({"deploy": {"realtime": {"blue_gren": True}}})
    assert problem.startswith("deploy.realtime.blue_gren: unknown field (did you mean 'blue_green'?)")
    [problem] = problems_of({"tuning": {"parameter_ranges": {"learning_rate": {"mn": 0.1}}}})
    assert problem.startswith("tuning.parameter_ranges.learning_rate.mn: unknown field")
    assert "allowed here: min, max, values, scaling" in problem


def test_strict_types_no_silent_coercion():
    found = problems_of({"training": {"managed_spot": "true", "volume_size_gb": 50.0}, "deploy": {"top_k": True}})
    by_field = {p.split(":")[0]: p for p in found}
    assert sorted(by_field) == ["deploy.top_k", "training.managed_spot", "training.volume_size_gb"]
    assert 'got "true"' in by_field["training.managed_spot"]


def test_tuning_ranges_are_checked_when_the_file_is_read():
    found = problems_of(
        {"tuning": {"parameter_ranges": {"learning_rate": {"min": 0, "max": 0.9}, "optimizer": {"values": ["adamw"]}}}}
    )
    assert any(p.startswith("tuning.parameter_ranges.learning_rate: 0.0..0.9 is outside") for p in found)
    assert any(p.startswith("tuning.parameter_ranges.optimizer.values: 'adamw' not allowed") for p in found)


def test_hyperband_rules_in_the_file():
    found = problems_of({"tuning": {"strategy": "Hyperband", "early_stopping": "Auto"}})
    assert found == ["tuning.early_stopping: must be Off with the Hyperband strategy, which stops trials itself"]
    found = problems_of({"tuning": {"hyperband_min_epochs": 3}})
    assert found[0].startswith("tuning.hyperband_min_epochs: applies only to the Hyperband strategy")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("{bad json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (b"\xff\xfe", "not valid JSON"),
        ('"text"', "expected a JSON object"),
    ],
)
def test_not_a_json_object(text, hint):
    [problem] = problems_of(text)
    assert hint in problem


def test_class_names_must_be_unique_and_non_empty():
    assert parse_pipeline_config('{"class_names": ["cat", "dog"]}').class_names == ["cat", "dog"]
    assert "appears twice" in problems_of({"class_names": ["cat", "cat"]})[0]
    assert problems_of({"class_names": []})[0].startswith("class_names: give at least one name")
    assert problems_of({"class_names": ["cat", ""]})[0].startswith("class_names.1:")


def test_the_error_message_lists_every_problem_for_the_user():
    with pytest.raises(IcflowError) as caught:
        parse_pipeline_config('{"hyperparameters": {"epochs": 0}, "training": {"instance_count": 0}}')
    message = str(caught.value)
    assert message.startswith("pipeline.json: 2 problems")
    assert "- hyperparameters.epochs: 0 is not allowed; expected a positive integer" in message
    assert "- training.instance_count:" in message


def test_training_resources_default_to_the_stack():
    resources = resolve_training_resources(DEFAULTS, parse_pipeline_config(None))
    assert (resources.instance_type, resources.instance_count, resources.volume_size_gb) == ("ml.p3.2xlarge", 1, 50)
    assert (resources.max_runtime_seconds, resources.managed_spot, resources.max_wait_seconds) == (36000, False, None)


def test_pipeline_json_overrides_the_stack_and_spot_waits_twice_the_runtime_by_default():
    config = parse_pipeline_config(
        '{"training": {"instance_count": 2, "managed_spot": true, '
        '"max_runtime_seconds": 600, "instance_type": "ml.g5.xlarge"}}'
    )
    resources = resolve_training_resources(DEFAULTS, config)
    assert (resources.instance_type, resources.instance_count) == ("ml.g5.xlarge", 2)
    assert (resources.managed_spot, resources.max_runtime_seconds, resources.max_wait_seconds) == (True, 600, 1200)


def test_spot_from_the_stack_and_an_explicit_wait():
    spot_stack = stack_defaults(max_runtime_seconds=3600, managed_spot=True)
    config = parse_pipeline_config('{"training": {"max_wait_seconds": 4000}}')
    assert resolve_training_resources(spot_stack, config).max_wait_seconds == 4000
    off = parse_pipeline_config('{"training": {"managed_spot": false}}')
    assert resolve_training_resources(spot_stack, off).max_wait_seconds is None


@pytest.mark.parametrize(
    ("defaults", "document", "hint"),
    [
        (
            stack_defaults(max_runtime_seconds=3600, managed_spot=True),
            {"training": {"max_wait_seconds": 100}},
            "less than the maximum runtime",
        ),
        (DEFAULTS, {"training": {"max_wait_seconds": 100000}}, "applies only with managed spot"),
    ],
)
def test_inconsistent_spot_settings(defaults, document, hint):
    with pytest.raises(IcflowError, match=hint):
        resolve_training_resources(defaults, parse_pipeline_config(json.dumps(document)))


def test_max_wait_with_spot_explicitly_off_is_rejected_in_the_file():
    [problem] = problems_of({"training": {"managed_spot": False, "max_wait_seconds": 100}})
    assert problem.startswith("training.max_wait_seconds: applies only with managed spot training")


def test_an_instance_type_must_look_like_one():
    [problem] = problems_of({"training": {"instance_type": "p3.2xlarge"}})
    assert problem == 'training.instance_type: expected an instance type such as ml.p3.2xlarge (got "p3.2xlarge")'


def test_tuning_is_checked_against_the_fixed_hyperparameters_when_the_file_is_read():
    found = problems_of(
        {
            "hyperparameters": {"learning_rate": 0.05, "epochs": 4},
            "tuning": {
                "strategy": "Hyperband",
                "hyperband_min_epochs": 5,
                "parameter_ranges": {"learning_rate": {"min": 0.01, "max": 0.1}},
            },
        }
    )
    assert sorted(found) == [
        "tuning.hyperband_min_epochs: 5 is more than epochs (4)",
        "tuning.parameter_ranges.learning_rate: learning_rate is also fixed in hyperparameters (0.05); "
        "remove one of the two",
    ]


def test_concurrent_transforms_are_refused_beyond_what_sagemaker_accepts():
    # SageMaker refuses MaxConcurrentTransforms * MaxPayloadInMB over 100, and icflow sends 6 MB records.
    assert parse_pipeline_config(json.dumps({"deploy": {"batch": {"max_concurrent_transforms": 16}}})).deploy
    with pytest.raises(
        IcflowError, match="deploy.batch.max_concurrent_transforms: input should be less than or equal to 16"
    ):
        parse_pipeline_config(json.dumps({"deploy": {"batch": {"max_concurrent_transforms": 100}}}))
