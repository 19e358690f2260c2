"""`icflow status` and `icflow cleanup` against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from icflow.core import naming
from icflow.core.state import ENDPOINT_SK, BatchStatus, EndpointStatus, StateTable, batch_sk
from icflow_tools.cli import main
from icflow_tools.cli.stack_resources import resolve


def test_status_prints_runs_batches_and_endpoints_with_reasons(
    aws: Any, table: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = StateTable(aws.client("dynamodb"), table)
    runs.update_dataset("pets", {"status": "model_ready", "current_model_name": "icflow-pets-3f2a9c41d0b7"})
    runs.create_run(
        "pets",
        "3f2a9c41d0b7",
        "failed",
        {"job_name": "icflow-pets-3f2a9c41d0b7"},
        reason="AlgorithmError: out of memory",
    )
    skipped = {
        "count": 2,
        "examples": ["datasets/pets/images/cat/notes.txt: not a .jpg"],
        "all": "s3://b/skipped.jsonl",
    }
    runs.create_run("pets", "0123456789ab", "training", {"job_name": "icflow-pets-0123456789ab", "skipped": skipped})
    runs.create_item(
        "pets",
        batch_sk("a" * 20),
        "batch",
        BatchStatus.PENDING.value,
        {"batch_id": "a" * 20, "images": 12, "skipped": 1},
    )
    runs.create_item(
        "pets",
        ENDPOINT_SK,
        "endpoint",
        EndpointStatus.ROLLED_BACK.value,
        {"endpoint_name": "icflow-pets"},
        reason="update rolled back",
    )
    runs.update_dataset("birds", {"status": "waiting", "reason": "validation/ holds no data"})

    assert main(["status", *stack_flags]) == 0
    out = capsys.readouterr().out

    assert "pets: model_ready (model icflow-pets-3f2a9c41d0b7)" in out and "birds: waiting" in out
    assert "AlgorithmError: out of memory" in out and "12 images, 1 skipped" in out
    assert "rolled_back" in out and "update rolled back" in out
    assert (
        "left out: 2 objects, such as datasets/pets/images/cat/notes.txt: not a .jpg; all in s3://b/skipped.jsonl"
        in out
    )

    assert main(["status", "--dataset", "birds", *stack_flags]) == 0
    assert "pets" not in capsys.readouterr().out


def test_status_without_a_stack_says_what_to_give(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 1
    assert "--stack" in capsys.readouterr().err


def test_the_local_state_file_names_the_table_and_endpoints(tmp_path: Path) -> None:
    state = tmp_path / "local.json"
    state.write_text(
        json.dumps(
            {
                "endpoint_url": "http://127.0.0.1:5000",
                "sagemaker_endpoint_url": "http://127.0.0.1:8090",
                "region": "eu-west-1",
                "functions": {},
                "outputs": {"RunsTableName": "local-runs", "DataBucketName": "local-data"},
            }
        )
    )
    import argparse

    found = resolve(argparse.Namespace(stack=None, state_file=state, table=None, bucket=None, region=None))

    assert (found.table, found.bucket, found.region) == ("local-runs", "local-data", "eu-west-1")
    assert found.client("sagemaker-runtime").meta.endpoint_url == "http://127.0.0.1:8090"
    assert found.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:5000"


def _resources(aws: Any, role_arn: str, dataset: str, run_id: str) -> None:
    sagemaker = aws.client("sagemaker")
    tags = [{"Key": key, "Value": value} for key, value in naming.dataset_tags(dataset).items()]
    model = naming.model_name(dataset, run_id)
    sagemaker.create_model(ModelName=model, PrimaryContainer={"Image": "x"}, ExecutionRoleArn=role_arn, Tags=tags)
    config = naming.endpoint_config_name(dataset, run_id)
    sagemaker.create_endpoint_config(
        EndpointConfigName=config,
        Tags=tags,
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    sagemaker.create_endpoint(EndpointName=naming.endpoint_name(dataset), EndpointConfigName=config, Tags=tags)


def test_cleanup_shows_then_deletes_only_that_datasets_resources(
    aws: Any, role_arn: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _resources(aws, role_arn, "pets", "3f2a9c41d0b7")
    _resources(aws, role_arn, "pets-large", "0a1b2c3d4e5f")  # a name that starts like the other's
    autoscaling = aws.client("application-autoscaling")
    for endpoint in ("icflow-pets", "icflow-pets-large"):  # both scaled (deploy.realtime.autoscaling)
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=f"endpoint/{endpoint}/variant/AllTraffic",
            ScalableDimension="sagemaker:variant:DesiredInstanceCount",
            MinCapacity=1,
            MaxCapacity=2,
        )
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    assert main(["cleanup", "--dataset", "pets", *stack_flags]) == 1
    shown = capsys.readouterr().out
    assert "icflow-pets-3f2a9c41d0b7" in shown and "pets-large" not in shown and "nothing deleted" in shown
    assert len(aws.client("sagemaker").list_models()["Models"]) == 2

    assert main(["cleanup", "--dataset", "pets", "--yes", *stack_flags]) == 0

    sagemaker = aws.client("sagemaker")
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == ["icflow-pets-large-0a1b2c3d4e5f"]
    assert [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]] == ["icflow-pets-large"]
    assert [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]] == [
        "icflow-pets-large-0a1b2c3d4e5f"
    ]
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [target["ResourceId"] for target in targets] == ["endpoint/icflow-pets-large/variant/AllTraffic"]


def test_status_and_cleanup_take_a_dataset_name_as_the_user_typed_it(
    aws: Any, role_arn: str, table: str, stack_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    runs = StateTable(aws.client("dynamodb"), table)
    runs.update_dataset("my photos", {"status": "waiting", "reason": "validation/ holds no data"})
    runs.update_dataset("my-photos", {"status": "model_ready"})
    # Tags carry "(" and ")" escaped; cleanup finds the resources by the name they decode to.
    _resources(aws, role_arn, "photos (2024)", "3f2a9c41d0b7")
    _resources(aws, role_arn, "photos 2024", "0a1b2c3d4e5f")

    assert main(["status", "--dataset", "my photos", *stack_flags]) == 0
    out = capsys.readouterr().out
    assert "my photos: waiting" in out and "my-photos" not in out

    assert main(["cleanup", "--dataset", "photos (2024)", "--yes", *stack_flags]) == 0
    models = [m["ModelName"] for m in aws.client("sagemaker").list_models()["Models"]]
    assert models == [naming.model_name("photos 2024", "0a1b2c3d4e5f")]
