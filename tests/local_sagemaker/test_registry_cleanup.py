"""`icflow cleanup` and the Model Registry, on the local SageMaker (moto has no DeleteModelPackage): the dataset's
versions are listed and deleted, then its group; another dataset's group, and a group that still holds another
stack's versions, stay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from icflow.core import naming
from icflow.core.sagemaker_answers import tag_list
from icflow_tools.cli import main
from icflow_tools.cli.cleanup import find
from icflow_tools.local_sagemaker import LocalSageMaker

STACK = "icflow-test"


def _register(sagemaker: Any, dataset: str, stack: str) -> str:
    """A version of the dataset's group (created when missing), tagged as icflow.training.model_registry tags it."""
    group = naming.model_package_group_name(dataset)
    tags = tag_list({naming.TAG_STACK: stack, **naming.dataset_tags(dataset)})
    if not sagemaker.list_model_package_groups(NameContains=group)["ModelPackageGroupSummaryList"]:
        sagemaker.create_model_package_group(ModelPackageGroupName=group, Tags=tags)
    return sagemaker.create_model_package(
        ModelPackageGroupName=group,
        InferenceSpecification={
            "Containers": [{"Image": "image-classification", "ModelDataUrl": "s3://bucket/model.tar.gz"}],
            "SupportedContentTypes": ["image/jpeg"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        Tags=tags,
    )["ModelPackageArn"]


def _groups(sagemaker: Any) -> list[str]:
    answer = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    return [group["ModelPackageGroupName"] for group in answer]


def _versions(sagemaker: Any) -> list[str]:
    answer = sagemaker.list_model_packages(ModelPackageType="Versioned")["ModelPackageSummaryList"]
    return [package["ModelPackageArn"] for package in answer]


def test_the_dataset_versions_and_group_are_shown_then_deleted(
    service: LocalSageMaker,
    sagemaker: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pets = [_register(sagemaker, "pets", STACK) for _ in range(2)]
    large = _register(sagemaker, "pets-large", STACK)  # a group whose name starts like the other's
    # The command's clients: boto3's settings, with no local stack's state file in the working directory.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", service.url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    assert main(["cleanup", "--dataset", "pets", "--region", "us-east-1"]) == 1

    shown = capsys.readouterr().out
    for arn in pets:
        assert f"  model package   {arn}" in shown
    assert "  package group   icflow-pets\n" in shown and "pets-large" not in shown and "nothing deleted" in shown
    assert _versions(sagemaker) == [*pets, large]

    assert main(["cleanup", "--dataset", "pets", "--yes", "--region", "us-east-1"]) == 0

    assert "deleted 3 resources" in capsys.readouterr().out
    assert _versions(sagemaker) == [large]
    assert _groups(sagemaker) == ["icflow-pets-large"]


def test_a_group_that_keeps_another_stacks_version_stays(sagemaker: Any) -> None:
    ours = _register(sagemaker, "pets", STACK)
    theirs = _register(sagemaker, "pets", "another-stack")

    found = find(sagemaker, "pets", STACK)

    assert (found["model package"], found["package group"]) == ([ours], [])
    assert find(sagemaker, "pets", "another-stack")["model package"] == [theirs]
    # Without a stack (--table/--bucket), every version tagged with the dataset goes, and so the group.
    assert find(sagemaker, "pets")["package group"] == ["icflow-pets"]
    assert find(sagemaker, "dogs", STACK)["model package"] == []
