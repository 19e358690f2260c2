"""Complete boto3 requests for CreateTrainingJob and CreateHyperParameterTuningJob, from one plan.

Field names and limits follow botocore's SageMaker service model. Names come from icflow.core.naming, S3
locations from icflow.core.layout, the image from icflow.algorithm.image_uris; the tags below identify the
dataset and the run and come back in SageMaker's state-change events (as a {"key": "value"} map).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from icflow.algorithm.hyperparameters import effective, require_complete
from icflow.algorithm.image_uris import image_uri
from icflow.algorithm.tuning import OBJECTIVE_METRIC, OBJECTIVE_TYPE, Strategy, TuningPlan, parameter_ranges
from icflow.core import layout, naming
from icflow.training.dataset_facts import InputFormat, channels_for
from icflow.training.image_lists import LISTED_IN

if TYPE_CHECKING:  # pydantic models stay out of the import, so the training-state function starts faster
    from icflow.core.pipeline_config import TrainingResources

CONTENT_TYPES = {
    InputFormat.RECORDIO: "application/x-recordio",
    InputFormat.IMAGE: "application/x-image",
    InputFormat.FOLDERS: "application/x-image",
}
MODEL_CHANNEL = "model"
MODEL_CONTENT_TYPE = "application/x-sagemaker-model"
INPUT_MODE = "File"  # the algorithm reads RecordIO and image files from disk; Pipe needs augmented manifests


@dataclass(frozen=True)
class TrainingPlan:
    """One run, decided: what to train on, how, and where. `hyperparameters` are complete and normalised
    (resolve_data_hyperparameters' output); `tuning` set means a tuning job instead of a training job."""

    dataset: str
    run_id: str
    bucket: str
    role_arn: str
    region: str
    input_format: InputFormat
    hyperparameters: dict[str, str]
    resources: TrainingResources
    tuning: TuningPlan | None = None
    base_model_url: str | None = None  # incremental training: the model.tar.gz the run starts from


def tags(dataset: str, run_id: str) -> list[dict[str, str]]:
    carried = {**naming.dataset_tags(dataset), naming.TAG_RUN_ID: run_id}
    return [{"Key": key, "Value": value} for key, value in carried.items()]


def _s3(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def _source(bucket: str, dataset: str, run_id: str, input_format: InputFormat, channel: str) -> tuple[str, str]:
    """(S3DataType, S3Uri) of a channel: the dataset's folder, or for class folders what the run prepared
    (icflow.training.class_folders): a manifest of the split's images, and the folder of its .lst file."""
    if input_format is not InputFormat.FOLDERS:
        return "S3Prefix", _s3(bucket, layout.channel_prefix(dataset, channel))
    if channel in (layout.TRAIN, layout.VALIDATION):
        return "ManifestFile", _s3(bucket, layout.prepared_manifest_key(dataset, run_id, channel))
    return "S3Prefix", _s3(bucket, layout.prepared_lst_prefix(dataset, run_id, LISTED_IN[channel]))


def input_data_config(bucket: str, dataset: str, run_id: str, input_format: InputFormat) -> list[dict[str, object]]:
    channels: list[dict[str, object]] = []
    for channel in channels_for(input_format):
        data_type, uri = _source(bucket, dataset, run_id, input_format, channel)
        channels.append(
            {
                "ChannelName": channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": data_type,
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": CONTENT_TYPES[input_format],
                "CompressionType": "None",
            }
        )
    return channels


def model_channel(model_url: str) -> dict[str, object]:
    """The algorithm's incremental-training input: a model it trained, as the compressed artifacts of its job."""
    return {
        "ChannelName": MODEL_CHANNEL,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": model_url, "S3DataDistributionType": "FullyReplicated"}
        },
        "ContentType": MODEL_CONTENT_TYPE,
        "CompressionType": "None",
    }


def _job_definition(plan: TrainingPlan) -> dict[str, object]:
    """What a training job and a tuning job's training definition share."""
    resources = plan.resources
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": resources.max_runtime_seconds}
    resource_config: dict[str, object] = {
        "InstanceType": resources.instance_type,
        "InstanceCount": resources.instance_count,
        "VolumeSizeInGB": resources.volume_size_gb,
    }
    if resources.keep_alive_seconds:
        resource_config["KeepAlivePeriodInSeconds"] = resources.keep_alive_seconds
    channels = input_data_config(plan.bucket, plan.dataset, plan.run_id, plan.input_format)
    if plan.base_model_url is not None:
        channels.append(model_channel(plan.base_model_url))
    definition: dict[str, object] = {
        "AlgorithmSpecification": {"TrainingImage": image_uri(plan.region), "TrainingInputMode": INPUT_MODE},
        "RoleArn": plan.role_arn,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": _s3(plan.bucket, layout.artifacts_prefix(plan.dataset))},
        "ResourceConfig": resource_config,
        "StoppingCondition": stopping,
    }

    if resources.managed_spot:
        assert resources.max_wait_seconds is not None
        stopping["MaxWaitTimeInSeconds"] = resources.max_wait_seconds
        definition["EnableManagedSpotTraining"] = True
        definition["CheckpointConfig"] = {
            "S3Uri": _s3(plan.bucket, layout.checkpoints_prefix(plan.dataset, plan.run_id))
        }
    return definition


def build_training_job_request(plan: TrainingPlan) -> dict[str, object]:
    """kwargs for sagemaker.create_training_job. Raises IcflowError for an unsupported region or
    incomplete hyperparameters."""
    require_complete(plan.hyperparameters)
    return {
        "TrainingJobName": naming.training_job_name(plan.dataset, plan.run_id),
        "HyperParameters": dict(plan.hyperparameters),
        **_job_definition(plan),
        "Tags": tags(plan.dataset, plan.run_id),
    }


def build_tuning_job_request(plan: TrainingPlan) -> dict[str, object]:
    """kwargs for sagemaker.create_hyper_parameter_tuning_job; needs `plan.tuning`. The tuned
    hyperparameters are left out of StaticHyperParameters."""
    if plan.tuning is None:
        raise ValueError("build_tuning_job_request needs a plan with tuning")
    require_complete(plan.hyperparameters)
    tuning = plan.tuning
    static = {name: value for name, value in plan.hyperparameters.items() if name not in tuning.tuned_names}
    config: dict[str, object] = {
        "Strategy": tuning.strategy.value,
        "HyperParameterTuningJobObjective": {"Type": OBJECTIVE_TYPE, "MetricName": OBJECTIVE_METRIC},
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": tuning.max_jobs,
            "MaxParallelTrainingJobs": tuning.max_parallel_jobs,
        },
        "ParameterRanges": parameter_ranges(tuning.ranges),
        "TrainingJobEarlyStoppingType": tuning.early_stopping.value,
    }
    if tuning.strategy is Strategy.HYPERBAND:
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {
                "MinResource": tuning.hyperband_min_epochs,
                "MaxResource": int(effective(static, "epochs") or 0),
            }
        }
    return {
        "HyperParameterTuningJobName": naming.tuning_job_name(plan.dataset, plan.run_id),
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": {"StaticHyperParameters": static, **_job_definition(plan)},
        "Tags": tags(plan.dataset, plan.run_id),
    }
