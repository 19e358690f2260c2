"""Model ready -> pending batches and the dataset's endpoint; endpoint state changes; the idle guard.

moto has no UpdateEndpoint: the update is checked against botocore's Stubber, which validates the
request against the service model, and moto serves the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.core import layout, naming
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.notifier import Notifier
from icflow.core.pipeline_config import RealtimeSettings
from icflow.core.state import ENDPOINT_SK, BatchStatus, EndpointStatus, StateTable, batch_sk
from icflow.endpoints.deploy_model import EndpointDeployer, build_deploy_model
from icflow.endpoints.endpoint_metrics import EndpointMetrics, rollback_alarm_name
from icflow.endpoints.endpoint_state import EndpointChange, build_handle_endpoint_state
from icflow.endpoints.idle_endpoints import DeleteIdleEndpoints
from icflow.endpoints.sagemaker_endpoints import SageMakerEndpoints
from support.batches import model_ready

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"
FIRST, SECOND = "3f2a9c41d0b7", "0a1b2c3d4e5f"
REALTIME = b'{"deploy": {"realtime": {"enabled": true}}}'


def _model(stack: Stack, run_id: str) -> ModelReadyDetail:
    return model_ready(stack, DATASET, run_id)


def _runs(stack: Stack) -> StateTable:
    return StateTable(stack.client("dynamodb"), stack.settings.runs_table)


def _endpoint_record(stack: Stack) -> dict[str, Any]:
    item = _runs(stack).get_item(DATASET, ENDPOINT_SK)
    assert item is not None
    return item


def _backend(stack: Stack) -> Any:
    return sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region]


def test_a_ready_model_starts_the_pending_batches(stack: Stack) -> None:
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key=f"{layout.BATCH}{DATASET}/a.jpg", Body=b"\xff\xd8\xff\xe0jpeg\xff\xd9")
    _runs(stack).create_item(DATASET, batch_sk("b" * 20), "batch", BatchStatus.PENDING.value, {"batch_id": "b" * 20})

    outcome = build_deploy_model(stack.adapters())(_model(stack, FIRST))

    (batch,) = outcome.batches
    assert batch.action == "started" and outcome.endpoint is None
    job = stack.client("sagemaker").describe_transform_job(TransformJobName=batch.job_name)
    assert job["ModelName"] == naming.model_name(DATASET, FIRST)
    assert _runs(stack).get_item(DATASET, batch_sk("b" * 20))["status"] == BatchStatus.TRANSFORMING


def test_the_first_model_creates_the_endpoint_and_a_repeat_changes_nothing(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    ready = _model(stack, FIRST)
    deploy = build_deploy_model(stack.adapters())

    first = deploy(ready).endpoint
    again = deploy(ready).endpoint

    assert first is not None and first.action == "endpoint_creating"
    assert again is not None and again.action == "endpoint_unchanged"
    endpoints = stack.client("sagemaker").list_endpoints()["Endpoints"]
    assert [endpoint["EndpointName"] for endpoint in endpoints] == [naming.endpoint_name(DATASET)]
    record = _endpoint_record(stack)
    assert record["status"] == EndpointStatus.CREATING and record["configs"] == [
        naming.endpoint_config_name(DATASET, FIRST)
    ]


def test_a_later_model_updates_the_endpoint_in_place_blue_green_with_rollback(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _backend(stack).endpoints[naming.endpoint_name(DATASET)].endpoint_status = "InService"
    second = _model(stack, SECOND)
    realtime = RealtimeSettings(enabled=True, blue_green=True, auto_rollback=True)
    # moto has no UpdateEndpoint: the stub checks the request against the service model and answers it.
    sagemaker = stack.client("sagemaker")
    stub = Stubber(sagemaker)
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{naming.endpoint_name(DATASET)}"},
        {
            "EndpointName": naming.endpoint_name(DATASET),
            "EndpointConfigName": naming.endpoint_config_name(DATASET, SECOND),
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 300},
                    "TerminationWaitInSeconds": 600,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [{"AlarmName": rollback_alarm_name(naming.endpoint_name(DATASET))}]
                },
            },
        },
    )
    adapters = stack.adapters()
    deploy = _PassThroughDeploy(sagemaker, stack.client("sagemaker"), adapters.ownership.tags)
    deployer = EndpointDeployer(
        _runs(stack),
        deploy,
        EndpointMetrics(stack.client("cloudwatch")),
        adapters.ownership,
        adapters.notifier,
        adapters.autoscaling,
    )

    with stub:
        outcome = deployer.deploy(DATASET, naming.endpoint_config_name(DATASET, SECOND), second.model_name, realtime)
        stub.assert_no_pending_responses()

    assert outcome.action == "endpoint_updating"
    assert len(stack.client("sagemaker").list_endpoints()["Endpoints"]) == 1
    alarms = stack.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert [alarm["AlarmName"] for alarm in alarms] == [rollback_alarm_name(naming.endpoint_name(DATASET))]
    record = _endpoint_record(stack)
    assert record["status"] == EndpointStatus.UPDATING and record["target_config"] == naming.endpoint_config_name(
        DATASET, SECOND
    )


class _PassThroughDeploy(SageMakerEndpoints):
    """SageMakerEndpoints whose UpdateEndpoint goes to the stubbed client and everything else to moto."""

    def __init__(self, stubbed: Any, moto: Any, stack_tags: dict[str, str]) -> None:
        super().__init__(moto, stack_tags)
        self._stubbed = stubbed

    def update_endpoint(
        self,
        name: str,
        config_name: str,
        blue_green: bool,
        rollback_alarm: str | None,
        retain_instance_count: bool = False,
    ) -> None:
        SageMakerEndpoints(self._stubbed, {}).update_endpoint(
            name, config_name, blue_green, rollback_alarm, retain_instance_count
        )


def _serve(stack: Stack, config_run: str) -> None:
    """The endpoint as SageMaker leaves it: in service on that run's config."""
    endpoint = _backend(stack).endpoints[naming.endpoint_name(DATASET)]
    endpoint.endpoint_status = "InService"
    endpoint.endpoint_config_name = naming.endpoint_config_name(DATASET, config_run)


def _two_configs(stack: Stack) -> None:
    """First model served; the second one's config created and asked for."""
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _serve(stack, FIRST)
    second = _model(stack, SECOND)
    deploy = stack.adapters().endpoints
    deploy.create_endpoint_config(naming.endpoint_config_name(DATASET, SECOND), second.model_name, "ml.m5.large", 1, {})
    runs = _runs(stack)
    record = runs.get_item(DATASET, ENDPOINT_SK)
    configs = sorted({*record["configs"], naming.endpoint_config_name(DATASET, SECOND)})
    runs.transition_item(
        DATASET,
        ENDPOINT_SK,
        EndpointStatus.UPDATING.value,
        (record["status"],),
        fields={
            "configs": configs,
            "target_config": naming.endpoint_config_name(DATASET, SECOND),
            "wanted_config": naming.endpoint_config_name(DATASET, SECOND),
            "wanted_model": second.model_name,
        },
    )


def _change(status: str) -> EndpointChange:
    return EndpointChange(naming.endpoint_name(DATASET), status, {"icflow:dataset": DATASET})


def test_in_service_on_the_new_config_deletes_the_superseded_config_and_its_unused_model(stack: Stack) -> None:
    _two_configs(stack)
    _serve(stack, SECOND)
    queue = stack.subscribe_queue()

    outcome = build_handle_endpoint_state(stack.adapters())(_change("IN_SERVICE"))

    assert outcome.action == "in_service"
    assert outcome.deleted == (naming.endpoint_config_name(DATASET, FIRST), naming.model_name(DATASET, FIRST))
    configs = [c["EndpointConfigName"] for c in stack.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]]
    assert configs == [naming.endpoint_config_name(DATASET, SECOND)]
    models = [m["ModelName"] for m in stack.client("sagemaker").list_models()["Models"]]
    assert models == [naming.model_name(DATASET, SECOND)]
    assert _endpoint_record(stack)["status"] == EndpointStatus.IN_SERVICE
    assert any("in service" in message or "serves" in message for message in stack.notifications(queue))


def test_a_model_a_pending_batch_needs_is_kept(stack: Stack) -> None:
    _two_configs(stack)
    _serve(stack, SECOND)
    _runs(stack).create_item(
        DATASET,
        batch_sk("c" * 20),
        "batch",
        BatchStatus.TRANSFORMING.value,
        {"batch_id": "c" * 20, "model_name": naming.model_name(DATASET, FIRST)},
    )

    outcome = build_handle_endpoint_state(stack.adapters())(_change("IN_SERVICE"))

    assert outcome.deleted == (naming.endpoint_config_name(DATASET, FIRST),)
    assert naming.model_name(DATASET, FIRST) in [
        m["ModelName"] for m in stack.client("sagemaker").list_models()["Models"]
    ]


def test_in_service_on_the_old_config_is_a_rollback_and_is_recorded(stack: Stack) -> None:
    _two_configs(stack)
    _serve(stack, FIRST)

    outcome = build_handle_endpoint_state(stack.adapters())(_change("IN_SERVICE"))

    assert outcome.action == "rolled_back"
    record = _endpoint_record(stack)
    assert (
        record["status"] == EndpointStatus.ROLLED_BACK
        and naming.endpoint_config_name(DATASET, SECOND) in record["reason"]
    )
    # The model that failed to deploy is the dataset's current model: never deleted.
    assert naming.model_name(DATASET, SECOND) in [
        m["ModelName"] for m in stack.client("sagemaker").list_models()["Models"]
    ]


def test_a_failed_endpoint_is_recorded_and_notified(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _backend(stack).endpoints[naming.endpoint_name(DATASET)].endpoint_status = "Failed"
    queue = stack.subscribe_queue()

    outcome = build_handle_endpoint_state(stack.adapters())(_change("FAILED"))

    assert outcome.action == "failed" and _endpoint_record(stack)["status"] == EndpointStatus.FAILED
    assert any("failed" in message for message in stack.notifications(queue))


def test_a_stale_event_changes_nothing(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _serve(stack, FIRST)

    outcome = build_handle_endpoint_state(stack.adapters())(_change("FAILED"))

    assert outcome.action == "stale" and _endpoint_record(stack)["status"] == EndpointStatus.CREATING


def _guard(stack: Stack, hours: int) -> DeleteIdleEndpoints:
    return DeleteIdleEndpoints(
        hours,
        _runs(stack),
        SageMakerEndpoints(stack.client("sagemaker"), stack.adapters().ownership.tags),
        EndpointMetrics(stack.client("cloudwatch")),
        Notifier(stack.client("sns"), stack.settings.notifications_topic_arn),
        stack.adapters().ownership,
        stack.adapters().autoscaling,
    )


def _idle_endpoint(stack: Stack) -> str:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _serve(stack, FIRST)
    return naming.endpoint_name(DATASET)


def test_the_idle_guard_deletes_an_endpoint_without_invocations_and_records_it(stack: Stack) -> None:
    name = _idle_endpoint(stack)
    later = datetime.now(UTC) + timedelta(hours=25)

    outcome = _guard(stack, 24)(later)

    assert outcome.deleted == (name,)
    assert stack.client("sagemaker").list_endpoints()["Endpoints"] == []
    assert _endpoint_record(stack)["status"] == EndpointStatus.DELETED_IDLE


def test_the_idle_guard_keeps_a_used_endpoint_and_does_nothing_at_zero(stack: Stack) -> None:
    name = _idle_endpoint(stack)
    now = datetime.now(UTC)
    stack.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": 3,
                "Timestamp": now + timedelta(hours=1),
                "Dimensions": [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}],
            }
        ],
    )

    assert _guard(stack, 24)(now + timedelta(hours=24, minutes=30)).deleted == ()
    assert _guard(stack, 0)(now + timedelta(days=30)).as_dict() == {"action": "disabled", "deleted": [], "foreign": []}
    assert len(stack.client("sagemaker").list_endpoints()["Endpoints"]) == 1


def _status(stack: Stack, status: str) -> None:
    _backend(stack).endpoints[naming.endpoint_name(DATASET)].endpoint_status = status


def test_every_endpoint_status_is_recorded_as_what_it_is(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    queue = stack.subscribe_queue()
    handle = build_handle_endpoint_state(stack.adapters())
    for event_status, recorded, notified in (
        ("SYSTEM_UPDATING", EndpointStatus.UPDATING, False),
        ("ROLLING_BACK", EndpointStatus.ROLLING_BACK, False),
        ("OUT_OF_SERVICE", EndpointStatus.OUT_OF_SERVICE, True),
        ("UPDATE_ROLLBACK_FAILED", EndpointStatus.ROLLBACK_FAILED, True),
        ("DELETING", EndpointStatus.DELETING, False),
    ):
        _status(stack, "".join(part.capitalize() for part in event_status.split("_")))
        outcome = handle(_change(event_status))
        assert outcome.action == recorded.value and _endpoint_record(stack)["status"] == recorded, event_status
        said = [message for message in stack.notifications(queue) if naming.endpoint_name(DATASET) in message]
        assert bool(said) is notified, event_status


def test_the_deletion_of_an_idle_endpoint_stays_recorded_as_idle(stack: Stack) -> None:
    _idle_endpoint(stack)
    _guard(stack, 24)(datetime.now(UTC) + timedelta(hours=25))
    # SageMaker's DELETING event arrives while the endpoint still exists; moto deleted it at once.
    stack.adapters().endpoints.create_endpoint(
        naming.endpoint_name(DATASET), naming.endpoint_config_name(DATASET, FIRST), {naming.TAG_DATASET: DATASET}
    )
    _status(stack, "Deleting")

    outcome = build_handle_endpoint_state(stack.adapters())(_change("DELETING"))

    assert (
        outcome.action == EndpointStatus.DELETED_IDLE
        and _endpoint_record(stack)["status"] == EndpointStatus.DELETED_IDLE
    )


def test_a_failed_endpoint_is_replaced_not_updated(stack: Stack) -> None:
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _status(stack, "Failed")

    outcome = build_deploy_model(stack.adapters())(_model(stack, SECOND))

    # SageMaker refuses UpdateEndpoint on a Failed endpoint (moto does not): it is deleted and created again.
    assert outcome.endpoint is not None and outcome.endpoint.action == "endpoint_creating"
    endpoint = stack.client("sagemaker").describe_endpoint(EndpointName=naming.endpoint_name(DATASET))
    assert endpoint["EndpointConfigName"] == naming.endpoint_config_name(DATASET, SECOND)
    assert _endpoint_record(stack)["status"] == EndpointStatus.CREATING


# "my photos" is not its endpoint's name (icflow-my-photos-<digest>): the tagless DELETED event finds it in the table.
@pytest.mark.parametrize("dataset", [DATASET, "my photos"])
def test_a_failed_endpoint_still_deleting_is_left_to_the_next_model(
    stack: Stack, dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(globals(), "DATASET", dataset)  # the helpers above name the module's dataset
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _status(stack, "Failed")
    _model(stack, SECOND)
    adapters = stack.adapters()
    endpoints = adapters.endpoints
    endpoints.delete_endpoint = lambda name: True  # type: ignore[method-assign]  # a deletion that takes long
    now = [0.0]
    deployer = EndpointDeployer(
        _runs(stack),
        endpoints,
        EndpointMetrics(stack.client("cloudwatch")),
        adapters.ownership,
        adapters.notifier,
        adapters.autoscaling,
        now.append,
        lambda: sum(now),
    )

    outcome = deployer.deploy(
        DATASET,
        naming.endpoint_config_name(DATASET, SECOND),
        naming.model_name(DATASET, SECOND),
        RealtimeSettings(enabled=True),
    )

    assert outcome.action == "endpoint_replacing" and "SageMaker allows only its deletion" in (outcome.reason or "")
    assert _endpoint_record(stack)["status"] == EndpointStatus.DELETING

    # The deletion ends with a DELETED event, without tags: the endpoint is created again on the wanted config.
    stack.client("sagemaker").delete_endpoint(EndpointName=naming.endpoint_name(DATASET))
    deleted = EndpointChange(naming.endpoint_name(DATASET), "DELETED", {})
    replaced = build_handle_endpoint_state(stack.adapters())(deleted)

    assert replaced.action == "updating" and replaced.update is not None
    assert replaced.update.action == "endpoint_creating"
    endpoint = stack.client("sagemaker").describe_endpoint(EndpointName=naming.endpoint_name(DATASET))
    assert endpoint["EndpointConfigName"] == naming.endpoint_config_name(DATASET, SECOND)


def test_a_deleted_event_of_an_endpoint_nobody_replaces_changes_nothing(stack: Stack) -> None:
    _idle_endpoint(stack)
    _guard(stack, 24)(datetime.now(UTC) + timedelta(hours=25))

    outcome = build_handle_endpoint_state(stack.adapters())(
        EndpointChange(naming.endpoint_name(DATASET), "DELETED", {})
    )

    assert outcome.action == "ignored" and _endpoint_record(stack)["status"] == EndpointStatus.DELETED_IDLE


def _other_stacks_endpoint(stack: Stack) -> str:
    """Stack icflow-staging, in the same account, serves a dataset of the same name: the same endpoint name."""
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=REALTIME)
    theirs = SageMakerEndpoints(stack.client("sagemaker"), {naming.TAG_STACK: "icflow-staging"})
    model = _model(stack, FIRST)
    theirs.create_endpoint_config("icflow-theirs-1", model.model_name, "ml.m5.large", 1, {})
    theirs.create_endpoint(naming.endpoint_name(DATASET), "icflow-theirs-1", {naming.TAG_DATASET: DATASET})
    _backend(stack).endpoints[naming.endpoint_name(DATASET)].endpoint_status = "InService"
    return naming.endpoint_name(DATASET)


def test_another_stacks_endpoint_of_the_same_name_is_left_alone_and_the_user_told(stack: Stack) -> None:
    name = _other_stacks_endpoint(stack)
    queue = stack.subscribe_queue()

    outcome = build_deploy_model(stack.adapters())(_model(stack, SECOND))

    assert outcome.endpoint is not None and outcome.endpoint.action == "rejected"
    assert "belongs to the icflow stack 'icflow-staging'" in (outcome.endpoint.reason or "")
    assert stack.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointConfigName"] == "icflow-theirs-1"
    assert _runs(stack).get_item(DATASET, ENDPOINT_SK) is None
    (said,) = [message for message in stack.notifications(queue) if "icflow-staging" in message]
    assert "give the dataset another name in this stack" in said


def test_the_idle_guard_and_endpoint_events_leave_another_stacks_endpoint_alone(stack: Stack) -> None:
    name = _other_stacks_endpoint(stack)

    outcome = _guard(stack, 24)(datetime.now(UTC) + timedelta(days=30))
    change = build_handle_endpoint_state(stack.adapters())(EndpointChange(name, "IN_SERVICE", {}))

    assert outcome.deleted == () and outcome.foreign == (name,)
    assert stack.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    assert change.action == "ignored" and "icflow-staging" in (change.reason or "")
