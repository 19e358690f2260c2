import re

import pytest

from icflow.core import layout
from icflow.core.naming import (
    NAME_PREFIX,
    endpoint_config_name,
    endpoint_name,
    is_icflow_name,
    model_name,
    training_job_name,
    transform_job_name,
    tuning_job_name,
)

RUN = "0123456789ab"
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
DATASETS = [
    "cats",
    "my_data.v2",
    "a" * 128,
    "x",
    "A-b_c.d-e",
    "9" + "_" * 100 + "z",
    "under__score..dots",
    "my photos",
    "Katzen_äöü 猫",
    "猫",
    "-leading-dash",
    "photos (2024) #1 ✓",
    "é" * (layout.MAX_DATASET_NAME_BYTES // 2),
    "x" * layout.MAX_DATASET_NAME_BYTES,
]


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_name_is_valid_prefixed_and_keeps_the_run_id(dataset):
    assert layout.dataset_name_problem(dataset) is None
    for make, limit in ((training_job_name, 63), (tuning_job_name, 32), (model_name, 63), (endpoint_config_name, 63)):
        name = make(dataset, RUN)
        assert SAGEMAKER_NAME.match(name) and len(name) <= limit, name
        assert name.startswith(NAME_PREFIX) and name.endswith("-" + RUN) and is_icflow_name(name)
    for name in (endpoint_name(dataset), transform_job_name(dataset, "b-20260101-7f3a")):
        assert SAGEMAKER_NAME.match(name) and len(name) <= 63 and name.startswith(NAME_PREFIX)


def test_names_are_deterministic_and_readable():
    assert training_job_name("cats", RUN) == "icflow-cats-0123456789ab"
    assert tuning_job_name("cats", RUN) == training_job_name("cats", RUN)
    assert endpoint_name("cats") == "icflow-cats"
    assert transform_job_name("cats", "b1") == "icflow-cats-b1"
    assert training_job_name("cats", RUN) == training_job_name("cats", RUN)


def test_sanitised_or_truncated_datasets_never_share_a_name():
    sanitised = {endpoint_name(d) for d in ("a_b", "a.b", "a-b")}
    assert len(sanitised) == 3
    long_names = {tuning_job_name("dataset-" + suffix, RUN) for suffix in ("one-long-tail", "two-long-tail")}
    assert len(long_names) == 2


def test_different_runs_get_different_names():
    assert training_job_name("cats", RUN) != training_job_name("cats", "ba9876543210")


@pytest.mark.parametrize("run_id", ["", "0123", "0123456789AB", "0123456789abc", "zzzzzzzzzzzz"])
def test_a_bad_run_id_is_a_programming_error(run_id):
    with pytest.raises(ValueError):
        training_job_name("cats", run_id)


def test_tuning_trials_are_recognised_as_icflow_jobs():
    assert is_icflow_name(tuning_job_name("cats", RUN) + "-003-1a2b3c4d")
    assert not is_icflow_name("DEMO-imageclassification-2026")
    assert not is_icflow_name("icflow-")


def test_names_users_type_get_a_readable_slug_and_a_digest():
    assert training_job_name("my photos", RUN).startswith("icflow-my-photos-")
    assert training_job_name("Katzen_äöü 猫", RUN).startswith("icflow-Katzen-aou-")
    assert endpoint_name("猫") != endpoint_name("犬")


def test_a_name_spelled_as_another_names_slug_does_not_take_its_names():
    taken = endpoint_name("a_b")  # icflow-a-b-<digest of "a_b">
    assert endpoint_name(taken.removeprefix(NAME_PREFIX)) != taken


def test_names_differing_only_in_case_get_names_sagemaker_tells_apart():
    # CreateEndpoint compares names case-insensitively.
    names = {endpoint_name(dataset).lower() for dataset in ("pets", "Pets", "PETS")}
    assert len(names) == 3 and endpoint_name("pets") == "icflow-pets"
