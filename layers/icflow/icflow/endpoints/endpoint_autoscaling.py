"""Application Auto Scaling of an endpoint's variant (pipeline.json's deploy.realtime.autoscaling).

A variant is the scalable target `endpoint/<endpoint>/variant/<variant>` of dimension
sagemaker:variant:DesiredInstanceCount in namespace sagemaker, scaled by a target tracking policy on the
predefined metric SageMakerVariantInvocationsPerInstance (requests a minute per instance). Registering needs an
endpoint in service; the first registration in an account creates the service-linked role
AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint, and the policy's CloudWatch alarms (TargetTracking-...)
are Application Auto Scaling's own (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html).

What SageMaker allows of a scaled variant (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html):
UpdateEndpoint fails when it changes the instance type of a variant that is a scalable target, or removes it, so
the target is deregistered first and registered again once the endpoint is in service; a new model on the same
variant name and instance type is allowed. Deregistering a target deletes its policies and their alarms
(DeregisterScalableTarget in the Application Auto Scaling API reference).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from icflow.core.pipeline_config import AutoscalingSettings

SERVICE_NAMESPACE = "sagemaker"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED_METRIC = "SageMakerVariantInvocationsPerInstance"
POLICY_NAME = "icflow-invocations-per-instance"


def resource_id(endpoint_name: str, variant_name: str) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant_name}"


class EndpointAutoscaling:
    def __init__(self, autoscaling_client: Any) -> None:
        self._client = autoscaling_client

    def register(self, endpoint_name: str, variant_name: str, settings: AutoscalingSettings) -> None:
        """Registers (or updates) the variant's bounds and its target tracking policy; both calls are idempotent."""
        target = {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": resource_id(endpoint_name, variant_name),
            "ScalableDimension": SCALABLE_DIMENSION,
        }
        self._client.register_scalable_target(
            **target, MinCapacity=settings.min_instances, MaxCapacity=settings.max_instances
        )
        self._client.put_scaling_policy(
            **target,
            PolicyName=POLICY_NAME,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(settings.target_invocations_per_instance),
                "PredefinedMetricSpecification": {"PredefinedMetricType": PREDEFINED_METRIC},
            },
        )

    def deregister(self, endpoint_name: str, variant_name: str) -> bool:
        """Deregisters the variant, its policy with it; False when it was not registered."""
        target = {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": resource_id(endpoint_name, variant_name),
            "ScalableDimension": SCALABLE_DIMENSION,
        }
        # Asked first: the answer for a target that is not there is a documented ObjectNotFoundException on AWS
        # but a ValidationException on moto, and nothing else tells it from a bad request.
        found = self._client.describe_scalable_targets(
            ServiceNamespace=SERVICE_NAMESPACE,
            ResourceIds=[target["ResourceId"]],
            ScalableDimension=SCALABLE_DIMENSION,
        )["ScalableTargets"]
        if not found:
            return False
        try:
            self._client.deregister_scalable_target(**target)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ObjectNotFoundException":  # deregistered meanwhile
                return False
            raise
        return True
