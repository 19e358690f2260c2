import functools
import re
from dataclasses import replace

import botocore.session
import pytest
from botocore.validate import validate_parameters

from icflow.algorithm.tuning import Strategy
from icflow.core.errors import IcflowError
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID
from icflow.core.pipeline_config import parse_pipeline_config, resolve_training_resources
from icflow.training.dataset_facts import InputFormat
from icflow.training.training_request import (
    TrainingPlan,
    build_training_job_request,
    build_tuning_job_request,
)
from support.environment import stack_defaults

HYPERPARAMETERS = {"num_classes": "257", "num_training_samples": "15420", "epochs": "2", "num_layers": "18"}


DEFAULTS = stack_defaults()
ROLE = "arn:aws:iam::123456789012:role/icflow-sagemaker"
RUN = "0123456789ab"


@functools.cache
def sagemaker_input_shape(operation: str):
    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model(operation).input_shape


def plan(pipeline_json: str = "{}", input_format=InputFormat.RECORDIO, hyperparameters=None, region="us-east-1"):
    config = parse_pipeline_config(pipeline_json)
    hyperparameters = {**HYPERPARAMETERS, **config.hyperparameters, **(hyperparameters or {})}
    tuning = config.tuning.plan(hyperparameters) if config.tuning_enabled else None
    return TrainingPlan(
        dataset="caltech_256",
        run_id=RUN,
        bucket="icflow-data",
        role_arn=ROLE,
        region=region,
        input_format=input_format,
        hyperparameters=hyperparameters,
        resources=resolve_training_resources(DEFAULTS, config),
        tuning=tuning,
    )


def assert_valid(request: dict, operation: str) -> None:
    validate_parameters(request, sagemaker_input_shape(operation))  # raises ParamValidationError


def test_a_recordio_training_job_request_is_complete_and_valid():
    request = build_training_job_request(plan())
    assert_valid(request, "CreateTrainingJob")
    assert re.fullmatch(r"icflow-caltech-256-[0-9a-f]{6}-0123456789ab", request["TrainingJobName"])
    assert request["HyperParameters"] == HYPERPARAMETERS
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": "811284229777.dkr.ecr.us-east-1.amazonaws.com/image-classification:1",
        "TrainingInputMode": "File",
    }
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    assert set(channels) == {"train", "validation"}
    assert channels["train"]["ContentType"] == "application/x-recordio"
    assert channels["validation"]["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix",
        "S3Uri": "s3://icflow-data/datasets/caltech_256/validation/",
        "S3DataDistributionType": "FullyReplicated",
    }
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://icflow-data/artifacts/caltech_256/"}
    assert request["ResourceConfig"] == {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 36000}
    assert "EnableManagedSpotTraining" not in request and "CheckpointConfig" not in request
    assert request["Tags"] == [{"Key": TAG_DATASET, "Value": "caltech_256"}, {"Key": TAG_RUN_ID, "Value": RUN}]


def test_the_image_format_has_four_channels_of_images_and_lists():
    request = build_training_job_request(plan(input_format=InputFormat.IMAGE))
    assert_valid(request, "CreateTrainingJob")
    assert [(c["ChannelName"], c["ContentType"]) for c in request["InputDataConfig"]] == [
        ("train", "application/x-image"),
        ("validation", "application/x-image"),
        ("train_lst", "application/x-image"),
        ("validation_lst", "application/x-image"),
    ]
    assert request["InputDataConfig"][2]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://icflow-data/datasets/caltech_256/train_lst/"
    )


def test_managed_spot_waits_longer_and_checkpoints_under_the_run():
    request = build_training_job_request(plan('{"training": {"managed_spot": true, "instance_count": 2}}'))
    assert_valid(request, "CreateTrainingJob")
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 36000, "MaxWaitTimeInSeconds": 72000}
    assert request["CheckpointConfig"] == {"S3Uri": f"s3://icflow-data/checkpoints/caltech_256/{RUN}/"}
    assert request["ResourceConfig"]["InstanceCount"] == 2


def test_the_region_picks_the_image_and_an_unknown_region_is_refused():
    request = build_training_job_request(plan(region="cn-north-1"))
    assert request["AlgorithmSpecification"]["TrainingImage"].startswith(
        "390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/"
    )
    with pytest.raises(IcflowError, match="not available in region"):
        build_training_job_request(plan(region="xx-east-9"))


def test_incomplete_hyperparameters_are_refused():
    incomplete = plan()
    del incomplete.hyperparameters["num_classes"]
    with pytest.raises(IcflowError, match="num_classes: required"):
        build_training_job_request(incomplete)


def test_a_tuning_job_request_is_complete_and_valid_with_the_seed_defaults():
    request = build_tuning_job_request(plan('{"tuning": {}}'))
    assert_valid(request, "CreateHyperParameterTuningJob")
    assert len(request["HyperParameterTuningJobName"]) <= 32
    assert request["HyperParameterTuningJobName"].endswith(RUN)
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:accuracy"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}
    assert config["TrainingJobEarlyStoppingType"] == "Off" and "StrategyConfig" not in config
    tuned = {r["Name"] for kind in config["ParameterRanges"].values() for r in kind}
    assert tuned == {"beta_1", "beta_2", "eps", "gamma", "learning_rate", "momentum", "weight_decay", "mini_batch_size"}
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == HYPERPARAMETERS
    assert not tuned & definition["StaticHyperParameters"].keys()
    assert definition["OutputDataConfig"] == {"S3OutputPath": "s3://icflow-data/artifacts/caltech_256/"}
    assert request["Tags"] == [{"Key": TAG_DATASET, "Value": "caltech_256"}, {"Key": TAG_RUN_ID, "Value": RUN}]


def test_fixed_hyperparameters_stay_static_and_tuned_ones_leave_the_statics():
    request = build_tuning_job_request(
        plan(
            '{"hyperparameters": {"learning_rate": 0.05}, '
            '"tuning": {"parameter_ranges": {"optimizer": {"values": ["sgd", "adam"]}}}}'
        )
    )
    assert_valid(request, "CreateHyperParameterTuningJob")
    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["learning_rate"] == "0.05" and "optimizer" not in static
    ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["CategoricalParameterRanges"] == [{"Name": "optimizer", "Values": ["sgd", "adam"]}]
    assert "learning_rate" not in {r["Name"] for r in ranges["ContinuousParameterRanges"]}


def test_hyperband_gets_its_strategy_config_from_epochs():
    request = build_tuning_job_request(
        plan(
            '{"hyperparameters": {"epochs": 20}, "tuning": {"strategy": "Hyperband", '
            '"hyperband_min_epochs": 3, "max_jobs": 10, "max_parallel_jobs": 5}}'
        )
    )
    assert_valid(request, "CreateHyperParameterTuningJob")
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == Strategy.HYPERBAND.value
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {"MinResource": 3, "MaxResource": 20}}
    assert config["TrainingJobEarlyStoppingType"] == "Off"


def test_tuning_with_managed_spot_checkpoints_too():
    request = build_tuning_job_request(
        plan('{"tuning": {"early_stopping": "Auto"}, "training": {"managed_spot": true}}')
    )
    assert_valid(request, "CreateHyperParameterTuningJob")
    definition = request["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True and "CheckpointConfig" in definition
    assert request["HyperParameterTuningJobConfig"]["TrainingJobEarlyStoppingType"] == "Auto"


def test_a_tuning_request_needs_a_tuning_plan():
    with pytest.raises(ValueError):
        build_tuning_job_request(plan())


def test_class_folders_train_on_the_runs_prepared_manifests_and_lists():
    request = build_training_job_request(plan(input_format=InputFormat.FOLDERS))
    assert_valid(request, "CreateTrainingJob")
    prepared = f"s3://icflow-data/prepared/caltech_256/{RUN}/"
    assert [
        (
            c["ChannelName"],
            c["ContentType"],
            c["DataSource"]["S3DataSource"]["S3DataType"],
            c["DataSource"]["S3DataSource"]["S3Uri"],
        )
        for c in request["InputDataConfig"]
    ] == [
        ("train", "application/x-image", "ManifestFile", f"{prepared}train.manifest"),
        ("validation", "application/x-image", "ManifestFile", f"{prepared}validation.manifest"),
        ("train_lst", "application/x-image", "S3Prefix", f"{prepared}train_lst/"),
        ("validation_lst", "application/x-image", "S3Prefix", f"{prepared}validation_lst/"),
    ]


def test_an_incremental_run_adds_the_model_channel_and_a_warm_pool_keeps_its_instances():
    url = "s3://icflow-data/artifacts/caltech_256/icflow-caltech-256-0000000000aa/output/model.tar.gz"
    request = build_training_job_request(replace(plan('{"training": {"keep_alive_seconds": 900}}'), base_model_url=url))
    assert_valid(request, "CreateTrainingJob")
    assert request["InputDataConfig"][-1] == {
        "ChannelName": "model",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": url, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": "application/x-sagemaker-model",
        "CompressionType": "None",
    }
    assert request["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 900
    tuned = plan('{"tuning": {}, "training": {"keep_alive_seconds": 900}}')
    tuning = build_tuning_job_request(replace(tuned, base_model_url=url))
    assert_valid(tuning, "CreateHyperParameterTuningJob")
    definition = tuning["TrainingJobDefinition"]
    assert definition["InputDataConfig"][-1]["ChannelName"] == "model"
    assert definition["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 900
