"""Dataset folder names: any name S3 can hold is a dataset, every key icflow writes under it fits S3, and the few
names icflow cannot use are refused with the rule they break."""

from __future__ import annotations

import pytest

from icflow.core import layout
from icflow.core.naming import MAX_NAME, training_job_name

RUN = "0123456789ab"
BATCH_ID = "f" * 20
# A bucket name of the most characters S3 allows: the S3 URIs SageMaker gets hold it.
LONGEST_BUCKET = "b" * 63
HOSTILE_NAMES = ["my photos", "Katzen_äöü 猫", "-leading-dash", "a" * 129, "photos (2024) #1 ✓", "...", " ", "%20+"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_any_folder_name_s3_holds_is_a_dataset_under_both_prefixes(name: str) -> None:
    assert layout.parse_dataset_key(f"datasets/{name}/train/a b.rec") == layout.DatasetKey(name, "train", "a b.rec")
    assert layout.parse_dataset_key(f"datasets/{name}/pipeline.json") == layout.DatasetKey(name, "pipeline.json", "")
    assert layout.parse_batch_key(f"batch/{name}/day 1/cat.jpg") == layout.BatchKey(name, "day 1/cat.jpg")


def test_a_channel_icflow_does_not_read_is_parsed_for_the_dataset_to_reject() -> None:
    assert layout.parse_dataset_key("datasets/pets/Train/a.rec") == layout.DatasetKey("pets", "Train", "a.rec")
    assert layout.parse_dataset_key("datasets/pets/test/a.rec") == layout.DatasetKey("pets", "test", "a.rec")


@pytest.mark.parametrize("key", ["datasets/pets/", "datasets/pets/train/", "status/pets/latest.json", "batch/pets/"])
def test_folders_and_keys_outside_the_prefix_are_nothing_to_act_on(key: str) -> None:
    assert layout.parse_dataset_key(key) is None
    assert layout.parse_batch_key(key) is None


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "cannot be named ''"),
        (".", "cannot be named '.'"),
        ("..", "cannot be named '..'"),
        ("line\nbreak", "control character"),
        ("tab\there", "control character"),
        ("é" * (layout.MAX_DATASET_NAME_BYTES // 2 + 1), f"over {layout.MAX_DATASET_NAME_BYTES}"),
    ],
)
def test_a_name_icflow_cannot_use_is_refused_with_the_rule(name: str, rule: str) -> None:
    for key, parse in (
        (f"datasets/{name}/train/a.rec", layout.parse_dataset_key),
        (f"batch/{name}/a.jpg", layout.parse_batch_key),
    ):
        with pytest.raises(layout.UnusableKey) as refused:
            parse(key)
        assert rule in str(refused.value) and "rename the folder" in str(refused.value)
        assert refused.value.key == key and refused.value.dataset == name
        assert refused.value.folder == f"{key.split('/')[0]}/{name}/"


def test_a_file_in_no_dataset_folder_is_refused_naming_where_it_belongs() -> None:
    with pytest.raises(layout.UnusableKey, match=r"not in a dataset folder: upload it under datasets/<dataset>/"):
        layout.parse_dataset_key("datasets/a.rec")
    with pytest.raises(layout.UnusableKey, match=r"upload it under batch/<dataset>/") as refused:
        layout.parse_batch_key("batch/cat.jpg")
    assert refused.value.dataset is None and refused.value.folder == layout.BATCH


def test_the_longest_usable_name_keeps_every_key_and_uri_icflow_writes_within_s3s_limits() -> None:
    name = "猫" * (layout.MAX_DATASET_NAME_BYTES // 3)  # three bytes each
    assert layout.dataset_name_problem(name) is None
    job = training_job_name(name, RUN)
    assert len(job) <= MAX_NAME
    keys = [
        layout.latest_status_key(name),
        f"{layout.artifacts_prefix(name)}{'j' * MAX_NAME}/output/model.tar.gz",
        f"{layout.checkpoints_prefix(name, RUN)}checkpoint-epoch-0001.params",
        f"{layout.transform_input_prefix(name, BATCH_ID)}manifest.json",
        f"{layout.predictions_prefix(name, BATCH_ID)}predictions.jsonl",
    ]
    for key in keys:
        assert len(key.encode()) <= layout.MAX_KEY_BYTES, key
        # SageMaker's S3Uri is at most 1,024 characters.
        assert len(f"s3://{LONGEST_BUCKET}/{key}") <= 1024, key


def test_the_unusable_name_status_is_no_datasets_status() -> None:
    # status/<dataset>/latest.json always has a folder below status/; this file has none.
    assert layout.UNUSABLE_NAME_STATUS.startswith(layout.STATUS)
    assert "/" not in layout.UNUSABLE_NAME_STATUS.removeprefix(layout.STATUS)
