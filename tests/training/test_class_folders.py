"""A dataset of class folders on moto: one upload of folders starts one job on lists icflow prepared, and
whatever cannot train is left out with its reason, or rejects the run saying what to do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from icflow.core import layout, naming
from icflow.core.class_names import FROM_CLASS_FOLDERS, ClassNames, load_class_names
from icflow.core.pipeline_config import SplitSettings
from icflow.training.class_split import validation_count
from icflow.training.upload_events import UploadedObject
from support.serving import jpeg

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "my photos"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _put(stack: Stack, relative: str, body: bytes) -> str:
    key = f"{layout.images_prefix(DATASET)}{relative}"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=body)
    return key


def _folders(stack: Stack, counts: dict[str, int]) -> list[str]:
    """The images, and a pipeline.json whose batch fits these few."""
    pipeline = json.dumps({"hyperparameters": {"mini_batch_size": 2, "epochs": 1}}).encode()
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=pipeline)
    return [
        _put(stack, f"{name}/{'sub/' if index % 3 else ''}img {index}.jpg", jpeg(name.encode(), index))
        for name, count in counts.items()
        for index in range(count)
    ]


def _evaluate(stack: Stack, key: str):  # noqa: ANN202 - the use case's outcome
    return stack.evaluate_dataset()(UploadedObject(stack.bucket, key, ""))


def _read(stack: Stack, key: str) -> bytes:
    return stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()


def _lst(stack: Stack, run_id: str, channel: str) -> list[list[str]]:
    text = _read(stack, layout.prepared_lst_key(DATASET, run_id, channel)).decode()
    return [line.split("\t") for line in text.splitlines()]


def test_class_folders_train_as_the_image_format_on_lists_icflow_prepared(stack: Stack) -> None:
    keys = _folders(stack, {"dogs": 10, "cats": 6, "birds": 5})
    outcome = _evaluate(stack, keys[-1])

    assert outcome.action == "started", outcome.reason
    run_id = outcome.run_id
    job = stack.client("sagemaker").describe_training_job(TrainingJobName=outcome.job_name)
    hyperparameters = job["HyperParameters"]
    assert hyperparameters["num_classes"] == "3"
    # Per class, the fraction (0.2 by default) rounded, at least one: birds 1, cats 1, dogs 2.
    held_out = {"birds": 1, "cats": 1, "dogs": 2}
    assert hyperparameters["num_training_samples"] == str(21 - sum(held_out.values()))
    assert "resize" in hyperparameters  # the image format needs it, inferred as for .lst datasets
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in job["InputDataConfig"]}
    assert channels[layout.TRAIN] == {
        "S3DataType": "ManifestFile",
        "S3Uri": f"s3://{stack.bucket}/{layout.prepared_manifest_key(DATASET, run_id, layout.TRAIN)}",
        "S3DataDistributionType": "FullyReplicated",
    }
    assert channels[layout.TRAIN_LST]["S3Uri"] == (
        f"s3://{stack.bucket}/{layout.prepared_lst_prefix(DATASET, run_id, layout.TRAIN)}"
    )
    assert {c["ContentType"] for c in job["InputDataConfig"]} == {"application/x-image"}

    # Labels follow the folder names sorted; every image is in exactly one channel, named by its key.
    train, validation = _lst(stack, run_id, layout.TRAIN), _lst(stack, run_id, layout.VALIDATION)
    assert [line[0] for line in train] == [str(i) for i in range(len(train))]
    labels = {"birds": "0", "cats": "1", "dogs": "2"}
    for _, label, key in train + validation:
        assert label == labels[key.split("/")[3]]
    assert sorted(line[2] for line in train + validation) == sorted(keys)
    for name, count in held_out.items():
        assert sum(1 for line in validation if line[1] == labels[name]) == count
    manifest = json.loads(_read(stack, layout.prepared_manifest_key(DATASET, run_id, layout.VALIDATION)))
    assert manifest[0] == {"prefix": f"s3://{stack.bucket}/"}
    assert manifest[1:] == [line[2] for line in validation]

    status = stack.latest_status(DATASET)
    assert status["input_format"] == "folders"
    assert status["skipped"] == {"count": 0}
    assert status["dataset_summary"]["class_names"] == ["birds", "cats", "dogs"]
    # Labeling the run's model reads the names it was trained with.
    names = load_class_names(stack.adapters().objects, DATASET, None, naming.model_name(DATASET, run_id))
    assert names.names == ("birds", "cats", "dogs") and names.source == FROM_CLASS_FOLDERS


def test_the_same_upload_splits_the_same_way_and_a_new_seed_another_way(stack: Stack) -> None:
    keys = _folders(stack, {"a": 20, "b": 20})
    first = _evaluate(stack, keys[0])
    validation = _lst(stack, first.run_id, layout.VALIDATION)
    folders = stack.adapters().class_folders
    folders.prepare(DATASET, "0" * 12, ClassNames((), "x"), SplitSettings())
    assert _lst(stack, "0" * 12, layout.VALIDATION) == validation
    folders.prepare(DATASET, "1" * 12, ClassNames((), "x"), SplitSettings(seed=7))
    assert {line[2] for line in _lst(stack, "1" * 12, layout.VALIDATION)} != {line[2] for line in validation}
    assert len(validation) == 2 * validation_count(20, 0.2)


def test_what_cannot_train_is_left_out_with_its_reason(stack: Stack) -> None:
    keys = _folders(stack, {"cats": 3, "dogs": 3})
    _put(stack, "cats/.DS_Store", b"\x00\x01")
    _put(stack, "cats/notes.txt", b"not an image")
    _put(stack, "dogs/empty.jpg", b"")
    _put(stack, "dogs/text.jpg", b"hello, I am no JPEG")
    _put(stack, "dogs/cut.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # no IEND: an interrupted upload
    _put(stack, "loose.jpg", jpeg(b"cats"))
    _put(stack, "cats/ok.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40 + PNG_END)
    outcome = _evaluate(stack, keys[0])

    assert outcome.action == "started", outcome.reason
    skipped = stack.latest_status(DATASET)["skipped"]
    assert skipped["count"] == 6
    lines = [
        json.loads(line) for line in _read(stack, layout.prepared_skipped_key(DATASET, outcome.run_id)).splitlines()
    ]
    reasons = {line["key"].removeprefix(layout.images_prefix(DATASET)): line["reason"] for line in lines}
    assert set(reasons) == {
        "cats/.DS_Store",
        "cats/notes.txt",
        "dogs/empty.jpg",
        "dogs/text.jpg",
        "dogs/cut.png",
        "loose.jpg",
    }
    assert "not a .jpg, .jpeg or .png file" in reasons["cats/notes.txt"]
    assert "zero bytes" in reasons["dogs/empty.jpg"]
    assert "not JPEG or PNG" in reasons["dogs/text.jpg"]
    assert "cut off" in reasons["dogs/cut.png"]
    assert "not in a class folder" in reasons["loose.jpg"]
    train = _lst(stack, outcome.run_id, layout.TRAIN) + _lst(stack, outcome.run_id, layout.VALIDATION)
    assert len(train) == 7  # 3 dogs, 3 cats and the complete PNG


def test_one_class_folder_is_rejected_saying_what_to_do(stack: Stack) -> None:
    keys = _folders(stack, {"cats": 5})
    outcome = _evaluate(stack, keys[0])

    assert outcome.action == "rejected"
    assert "only the class folder 'cats'" in outcome.reason and "at least 2 classes" in outcome.reason
    assert stack.training_jobs() == []
    assert stack.latest_status(DATASET)["status"] == "rejected"


def test_a_class_with_too_few_usable_images_is_rejected_with_what_was_left_out(stack: Stack) -> None:
    keys = _folders(stack, {"cats": 5, "dogs": 1})
    _put(stack, "dogs/broken.jpg", b"nope")
    outcome = _evaluate(stack, keys[0])

    assert outcome.action == "rejected"
    assert "'dogs' (1 usable, 1 left out)" in outcome.reason
    assert "dogs/broken.jpg" in outcome.reason and "skipped.jsonl" in outcome.reason


def test_classes_txt_orders_the_classes_and_must_name_every_folder(stack: Stack) -> None:
    keys = _folders(stack, {"cats": 4, "dogs": 4})
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=b"dogs\ncats\nbirds\n")
    rejected = _evaluate(stack, keys[0])
    assert rejected.action == "rejected"
    assert "'birds', which has no folder under images/" in rejected.reason

    s3.put_object(Bucket=stack.bucket, Key=layout.classes_key(DATASET), Body=b"dogs\ncats\n")
    started = _evaluate(stack, layout.classes_key(DATASET))
    assert started.action == "started", started.reason
    assert started.run_id != rejected.run_id  # classes.txt decides the labels, so it is part of the run
    for _, label, key in _lst(stack, started.run_id, layout.TRAIN):
        assert label == ("0" if "/dogs/" in key else "1")


def test_class_folders_beside_recordio_channels_are_rejected(stack: Stack) -> None:
    stack.put_recordio_dataset(DATASET, [0, 1] * 5, [0, 1])
    keys = _folders(stack, {"cats": 3, "dogs": 3})
    outcome = _evaluate(stack, keys[0])

    assert outcome.action == "rejected"
    assert "keep one input format per dataset" in outcome.reason


def test_an_image_checked_once_is_not_read_again_until_it_changes(stack: Stack) -> None:
    keys = _folders(stack, {"cats": 4, "dogs": 4})
    adapters = stack.adapters()
    gets: list[str] = []
    adapters.class_folders._s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: gets.append(params["Key"])
    )
    adapters.class_folders.prepare(DATASET, "0" * 12, ClassNames((), "x"), SplitSettings())
    first = len(gets)
    _put(stack, "cats/img 0.jpg", b"no longer an image")  # changed: a new ETag
    _put(stack, "dogs/new.jpg", jpeg(b"dogs", 99))
    gets.clear()
    prepared = adapters.class_folders.prepare(DATASET, "1" * 12, ClassNames((), "x"), SplitSettings())

    # The first run read every image's two ends; the second only the changed one and the new one.
    assert first == 2 * len(keys)
    assert sorted(set(gets)) == sorted([keys[0], f"{layout.images_prefix(DATASET)}dogs/new.jpg"])
    assert prepared.skipped["count"] == 1 and prepared.train.records + prepared.validation.records == 8
