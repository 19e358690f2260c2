"""The dataset-upload use case on moto: waiting, starting once, rejecting, and what a new run is."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from icflow.core import layout, naming
from icflow.core.naming import TAG_DATASET, TAG_RUN_ID, TAG_STACK
from icflow.core.state import StateTable
from icflow.training.upload_events import UploadedObject, uploaded_objects

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
TRAIN = [index % 4 for index in range(40)]
VALIDATION = [index % 4 for index in range(8)]


def _upload(stack: Stack, key: str) -> UploadedObject:
    return UploadedObject(stack.bucket, key, "")


def _train_key() -> str:
    return f"{layout.channel_prefix(DATASET, layout.TRAIN)}part-0.rec"


def test_train_alone_waits_for_validation(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=_train_key(), Body=b"")
    outcome = stack.evaluate_dataset()(_upload(stack, _train_key()))

    assert outcome.action == "waiting"
    assert "validation/" in (outcome.reason or "")
    status = stack.latest_status(DATASET)
    assert status["status"] == "waiting" and status["waiting_for"] == [layout.VALIDATION]
    assert stack.training_jobs() == []


def test_both_channels_start_one_training_job_with_inferred_hyperparameters(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    outcome = stack.evaluate_dataset()(_upload(stack, _train_key()))

    assert outcome.action == "started"
    assert outcome.job_name == naming.training_job_name(DATASET, outcome.run_id)
    job = stack.client("sagemaker").describe_training_job(TrainingJobName=outcome.job_name)
    assert job["HyperParameters"]["num_training_samples"] == "40"
    assert job["HyperParameters"]["num_classes"] == "4"
    assert [channel["ChannelName"] for channel in job["InputDataConfig"]] == [layout.TRAIN, layout.VALIDATION]
    assert job["ResourceConfig"]["InstanceType"] == stack.settings.training_instance_type
    tags = {
        tag["Key"]: tag["Value"]
        for tag in stack.client("sagemaker").list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]
    }
    assert tags == {TAG_STACK: stack.settings.stack_name, TAG_DATASET: DATASET, TAG_RUN_ID: outcome.run_id}
    status = stack.latest_status(DATASET)
    assert status["status"] == "training" and status["job_name"] == outcome.job_name
    assert [change["status"] for change in status["history"]] == ["starting", "training"]
    # What the run's report shows: what icflow filled in, and the data it counted per class.
    assert status["inferred_hyperparameters"] == ["num_classes", "num_training_samples"]
    assert status["dataset_summary"] == {
        "records": {layout.TRAIN: 40, layout.VALIDATION: 8},
        "class_counts": {layout.TRAIN: dict.fromkeys("0123", 10), layout.VALIDATION: dict.fromkeys("0123", 2)},
        "class_names": [],
    }


def test_the_same_event_again_starts_nothing_new(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    evaluate = stack.evaluate_dataset()
    first = evaluate(_upload(stack, _train_key()))
    again = stack.evaluate_dataset()(_upload(stack, _train_key()))

    assert first.action == "started"
    assert again.run_id == first.run_id and again.action == "started"  # the saved outcome, not a second start
    assert stack.training_jobs() == [first.job_name]


def test_a_run_found_started_by_someone_else_is_not_started_again(stack: Stack, template: dict) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    first = stack.evaluate_dataset()(_upload(stack, _train_key()))
    # The idempotency record is gone (expired, or another stack's table): the run item still says started.
    stack.client("dynamodb").delete_table(TableName=stack.settings.idempotency_table)
    idempotency = template["Resources"]["IdempotencyTable"]["Properties"]
    stack.client("dynamodb").create_table(
        TableName=stack.settings.idempotency_table,
        AttributeDefinitions=idempotency["AttributeDefinitions"],
        KeySchema=idempotency["KeySchema"],
        BillingMode=idempotency["BillingMode"],
    )
    again = stack.evaluate_dataset()(_upload(stack, _train_key()))

    assert again.action == "already_started" and again.run_id == first.run_id
    assert stack.training_jobs() == [first.job_name]


def test_concurrent_deliveries_of_one_upload_start_exactly_one_job(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    event = stack.object_created(_train_key())
    created: list[str] = []

    def count_create(parsed: dict, **_: object) -> None:
        if "TrainingJobArn" in parsed:
            created.append(parsed["TrainingJobArn"])

    stack.session.events.register("after-call.sagemaker.CreateTrainingJob", count_create)
    # Each delivery is its own invocation with its own clients; clients are built up front because a boto3
    # session must not build clients from several threads at once.
    invocations = [stack.evaluate_dataset() for _ in range(16)]

    def deliver(evaluate: object) -> str:
        return evaluate(uploaded_objects(json.loads(json.dumps(event)))[0]).action  # type: ignore[operator]

    with ThreadPoolExecutor(max_workers=8) as pool:
        actions = list(pool.map(deliver, invocations, timeout=120))

    assert len(created) == 1
    assert len(stack.training_jobs()) == 1
    assert actions.count("started") >= 1
    assert set(actions) <= {"started", "already_started", "in_progress"}
    run = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    job = stack.training_jobs()[0]
    run_id = job.rsplit("-", 1)[1]
    assert [change["status"] for change in run.get_run(DATASET, run_id)["history"]] == ["starting", "training"]


def test_new_data_is_a_new_run(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    first = stack.evaluate_dataset()(_upload(stack, _train_key()))
    stack.put_recordio_dataset(DATASET, TRAIN + [0, 1, 2, 3], VALIDATION)
    second = stack.evaluate_dataset()(_upload(stack, _train_key()))

    assert second.action == "started" and second.run_id != first.run_id
    assert sorted(stack.training_jobs()) == sorted([first.job_name, second.job_name])


def test_new_configuration_is_a_new_run_and_tuning_when_asked(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    first = stack.evaluate_dataset()(_upload(stack, _train_key()))
    pipeline = {
        "hyperparameters": {"epochs": 3},
        "tuning": {
            "max_jobs": 4,
            "max_parallel_jobs": 2,
            "parameter_ranges": {"mini_batch_size": {"min": 8, "max": 32}},
        },
    }
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline))
    second = stack.evaluate_dataset()(_upload(stack, layout.pipeline_key(DATASET)))

    assert second.action == "started" and second.run_id != first.run_id
    assert second.job_name == naming.tuning_job_name(DATASET, second.run_id)
    tuning = stack.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=second.job_name)
    config = tuning["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2}
    assert tuning["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] == "3"
    assert stack.latest_status(DATASET)["status"] == "tuning"


def test_invalid_configuration_starts_nothing_and_says_why(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    stack.client("s3").put_object(
        Bucket=stack.bucket,
        Key=layout.pipeline_key(DATASET),
        Body=json.dumps({"hyperparameters": {"optimizer": "lion"}}),
    )
    queue = stack.subscribe_queue()
    outcome = stack.evaluate_dataset()(_upload(stack, layout.pipeline_key(DATASET)))

    assert outcome.action == "rejected"
    assert "optimizer" in (outcome.reason or "")
    assert stack.training_jobs() == []
    status = stack.latest_status(DATASET)
    assert status["status"] == "rejected" and "optimizer" in status["reason"]
    assert status["run_id"] == outcome.run_id and [change["status"] for change in status["history"]] == ["rejected"]
    notes = stack.notifications(queue)
    assert len(notes) == 1 and "optimizer" in notes[0]


def test_data_contradicting_the_configuration_is_a_rejected_run(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    stack.client("s3").put_object(
        Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps({"hyperparameters": {"num_classes": 10}})
    )
    queue = stack.subscribe_queue()
    evaluate = stack.evaluate_dataset()
    outcome = evaluate(_upload(stack, layout.pipeline_key(DATASET)))
    evaluate(_upload(stack, layout.pipeline_key(DATASET)))  # a duplicate delivery

    assert outcome.action == "rejected" and outcome.run_id
    assert "num_classes" in (outcome.reason or "")
    status = stack.latest_status(DATASET)
    assert status["status"] == "rejected" and status["run_id"] == outcome.run_id
    assert len(stack.notifications(queue)) == 1
    assert stack.training_jobs() == []


@pytest.mark.parametrize(
    ("event_file", "expected_key"),
    [
        ("s3_put_classic.json", "datasets/caltech256/validation/caltech-256-60-val.rec"),
        ("s3_put_key_with_spaces.json", "datasets/caltech256/train/caltech 256 part 1.rec"),
        ("s3_object_created_validation.json", "datasets/caltech256/validation/caltech-256-60-val.rec"),
        ("s3_object_created_pipeline.json", "datasets/caltech256/pipeline.json"),
    ],
)
def test_sample_upload_events_name_the_decoded_key(sample_event, event_file: str, expected_key: str) -> None:
    (upload,) = uploaded_objects(sample_event(event_file))
    assert upload.key == expected_key


def test_objects_outside_datasets_are_ignored(stack: Stack) -> None:
    outcome = stack.evaluate_dataset()(_upload(stack, "status/caltech256/latest.json"))
    assert outcome.action == "ignored"
    assert outcome.reason.startswith("status/caltech256/latest.json is not a dataset file icflow watches")


def test_objects_of_another_bucket_are_ignored_naming_both_buckets(stack: Stack) -> None:
    upload = UploadedObject(bucket="someone-elses", key="datasets/caltech256/train/a.rec", etag="0")
    outcome = stack.evaluate_dataset()(upload)
    assert outcome.action == "ignored"
    assert "in bucket someone-elses, not in this stack's bucket " + stack.bucket in outcome.reason


def test_image_datasets_train_on_four_image_channels(stack: Stack) -> None:
    s3 = stack.client("s3")
    for channel, count in ((layout.TRAIN, 40), (layout.VALIDATION, 4)):
        lines = []
        for index in range(count):
            key = f"{layout.channel_prefix(DATASET, channel)}class{index % 2}/img{index}.jpg"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=b"\xff\xd8jpeg")
            lines.append(f"{index}\t{index % 2}\tclass{index % 2}/img{index}.jpg\n")
        lst_channel = layout.TRAIN_LST if channel == layout.TRAIN else layout.VALIDATION_LST
        s3.put_object(
            Bucket=stack.bucket, Key=f"{layout.channel_prefix(DATASET, lst_channel)}{channel}.lst", Body="".join(lines)
        )

    outcome = stack.evaluate_dataset()(
        _upload(stack, f"{layout.channel_prefix(DATASET, layout.VALIDATION_LST)}validation.lst")
    )

    assert outcome.action == "started"
    job = stack.client("sagemaker").describe_training_job(TrainingJobName=outcome.job_name)
    assert {channel["ChannelName"] for channel in job["InputDataConfig"]} == set(layout.CHANNELS)
    assert {channel["ContentType"] for channel in job["InputDataConfig"]} == {"application/x-image"}
    assert job["HyperParameters"]["num_training_samples"] == "40" and job["HyperParameters"]["num_classes"] == "2"


def test_spot_and_distributed_training_from_pipeline_json(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    pipeline = {"training": {"managed_spot": True, "instance_count": 2}}
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=json.dumps(pipeline))

    outcome = stack.evaluate_dataset()(_upload(stack, layout.pipeline_key(DATASET)))

    job = stack.client("sagemaker").describe_training_job(TrainingJobName=outcome.job_name)
    assert job["ResourceConfig"]["InstanceCount"] == 2
    assert job["EnableManagedSpotTraining"] is True
    checkpoints = layout.checkpoints_prefix(DATASET, outcome.run_id)
    assert job["CheckpointConfig"]["S3Uri"] == f"s3://{stack.bucket}/{checkpoints}"
    assert job["StoppingCondition"]["MaxWaitTimeInSeconds"] >= job["StoppingCondition"]["MaxRuntimeInSeconds"]


def test_a_corrected_classes_txt_starts_the_run_it_blocked(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body="ant\nbee\ncat\n")
    blocked = stack.evaluate_dataset()(_upload(stack, layout.classes_key(DATASET)))
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body="ant\nbee\ncat\ndog\n")
    fixed = stack.evaluate_dataset()(_upload(stack, layout.classes_key(DATASET)))

    assert blocked.action == "rejected" and "class" in (blocked.reason or "")
    assert fixed.action == "started" and fixed.run_id == blocked.run_id
    history = [change["status"] for change in stack.latest_status(DATASET)["history"]]
    assert history == ["starting", "rejected", "starting", "training"]


def test_a_file_the_algorithm_cannot_read_rejects_the_dataset(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, TRAIN, VALIDATION)
    stray = f"{layout.channel_prefix(DATASET, layout.TRAIN)}notes.txt"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=stray, Body=b"remember the milk")

    outcome = stack.evaluate_dataset()(_upload(stack, stray))

    assert outcome.action == "rejected" and "notes.txt" in (outcome.reason or "")
    assert stack.training_jobs() == []
    assert "notes.txt" in stack.latest_status(DATASET)["reason"]


def _image_dataset(stack: Stack, uploaded: int) -> None:
    """.lst files listing 40 training and 4 validation images, of which the first `uploaded` of each exist."""
    s3 = stack.client("s3")
    for channel, lst_channel, count in (
        (layout.TRAIN, layout.TRAIN_LST, 40),
        (layout.VALIDATION, layout.VALIDATION_LST, 4),
    ):
        lines = [f"{index}\t{index % 2}\tclass{index % 2}/img{index}.jpg\n" for index in range(count)]
        s3.put_object(
            Bucket=stack.bucket, Key=f"{layout.channel_prefix(DATASET, lst_channel)}{channel}.lst", Body="".join(lines)
        )
        for index in range(min(uploaded, count)):
            key = f"{layout.channel_prefix(DATASET, channel)}class{index % 2}/img{index}.jpg"
            s3.put_object(Bucket=stack.bucket, Key=key, Body=b"\xff\xd8jpeg")


def test_an_image_dataset_waits_until_every_listed_image_is_there(stack: Stack) -> None:
    _image_dataset(stack, uploaded=1)
    evaluate = stack.evaluate_dataset()
    outcome = evaluate(_upload(stack, f"{layout.channel_prefix(DATASET, layout.TRAIN)}class0/img0.jpg"))
    assert outcome.action == "waiting"
    assert outcome.reason.startswith("waiting for 42 of the 44 images the .lst files list (datasets/caltech256/")
    assert stack.training_jobs() == []
    assert stack.latest_status(DATASET)["status"] == "waiting"

    _image_dataset(stack, uploaded=40)
    assert (
        evaluate(_upload(stack, f"{layout.channel_prefix(DATASET, layout.TRAIN)}class1/img9.jpg")).action == "started"
    )


def test_an_image_no_lst_lists_starts_no_new_run(stack: Stack) -> None:
    _image_dataset(stack, uploaded=40)
    evaluate = stack.evaluate_dataset()
    first = evaluate(_upload(stack, f"{layout.channel_prefix(DATASET, layout.TRAIN)}class0/img0.jpg"))
    extra = f"{layout.channel_prefix(DATASET, layout.TRAIN)}unlisted/stray.jpg"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=extra, Body=b"\xff\xd8jpeg")
    again = evaluate(_upload(stack, extra))
    # The same run: idempotency answers with its first outcome, and no second job starts.
    assert first.action == "started" and again.run_id == first.run_id
    assert len(stack.training_jobs()) == 1


def test_a_malformed_lst_rejects_the_run_naming_the_line(stack: Stack) -> None:
    _image_dataset(stack, uploaded=40)
    key = f"{layout.channel_prefix(DATASET, layout.TRAIN_LST)}train.lst"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=b"zero\t1\ta.jpg\n")
    outcome = stack.evaluate_dataset()(_upload(stack, key))
    assert outcome.action == "rejected" and "line 1 starts with 'zero'" in outcome.reason
