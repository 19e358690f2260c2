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
        (b"\xff\xfe", "is UTF-16 text; save it as UTF-8"),
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


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ('{"class_names": ["café"]}'.encode("latin-1"), "byte 0xe9 at offset 21 is not UTF-8, perhaps Latin-1"),
        ('{"deploy": {"top_k": 2}}'.encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
        (
            '{"deploy": {"top_k": 2}}'.encode("utf-16-le"),
            "has a NUL byte at offset 1, so it is UTF-16 or UTF-32 without a BOM",
        ),
        ('{"deploy": {"top_k": 2}}'.encode("utf-32"), "is UTF-32 text"),
    ],
)
def test_a_file_not_in_utf8_is_rejected_with_the_encoding_to_save_in(data, hint):
    [problem] = problems_of(data)
    assert hint in problem and problem.endswith("save it as UTF-8 (with or without BOM)")


@pytest.mark.parametrize("text", ['\ufeff{"deploy": {"top_k": 2}}', '\ufeff{"deploy": {"top_k": 2}}'.encode()])
def test_a_utf8_bom_is_read_as_classes_txt_reads_it(text):
    assert parse_pipeline_config(text).deploy.top_k == 2


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests arrays or objects thousands of levels deep"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nests arrays or objects thousands of levels deep"),
        ('{"hyperparameters": {"epochs": ' + "[" * 20 + "]" * 20 + "}}", "nests deeper than 16 levels"),
        ('{"training": {"instance_count": ' + "9" * 5000 + "}}", "the number 999999999999... has 5000 digits"),
        ('{"\\ud800": 1}', "\\ud800: the key is not Unicode text (a lone surrogate escape"),
        ('{"class_names": ["a\\udfff"]}', "class_names.0: the text is not Unicode"),
    ],
)
def test_json_no_setting_can_hold_is_rejected_not_crashed_on(text, hint):
    [problem] = problems_of(text)
    assert hint in problem
    problem.encode("utf-8")  # the reason itself is stored and sent: it must be UTF-8 text


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ('{"tuning": {"parameter_ranges": {"learning_rate": {"min": NaN, "max": 0.1}}}}', "learning_rate.min"),
        ('{"tuning": {"parameter_ranges": {"learning_rate": {"min": 0.01, "max": Infinity}}}}', "learning_rate.max"),
        ('{"tuning": {"parameter_ranges": {"mini_batch_size": {"min": 8, "max": Infinity}}}}', "mini_batch_size.max"),
        ('{"tuning": {"parameter_ranges": {"mini_batch_size": {"min": -Infinity, "max": 9}}}}', "mini_batch_size.min"),
        ('{"quality_gate": {"min_validation_accuracy": NaN}}', "quality_gate.min_validation_accuracy"),
        ('{"hyperparameters": {"learning_rate": NaN}}', "hyperparameters.learning_rate"),
        ('{"hyperparameters": {"epochs": 1e400}}', "hyperparameters.epochs"),
    ],
)
def test_nan_and_infinity_are_rejected_wherever_numbers_enter(document, field):
    [problem] = problems_of(document)
    assert field in problem.split(":")[0]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"training": {"instance_count": 10**20}},
            "training.instance_count: input should be less than or equal to 2147483647",
        ),
        (
            {"training": {"volume_size_gb": 99_999_999_999}},
            "training.volume_size_gb: input should be less than or equal to 16384",
        ),
        (
            {"training": {"max_wait_seconds": 10**20}},
            "training.max_wait_seconds: input should be less than or equal to",
        ),
        ({"deploy": {"realtime": {"instance_count": 10**12}}}, "deploy.realtime.instance_count: input should be less"),
        ({"deploy": {"batch": {"instance_count": 10**12}}}, "deploy.batch.instance_count: input should be less"),
        ({"deploy": {"top_k": 10**12}}, "deploy.top_k: input should be less"),
        (
            {"hyperparameters": {"epochs": 10**30}},
            "hyperparameters.epochs: 1000000000000000000000000000000 is not allowed; expected a positive integer (at most 2147483647)",
        ),
        ({"hyperparameters": {"mini_batch_size": "99999999999"}}, "expected a positive integer (at most 2147483647)"),
        ({"tuning": {"max_jobs": 10**6}}, "tuning.max_jobs: input should be less than or equal to 10000"),
        (
            {"tuning": {"max_jobs": 751}},
            "tuning.max_jobs: 751 is more than the 750 training jobs SageMaker runs per Bayesian",
        ),
        (
            {"tuning": {"max_jobs": 200, "max_parallel_jobs": 101}},
            "tuning.max_parallel_jobs: input should be less than or equal to 100",
        ),
    ],
)
def test_numbers_beyond_sagemakers_limits_are_rejected_when_the_file_is_read(document, expected):
    [problem] = problems_of(document)
    assert expected in problem


def test_the_random_strategy_may_run_up_to_ten_thousand_trials():
    tuning = parse_pipeline_config('{"tuning": {"strategy": "Random", "max_jobs": 10000, "max_parallel_jobs": 100}}')
    assert (tuning.tuning.max_jobs, tuning.tuning.max_parallel_jobs) == (10_000, 100)


def test_a_long_value_is_quoted_short_in_the_message():
    [problem] = problems_of({"hyperparameters": {"epochs": "9" * 3000}})
    assert len(problem) < 200 and "(3002 characters)" in problem


def test_batch_instance_count_above_max_instances_is_refused_naming_both():
    [problem] = problems_of({"deploy": {"batch": {"instance_count": 8, "max_instances": 4}}})
    assert problem.startswith("deploy.batch.instance_count: 8 is more than max_instances (4); give one of them")
    assert problems_of({"deploy": {"batch": {"max_instances": 0}}}) == [
        "deploy.batch.max_instances: input should be greater than or equal to 1 (got 0)"
    ]
    # An explicit count beyond the default cap is the user's choice: the cap applies to icflow's rule.
    assert parse_pipeline_config('{"deploy": {"batch": {"instance_count": 8}}}').deploy.batch.instance_count == 8


def test_batch_max_images_defaults_to_100_and_takes_0_to_1000() -> None:
    assert PipelineConfig().deploy.realtime.batch_max_images == 100
    for allowed in (0, 1000):
        document = json.dumps({"deploy": {"realtime": {"batch_max_images": allowed}}}).encode()
        assert parse_pipeline_config(document).deploy.realtime.batch_max_images == allowed
    assert problems_of({"deploy": {"realtime": {"batch_max_images": -1}}}) == [
        "deploy.realtime.batch_max_images: input should be greater than or equal to 0 (got -1)"
    ]
    assert problems_of({"deploy": {"realtime": {"batch_max_images": 1001}}}) == [
        "deploy.realtime.batch_max_images: input should be less than or equal to 1000 (got 1001)"
    ]


def test_autoscaling_bounds_are_checked_against_each_other_and_the_instance_count():
    config = parse_pipeline_config('{"deploy": {"realtime": {"enabled": true, "autoscaling": {"max_instances": 5}}}}')
    scaling = config.deploy.realtime.autoscaling
    assert (scaling.min_instances, scaling.max_instances, scaling.target_invocations_per_instance) == (1, 5, 300)
    assert parse_pipeline_config("{}").deploy.realtime.autoscaling is None
    [problem] = problems_of({"deploy": {"realtime": {"autoscaling": {"min_instances": 3, "max_instances": 2}}}})
    assert problem.startswith("deploy.realtime.autoscaling.min_instances: 3 is more than max_instances (2)")
    [problem] = problems_of({"deploy": {"realtime": {"instance_count": 6, "autoscaling": {"max_instances": 4}}}})
    assert problem.startswith("deploy.realtime.instance_count: 6 is outside autoscaling's 1 to 4 instances")
    assert problems_of({"deploy": {"realtime": {"autoscaling": {"target_invocations_per_instance": 0}}}}) == [
        "deploy.realtime.autoscaling.target_invocations_per_instance: input should be greater than or equal to 1 "
        "(got 0)"
    ]
