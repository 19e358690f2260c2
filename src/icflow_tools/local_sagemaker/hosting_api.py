"""Models, endpoint configs and endpoints: Create/Describe/Delete/List, and UpdateEndpoint.

Endpoints load their models in the background (Creating -> InService, Updating -> InService); the runtime keeps
serving the old variants until the new ones are loaded.
"""

from __future__ import annotations

import time
from typing import Any

from icflow_tools.local_sagemaker import listing
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.endpoints import EndpointRuntime, Variant
from icflow_tools.local_sagemaker.errors import JobFailure, ValidationException
from icflow_tools.local_sagemaker.events import (
    DELETED_ENDPOINT_STATUS,
    ENDPOINT_STATE_CHANGE,
    MODEL_STATE_CHANGE,
    event_status,
)
from icflow_tools.local_sagemaker.store import ENDPOINT, ENDPOINT_CONFIG, MODEL, Record

_NOUNS = {MODEL: "model", ENDPOINT_CONFIG: "endpoint configuration", ENDPOINT: "endpoint"}


def _missing(ctx: ServiceContext, kind: str, name: str) -> ValidationException:
    return ValidationException(f'Could not find {_NOUNS[kind]} "{ctx.store.account.arn(kind, name)}".')


def _get(ctx: ServiceContext, kind: str, name: str) -> Record:
    record = ctx.store.get(kind, name)
    if record is None:
        raise _missing(ctx, kind, name)
    return record


def _insert(ctx: ServiceContext, kind: str, name: str, record: Record, tags: list[dict[str, str]] | None) -> Record:
    arn = ctx.store.account.arn(kind, name)
    return ctx.store.insert(
        kind, name, record, tags, lambda: ValidationException(f'Cannot create already existing {_NOUNS[kind]} "{arn}".')
    )


# -- models ---------------------------------------------------------------------------------------------------------
def create_model(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("PrimaryContainer") and not params.get("Containers"):
        raise ValidationException("Either PrimaryContainer or Containers must be specified.")
    name = params["ModelName"]
    record = {
        "ModelName": name,
        **{
            field: params[field]
            for field in ("PrimaryContainer", "Containers", "ExecutionRoleArn", "VpcConfig")
            if field in params
        },
        "CreationTime": time.time(),
        "ModelArn": ctx.store.account.arn(MODEL, name),
        "EnableNetworkIsolation": bool(params.get("EnableNetworkIsolation", False)),
    }
    stored = _insert(ctx, MODEL, name, record, params.get("Tags"))
    ctx.publisher.publish(
        MODEL_STATE_CHANGE, "DescribeModel", stored["ModelArn"], stored, ctx.store.tags(stored["ModelArn"])
    )
    return {"ModelArn": stored["ModelArn"]}


def describe_model(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    return _get(ctx, MODEL, params["ModelName"])


def delete_model(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    record = _get(ctx, MODEL, params["ModelName"])
    ctx.store.delete(MODEL, record["ModelName"])
    # SageMaker's event for a deleted model carries no tags (docs/sagemaker-events.md).
    ctx.publisher.publish(MODEL_STATE_CHANGE, "DescribeModel", record["ModelArn"], record, {})
    return {}


def list_models(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    items, token = listing.page(
        ctx.store.all(MODEL),
        params,
        "ModelName",
        None,
        lambda r: listing.pick(r, ("ModelName", "ModelArn", "CreationTime")),
    )
    return listing.answer("Models", items, token)


# -- endpoint configs -----------------------------------------------------------------------------------------------
def create_endpoint_config(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointConfigName"]
    variants = params["ProductionVariants"]
    names = [variant["VariantName"] for variant in variants]
    if len(names) != len(set(names)):
        raise ValidationException(f"Variant names must be unique within an endpoint configuration: {names}.")
    for variant in variants:
        if "ModelName" not in variant:
            raise ValidationException(f"Variant {variant['VariantName']}: ModelName must be specified.")
        _get(ctx, MODEL, variant["ModelName"])
    record = {
        "EndpointConfigName": name,
        "EndpointConfigArn": ctx.store.account.arn(ENDPOINT_CONFIG, name),
        "ProductionVariants": [{"InitialVariantWeight": 1.0, **variant} for variant in variants],
        **{
            field: params[field]
            for field in ("DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig")
            if field in params
        },
        "CreationTime": time.time(),
    }
    stored = _insert(ctx, ENDPOINT_CONFIG, name, record, params.get("Tags"))
    return {"EndpointConfigArn": stored["EndpointConfigArn"]}


def describe_endpoint_config(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    return _get(ctx, ENDPOINT_CONFIG, params["EndpointConfigName"])


def delete_endpoint_config(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    _get(ctx, ENDPOINT_CONFIG, params["EndpointConfigName"])
    ctx.store.delete(ENDPOINT_CONFIG, params["EndpointConfigName"])
    return {}


def list_endpoint_configs(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    items, token = listing.page(
        ctx.store.all(ENDPOINT_CONFIG),
        params,
        "EndpointConfigName",
        None,
        lambda r: listing.pick(r, ("EndpointConfigName", "EndpointConfigArn", "CreationTime")),
    )
    return listing.answer("EndpointConfigs", items, token)


# -- endpoints ------------------------------------------------------------------------------------------------------
class Hosting:
    def __init__(self, ctx: ServiceContext, runtime: EndpointRuntime) -> None:
        self.ctx = ctx
        self.runtime = runtime

    def _publish(self, record: Record) -> None:
        self.ctx.publisher.publish(
            ENDPOINT_STATE_CHANGE,
            "DescribeEndpoint",
            record["EndpointArn"],
            record,
            self.ctx.store.tags(record["EndpointArn"]),
            EndpointStatus=event_status(record["EndpointStatus"]),
        )

    def _set(self, name: str, **fields: Any) -> Record:
        record = self.ctx.store.update(ENDPOINT, name, lambda r: r.update(fields))
        self._publish(record)
        return record

    def _summaries(self, config: Record, variants: list[Variant]) -> list[Record]:
        now = time.time()
        specs = {spec["VariantName"]: spec for spec in config["ProductionVariants"]}
        summaries = []
        for variant in variants:
            spec = specs[variant.name]
            model = self.ctx.store.get(MODEL, spec["ModelName"]) or {}
            image = (model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]).get("Image", "")
            count = spec.get("InitialInstanceCount", 1)
            summaries.append(
                {
                    "VariantName": variant.name,
                    "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": now}],
                    "CurrentWeight": variant.weight,
                    "DesiredWeight": variant.weight,
                    "CurrentInstanceCount": count,
                    "DesiredInstanceCount": count,
                }
            )
        return summaries

    def _deploy(self, name: str, config: Record, updating: bool) -> None:
        if updating and (fault := self.ctx.faults.failure("endpoint-update", name)):
            # The injected update fails outright (AWS's Failed: "could not be ... updated"); the runtime keeps the
            # previous variants, and DeleteEndpoint is what the endpoint is left good for.
            reason = fault.failure_reason(config["ProductionVariants"][0]["VariantName"])
            self._set(name, EndpointStatus="Failed", FailureReason=reason[:1024])
            return
        try:
            variants = self.runtime.load(config)
        except JobFailure as error:
            if updating:
                # As SageMaker does, a failed update leaves the endpoint serving its previous configuration.
                self._set(name, EndpointStatus="InService", FailureReason=str(error)[:1024])
            else:
                self._set(name, EndpointStatus="Failed", FailureReason=str(error)[:1024])
            return
        self.runtime.serve(name, variants)
        fields = {
            "EndpointStatus": "InService",
            "EndpointConfigName": config["EndpointConfigName"],
            "ProductionVariants": self._summaries(config, variants),
        }
        self.ctx.store.update(ENDPOINT, name, lambda r: r.pop("FailureReason", None))
        self._set(name, **fields)

    def create_endpoint(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        config = _get(ctx, ENDPOINT_CONFIG, params["EndpointConfigName"])
        now = time.time()
        record = {
            "EndpointName": name,
            "EndpointArn": ctx.store.account.arn(ENDPOINT, name),
            "EndpointConfigName": config["EndpointConfigName"],
            "EndpointStatus": "Creating",
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        stored = _insert(ctx, ENDPOINT, name, record, params.get("Tags"))
        self._publish(stored)
        ctx.start(ENDPOINT, name, lambda control: self._deploy(name, config, updating=False))
        return {"EndpointArn": stored["EndpointArn"]}

    def update_endpoint(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["EndpointName"]
        record = _get(ctx, ENDPOINT, name)
        config = _get(ctx, ENDPOINT_CONFIG, params["EndpointConfigName"])
        if record["EndpointStatus"] != "InService":
            raise ValidationException(f'Cannot update in-progress endpoint "{record["EndpointArn"]}".')
        self._set(name, EndpointStatus="Updating")
        ctx.start(ENDPOINT, name, lambda control: self._deploy(name, config, updating=True))
        return {"EndpointArn": record["EndpointArn"]}

    def describe_endpoint(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        return _get(ctx, ENDPOINT, params["EndpointName"])

    def delete_endpoint(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        record = _get(ctx, ENDPOINT, params["EndpointName"])
        if record["EndpointStatus"] in ("Creating", "Updating"):
            raise ValidationException(f'Cannot delete in-progress endpoint "{record["EndpointArn"]}".')
        self.runtime.remove(record["EndpointName"])
        deleting = self._set(record["EndpointName"], EndpointStatus="Deleting")
        ctx.store.delete(ENDPOINT, record["EndpointName"])
        # The last event has a status DescribeEndpoint never shows, and no tags, as the resource is gone.
        ctx.publisher.publish(
            ENDPOINT_STATE_CHANGE,
            "DescribeEndpoint",
            deleting["EndpointArn"],
            deleting,
            {},
            EndpointStatus=DELETED_ENDPOINT_STATUS,
        )
        return {}

    def list_endpoints(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        fields = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
        items, token = listing.page(
            ctx.store.all(ENDPOINT), params, "EndpointName", "EndpointStatus", lambda r: listing.pick(r, fields)
        )
        return listing.answer("Endpoints", items, token)

    def operations(self) -> dict[str, Any]:
        return {
            "CreateModel": create_model,
            "DescribeModel": describe_model,
            "DeleteModel": delete_model,
            "ListModels": list_models,
            "CreateEndpointConfig": create_endpoint_config,
            "DescribeEndpointConfig": describe_endpoint_config,
            "DeleteEndpointConfig": delete_endpoint_config,
            "ListEndpointConfigs": list_endpoint_configs,
            "CreateEndpoint": self.create_endpoint,
            "DescribeEndpoint": self.describe_endpoint,
            "DeleteEndpoint": self.delete_endpoint,
            "ListEndpoints": self.list_endpoints,
            "UpdateEndpoint": self.update_endpoint,
        }
