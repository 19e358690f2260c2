"""deploy.realtime.autoscaling: the variant is registered with Application Auto Scaling once the endpoint is in
service, deregistered before an update that changes its instance type and before its endpoint is deleted.
moto serves Application Auto Scaling; the handlers' calls go through the template's IAM (handler_of)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker import models as sagemaker_models

from icflow.core import layout, naming
from icflow.core.model_ready import ModelReadyDetail
from icflow.core.pipeline_config import RealtimeSettings
from icflow.core.state import ENDPOINT_SK, StateTable
from icflow.endpoints.deploy_model import build_deploy_model
from icflow.endpoints.deployer import EndpointDeployer
from icflow.endpoints.endpoint_autoscaling import (
    POLICY_NAME,
    PREDEFINED_METRIC,
    SCALABLE_DIMENSION,
    resource_id,
)
from icflow.endpoints.sagemaker_endpoints import VARIANT_NAME, SageMakerEndpoints
from support.batches import model_ready

if TYPE_CHECKING:
    from support.stack import Stack

DATASET = "caltech256"  # the dataset of the sample endpoint events
FIRST, SECOND = "3f2a9c41d0b7", "0a1b2c3d4e5f"
SCALING = {"min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 120}
ENDPOINT = naming.endpoint_name(DATASET)


def _pipeline(stack: Stack, realtime: dict[str, Any]) -> None:
    body = json.dumps({"deploy": {"realtime": {"enabled": True, **realtime}}}).encode()
    stack.client("s3").put_object(Bucket=stack.bucket, Key=layout.pipeline_key(DATASET), Body=body)


def _model(stack: Stack, run_id: str) -> ModelReadyDetail:
    return model_ready(stack, DATASET, run_id)


def _in_service(stack: Stack) -> None:
    endpoint = sagemaker_models.sagemaker_backends[DEFAULT_ACCOUNT_ID][stack.settings.region].endpoints[ENDPOINT]
    endpoint.endpoint_status = "InService"


def _targets(stack: Stack) -> list[dict[str, Any]]:
    return stack.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]


def _record(stack: Stack) -> dict[str, Any]:
    item = StateTable(stack.client("dynamodb"), stack.settings.runs_table).get_item(DATASET, ENDPOINT_SK)
    assert item is not None
    return item


def _scaled_endpoint(stack: Stack, handler_of, sample_event, lambda_context) -> dict[str, Any]:
    _pipeline(stack, {"autoscaling": SCALING})
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _in_service(stack)
    return handler_of("endpoint_state")(sample_event("endpoint_in_service.json"), lambda_context)


def test_an_endpoint_in_service_registers_its_variant_with_a_target_tracking_policy(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    outcome = _scaled_endpoint(stack, handler_of, sample_event, lambda_context)

    assert outcome["action"] == "in_service" and outcome["autoscaling"] == "registered"
    (target,) = _targets(stack)
    assert (target["ResourceId"], target["ScalableDimension"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{ENDPOINT}/variant/{VARIANT_NAME}",
        SCALABLE_DIMENSION,
        1,
        3,
    )
    (policy,) = stack.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")[
        "ScalingPolicies"
    ]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (policy["PolicyName"], policy["PolicyType"]) == (POLICY_NAME, "TargetTrackingScaling")
    assert tracking["TargetValue"] == 120.0
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == PREDEFINED_METRIC
    assert _record(stack)["autoscaling_registered"] is True


def test_without_autoscaling_nothing_is_registered(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    _pipeline(stack, {})
    build_deploy_model(stack.adapters())(_model(stack, FIRST))
    _in_service(stack)

    outcome = handler_of("endpoint_state")(sample_event("endpoint_in_service.json"), lambda_context)

    assert outcome["action"] == "in_service" and "autoscaling" not in outcome
    assert _targets(stack) == []


def test_a_configuration_without_autoscaling_deregisters_the_variant_once_in_service(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    _scaled_endpoint(stack, handler_of, sample_event, lambda_context)
    # As a model deployed without autoscaling records it.
    runs = StateTable(stack.client("dynamodb"), stack.settings.runs_table)
    runs.transition_item(
        DATASET, ENDPOINT_SK, _record(stack)["status"], (_record(stack)["status"],), {"autoscaling": None}
    )

    outcome = handler_of("endpoint_state")(sample_event("endpoint_in_service.json"), lambda_context)

    assert outcome["autoscaling"] == "deregistered" and _targets(stack) == []
    assert _record(stack)["autoscaling_registered"] is False


class _Updates(SageMakerEndpoints):
    """moto has no UpdateEndpoint: records each update, and whether the variant was a scalable target then."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(stack.client("sagemaker"), stack.adapters().ownership.tags)
        self._stack = stack
        self.updates: list[dict[str, Any]] = []

    def update_endpoint(
        self,
        name: str,
        config_name: str,
        blue_green: bool,
        rollback_alarm: str | None,
        retain_instance_count: bool = False,
    ) -> None:
        scaled = bool(_targets(self._stack))
        self.updates.append({"config": config_name, "retain": retain_instance_count, "scaled_then": scaled})


def _update_to(stack: Stack, instance_type: str) -> list[dict[str, Any]]:
    adapters = stack.adapters()
    updates = _Updates(stack)
    deployer = EndpointDeployer(
        adapters.state, updates, adapters.endpoint_metrics, adapters.ownership, adapters.notifier, adapters.autoscaling
    )
    second = _model(stack, SECOND)
    realtime = RealtimeSettings.model_validate(
        {"enabled": True, "instance_type": instance_type, "autoscaling": SCALING}
    )
    outcome = deployer.deploy(DATASET, naming.endpoint_config_name(DATASET, SECOND), second.model_name, realtime)
    assert outcome.action == "endpoint_updating"
    return updates.updates


def test_a_new_model_on_the_same_instance_type_keeps_the_variant_scaled_and_its_instance_count(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    _scaled_endpoint(stack, handler_of, sample_event, lambda_context)

    (update,) = _update_to(stack, RealtimeSettings().instance_type)

    assert update == {"config": naming.endpoint_config_name(DATASET, SECOND), "retain": True, "scaled_then": True}
    assert len(_targets(stack)) == 1


def test_another_instance_type_deregisters_the_variant_before_the_update(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    _scaled_endpoint(stack, handler_of, sample_event, lambda_context)

    (update,) = _update_to(stack, "ml.c5.xlarge")

    # SageMaker refuses to change a scaled variant's instance type; the next in-service event registers it again.
    assert update == {"config": naming.endpoint_config_name(DATASET, SECOND), "retain": False, "scaled_then": False}
    assert _targets(stack) == [] and _record(stack)["autoscaling_registered"] is False


def test_the_idle_guard_deregisters_a_scaled_variant_before_deleting_its_endpoint(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    _scaled_endpoint(stack, handler_of, sample_event, lambda_context)
    event = sample_event("scheduled_idle_check.json")
    event["time"] = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")

    outcome = handler_of("idle_endpoints")(event, lambda_context)

    assert outcome["deleted"] == [ENDPOINT]
    assert _targets(stack) == [] and _record(stack)["autoscaling_registered"] is False
    assert resource_id(ENDPOINT, VARIANT_NAME) == f"endpoint/{ENDPOINT}/variant/AllTraffic"
