"""The SageMaker calls of the endpoints: endpoint configs, endpoints, and their clean-up (models included).

The create calls return False when the name exists already, and deletes of what is gone return False
(icflow.core.sagemaker_answers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from icflow.core.sagemaker_answers import already_exists, gone, tag_list

VARIANT_NAME = "AllTraffic"  # the name the seed notebook's SDK gives the one variant
# Blue/green: shift all traffic at once after this bake time, then keep the old fleet this long for rollback.
BLUE_GREEN_WAIT_SECONDS = 300
BLUE_GREEN_TERMINATION_WAIT_SECONDS = 600


@dataclass(frozen=True)
class Endpoint:
    name: str
    arn: str
    status: str  # DescribeEndpoint's spelling: InService, Updating, Failed, ...
    config_name: str
    failure_reason: str | None
    variant_names: tuple[str, ...]
    last_modified: datetime | None = None


class SageMakerEndpoints:
    def __init__(self, sagemaker_client: Any, stack_tags: Mapping[str, str]) -> None:
        """`stack_tags` go on every config and endpoint created here (icflow.core.ownership)."""
        self._sagemaker = sagemaker_client
        self._stack_tags = stack_tags

    def create_endpoint_config(
        self, name: str, model_name: str, instance_type: str, instance_count: int, tags: dict[str, str]
    ) -> bool:
        try:
            self._sagemaker.create_endpoint_config(
                EndpointConfigName=name,
                ProductionVariants=[
                    {
                        "VariantName": VARIANT_NAME,
                        "ModelName": model_name,
                        "InstanceType": instance_type,
                        "InitialInstanceCount": instance_count,
                        "InitialVariantWeight": 1.0,
                    }
                ],
                Tags=tag_list(tags, self._stack_tags),
            )
        except ClientError as error:
            if already_exists(error) or "already existing" in error.response["Error"].get("Message", ""):
                return False
            raise
        return True

    def endpoint(self, name: str) -> Endpoint | None:
        try:
            found = self._sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if gone(error):
                return None
            raise
        return Endpoint(
            name=name,
            arn=found["EndpointArn"],
            status=found["EndpointStatus"],
            config_name=found["EndpointConfigName"],
            failure_reason=found.get("FailureReason"),
            variant_names=tuple(variant["VariantName"] for variant in found.get("ProductionVariants", [])),
            last_modified=found.get("LastModifiedTime"),
        )

    def create_endpoint(self, name: str, config_name: str, tags: dict[str, str]) -> bool:
        try:
            self._sagemaker.create_endpoint(
                EndpointName=name, EndpointConfigName=config_name, Tags=tag_list(tags, self._stack_tags)
            )
        except ClientError as error:
            if already_exists(error) or "already existing" in error.response["Error"].get("Message", ""):
                return False
            raise
        return True

    def update_endpoint(
        self,
        name: str,
        config_name: str,
        blue_green: bool,
        rollback_alarm: str | None,
        retain_instance_count: bool = False,
    ) -> None:
        """Points the endpoint at a new config: in place, or blue/green with the alarm as auto-rollback trigger.
        `retain_instance_count`: the variant keeps the instance count it has (auto scaling's), not the config's
        initial one (RetainAllVariantProperties)."""
        request: dict[str, Any] = {"EndpointName": name, "EndpointConfigName": config_name}
        if retain_instance_count:
            request["RetainAllVariantProperties"] = True
        deployment: dict[str, Any] = {}
        if blue_green:
            deployment["BlueGreenUpdatePolicy"] = {
                "TrafficRoutingConfiguration": {
                    "Type": "ALL_AT_ONCE",
                    "WaitIntervalInSeconds": BLUE_GREEN_WAIT_SECONDS,
                },
                "TerminationWaitInSeconds": BLUE_GREEN_TERMINATION_WAIT_SECONDS,
            }
        if rollback_alarm is not None:
            deployment["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": rollback_alarm}]}
        if deployment:
            request["DeploymentConfig"] = deployment
        self._sagemaker.update_endpoint(**request)

    def endpoint_names(self, prefix: str) -> list[str]:
        names: list[str] = []
        for page in self._sagemaker.get_paginator("list_endpoints").paginate(NameContains=prefix):
            names.extend(item["EndpointName"] for item in page["Endpoints"] if item["EndpointName"].startswith(prefix))
        return names

    def endpoint_config_names(self, prefix: str) -> list[str]:
        names: list[str] = []
        for page in self._sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=prefix):
            names.extend(
                item["EndpointConfigName"]
                for item in page["EndpointConfigs"]
                if item["EndpointConfigName"].startswith(prefix)
            )
        return names

    def model_names(self, prefix: str) -> list[str]:
        names: list[str] = []
        for page in self._sagemaker.get_paginator("list_models").paginate(NameContains=prefix):
            names.extend(item["ModelName"] for item in page["Models"] if item["ModelName"].startswith(prefix))
        return names

    def endpoint_config_models(self, config_name: str) -> list[str]:
        return [variant["ModelName"] for variant in self._variants(config_name)]

    def endpoint_config_instance_types(self, config_name: str) -> list[str]:
        return [variant["InstanceType"] for variant in self._variants(config_name)]

    def _variants(self, config_name: str) -> list[dict[str, Any]]:
        """The config's production variants; none when the config is gone."""
        try:
            config = self._sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
        except ClientError as error:
            if gone(error):
                return []
            raise
        return config.get("ProductionVariants", [])

    def tags(self, arn: str) -> dict[str, str]:
        return {tag["Key"]: tag["Value"] for tag in self._sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}

    def delete_endpoint(self, name: str) -> bool:
        return self._delete(self._sagemaker.delete_endpoint, EndpointName=name)

    def delete_endpoint_config(self, name: str) -> bool:
        return self._delete(self._sagemaker.delete_endpoint_config, EndpointConfigName=name)

    def delete_model(self, name: str) -> bool:
        return self._delete(self._sagemaker.delete_model, ModelName=name)

    @staticmethod
    def _delete(call: Any, **kwargs: Any) -> bool:
        """True when this call deleted it, False when it was gone already."""
        try:
            call(**kwargs)
        except ClientError as error:
            if gone(error):
                return False
            raise
        return True
