"""The Model Registry: model package groups and their versioned model packages, with the approval workflow.

A group's packages are numbered 1, 2, ... in the order they are registered; a number is never given twice in a
group, even after its package is deleted, so an ARN always means one package. Every registration and every
change of ModelApprovalStatus is published as "SageMaker Model Package State Change", whose detail is the
DescribeModelPackage answer, as SageMaker sends it to whoever deploys approved models.
"""

from __future__ import annotations

import time
from typing import Any

from icflow_tools.local_sagemaker import listing
from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import ConflictException, ValidationException
from icflow_tools.local_sagemaker.events import MODEL_PACKAGE_STATE_CHANGE
from icflow_tools.local_sagemaker.store import MODEL_PACKAGE, MODEL_PACKAGE_GROUP, Record

DEFAULT_APPROVAL_STATUS = "PendingManualApproval"  # what SageMaker gives a versioned package registered without one

# CreateModelPackage members a package keeps as given, as DescribeModelPackage answers them.
_KEPT = (
    "ModelPackageDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceAlgorithmSpecification",
    "ValidationSpecification",
    "ApprovalDescription",
    "MetadataProperties",
    "ModelMetrics",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ModelCard",
    "ModelLifeCycle",
)
# UpdateModelPackage members that replace the package's own (ClientToken needs nothing: an update is idempotent).
_REPLACED = (
    "ModelApprovalStatus",
    "ApprovalDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceUri",
    "ModelCard",
    "ModelLifeCycle",
)
_GROUP_SUMMARY = (
    "ModelPackageGroupName",
    "ModelPackageGroupArn",
    "ModelPackageGroupDescription",
    "CreationTime",
    "ModelPackageGroupStatus",
)
_PACKAGE_SUMMARY = (
    "ModelPackageName",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "ModelPackageStatus",
    "ModelApprovalStatus",
    "ModelLifeCycle",
    "ModelPackageRegistrationType",
)


def _name_of(value: str) -> str:
    """A name, or the resource part of an ARN (the API takes both): "...:model-package/digits/3" -> "digits/3"."""
    return value.split("/", 1)[1] if value.startswith("arn:") else value


class Registry:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # Held with the store's lock, so that numbering and registering a package are one step.
        self._last_versions: dict[str, int] = {}  # group (lower case) -> the highest version it ever gave
        self._tokens: dict[tuple[str, str], str] = {}  # (group, ClientToken) -> the package ARN it registered

    # -- groups ---------------------------------------------------------------------------------------------------
    def _group_missing(self, name: str) -> ValidationException:
        return ValidationException(
            f"ModelPackageGroup {self.ctx.store.account.arn(MODEL_PACKAGE_GROUP, name)} does not exist."
        )

    def _group(self, name_or_arn: str) -> Record:
        name = _name_of(name_or_arn)
        record = self.ctx.store.get(MODEL_PACKAGE_GROUP, name)
        if record is None:
            raise self._group_missing(name)
        return record

    def create_model_package_group(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["ModelPackageGroupName"]
        arn = ctx.store.account.arn(MODEL_PACKAGE_GROUP, name)
        record = {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": arn,
            **(
                {"ModelPackageGroupDescription": params["ModelPackageGroupDescription"]}
                if "ModelPackageGroupDescription" in params
                else {}
            ),
            "CreationTime": time.time(),
            "CreatedBy": {},  # SageMaker names a Studio user here; calls from outside Studio get {}
            "ModelPackageGroupStatus": "Completed",
        }
        with ctx.store.locked():
            ctx.store.insert(
                MODEL_PACKAGE_GROUP,
                name,
                record,
                params.get("Tags"),
                lambda: ValidationException(f"Model Package Group already exists: {arn}"),
            )
            self._last_versions[name.lower()] = 0
        return {"ModelPackageGroupArn": arn}

    def describe_model_package_group(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._group(params["ModelPackageGroupName"])

    def list_model_package_groups(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        items, token = listing.page(
            ctx.store.all(MODEL_PACKAGE_GROUP),
            params,
            "ModelPackageGroupName",
            None,
            lambda r: listing.pick(r, _GROUP_SUMMARY),
            default_order="Ascending",
        )
        return listing.answer("ModelPackageGroupSummaryList", items, token)

    def delete_model_package_group(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        with ctx.store.locked():
            group = self._group(params["ModelPackageGroupName"])
            name = group["ModelPackageGroupName"]
            versions = ctx.store.count(MODEL_PACKAGE, lambda r: r["ModelPackageGroupName"].lower() == name.lower())
            if versions:
                # SageMaker keeps a group's packages safe: they must be deleted first.
                raise ConflictException(
                    f"Model Package Group {group['ModelPackageGroupArn']} cannot be deleted because it contains "
                    f"{versions} model package version(s); delete them first."
                )
            ctx.store.delete(MODEL_PACKAGE_GROUP, name)
            self._last_versions.pop(name.lower(), None)
            self._tokens = {key: arn for key, arn in self._tokens.items() if key[0] != name.lower()}
        return {}

    # -- packages -------------------------------------------------------------------------------------------------
    def next_version(self, group: str) -> int:
        """The version the group's next package gets (IAM authorizes CreateModelPackage on that package's ARN)."""
        with self.ctx.store.locked():
            return self._last_versions.get(_name_of(group).lower(), 0) + 1

    def _package(self, name_or_arn: str) -> Record:
        name = _name_of(name_or_arn)
        record = self.ctx.store.get(MODEL_PACKAGE, name)
        if record is None:
            raise ValidationException(f"ModelPackage {self.ctx.store.account.arn(MODEL_PACKAGE, name)} does not exist.")
        return record

    def _publish(self, record: Record) -> None:
        self.ctx.publisher.publish(
            MODEL_PACKAGE_STATE_CHANGE,
            "DescribeModelPackage",
            record["ModelPackageArn"],
            record,
            self.ctx.store.tags(record["ModelPackageArn"]),
        )

    def create_model_package(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        if "ModelPackageGroupName" not in params:
            if "ModelPackageName" in params:
                raise ValidationException(
                    "The local SageMaker registers versioned model packages only: give ModelPackageGroupName."
                )
            raise ValidationException("Missing ARN.")  # SageMaker's answer when neither name is given
        if "ModelPackageName" in params:
            raise ValidationException(
                "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
                "Cannot determine which one to use."
            )
        with ctx.store.locked():
            group = self._group(params["ModelPackageGroupName"])
            name = group["ModelPackageGroupName"]
            token = (name.lower(), params.get("ClientToken", ""))
            if token[1] and token in self._tokens:
                # The same request again (a retry): its package, not a new version.
                return {"ModelPackageArn": self._tokens[token]}
            version = self._last_versions[name.lower()] + 1
            now = time.time()
            record = {
                "ModelPackageName": name,  # a versioned package is named after its group
                "ModelPackageGroupName": name,
                "ModelPackageVersion": version,
                "ModelPackageArn": ctx.store.account.arn(MODEL_PACKAGE, f"{name}/{version}"),
                "CreationTime": now,
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
                "CertifyForMarketplace": bool(params.get("CertifyForMarketplace", False)),
                "ModelApprovalStatus": params.get("ModelApprovalStatus", DEFAULT_APPROVAL_STATUS),
                "CreatedBy": {},
                "LastModifiedTime": now,
                **{field: params[field] for field in _KEPT if field in params},
            }
            stored = ctx.store.insert(
                MODEL_PACKAGE,
                f"{name}/{version}",
                record,
                params.get("Tags"),
                lambda: ValidationException(f"Model package {record['ModelPackageArn']} already exists."),
            )
            self._last_versions[name.lower()] = version
            if token[1]:
                self._tokens[token] = stored["ModelPackageArn"]
        self._publish(stored)
        return {"ModelPackageArn": stored["ModelPackageArn"]}

    def describe_model_package(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._package(params["ModelPackageName"])

    def update_model_package(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        before = self._package(params["ModelPackageArn"])
        key = f"{before['ModelPackageGroupName']}/{before['ModelPackageVersion']}"
        removed = set(params.get("CustomerMetadataPropertiesToRemove", []))

        def change(record: Record) -> None:
            record.update({field: params[field] for field in _REPLACED if field in params})
            if "AdditionalInferenceSpecificationsToAdd" in params:
                record["AdditionalInferenceSpecifications"] = [
                    *record.get("AdditionalInferenceSpecifications", []),
                    *params["AdditionalInferenceSpecificationsToAdd"],
                ]
            if "CustomerMetadataProperties" in params or removed:
                metadata = {
                    **record.get("CustomerMetadataProperties", {}),
                    **params.get("CustomerMetadataProperties", {}),
                }
                record["CustomerMetadataProperties"] = {k: v for k, v in metadata.items() if k not in removed}

        with ctx.store.locked():  # a package deleted meanwhile is "does not exist", not a KeyError
            before = self._package(params["ModelPackageArn"])
            after = ctx.store.update(MODEL_PACKAGE, key, change)
        if after["ModelApprovalStatus"] != before["ModelApprovalStatus"]:
            self._publish(after)
        return {"ModelPackageArn": after["ModelPackageArn"]}

    def list_model_packages(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        group = _name_of(params["ModelPackageGroupName"]).lower() if "ModelPackageGroupName" in params else None
        # Without a group, SageMaker lists unversioned packages unless told otherwise; this registry holds none.
        kind = params.get("ModelPackageType") or ("Both" if group else "Unversioned")
        records = [
            record
            for record in ctx.store.all(MODEL_PACKAGE)
            if kind != "Unversioned"
            and (group is None or record["ModelPackageGroupName"].lower() == group)
            and params.get("ModelApprovalStatus", record["ModelApprovalStatus"]) == record["ModelApprovalStatus"]
        ]
        items, token = listing.page(
            records,
            params,
            "ModelPackageName",
            None,
            lambda r: listing.pick(r, _PACKAGE_SUMMARY),
            # Versions of one group are created in order; the number breaks ties of the same CreationTime.
            sort_keys={"CreationTime": lambda r: (r["CreationTime"], r["ModelPackageVersion"])},
            default_order="Ascending",
        )
        return listing.answer("ModelPackageSummaryList", items, token)

    def delete_model_package(self, ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
        record = self._package(params["ModelPackageName"])
        with ctx.store.locked():
            ctx.store.delete(MODEL_PACKAGE, f"{record['ModelPackageGroupName']}/{record['ModelPackageVersion']}")
            self._tokens = {key: arn for key, arn in self._tokens.items() if arn != record["ModelPackageArn"]}
        return {}

    def operations(self) -> dict[str, Any]:
        return {
            "CreateModelPackageGroup": self.create_model_package_group,
            "DescribeModelPackageGroup": self.describe_model_package_group,
            "ListModelPackageGroups": self.list_model_package_groups,
            "DeleteModelPackageGroup": self.delete_model_package_group,
            "CreateModelPackage": self.create_model_package,
            "DescribeModelPackage": self.describe_model_package,
            "UpdateModelPackage": self.update_model_package,
            "ListModelPackages": self.list_model_packages,
            "DeleteModelPackage": self.delete_model_package,
        }
