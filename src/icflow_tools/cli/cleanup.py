"""`icflow cleanup --dataset NAME`: delete the dataset's endpoint, endpoint configs and models, as the seed
notebook's clean-up step does, and its model package group in the SageMaker Model Registry with its versions,
after showing what will go. Only resources named by icflow and tagged with the dataset, and with the stack when
it is known (--stack or the local stack), are touched: another stack in the account may have a dataset of the
same name. So the group goes only when every version in it does. Data in S3 is never deleted."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from icflow_tools.cli.stack_resources import add_stack_arguments, resolve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        help="delete a dataset's endpoint, endpoint configs, models and model package group",
        description="Shows the dataset's endpoint, endpoint configs, models, and model package group with its "
        "versions, asks, deletes them.",
    )
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def find(sagemaker: Any, dataset: str, stack_name: str | None = None) -> dict[str, list[str]]:
    """The dataset's resources by kind: icflow's names, and the dataset's tag, which tells datasets with similar
    names apart; with `stack_name`, only those of that stack."""
    from icflow.core import naming

    def _tagged(arn: str) -> bool:
        tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn).get("Tags", [])}
        return naming.dataset_of_tags(tags) == dataset and (
            stack_name is None or tags.get(naming.TAG_STACK) == stack_name
        )

    endpoint = naming.endpoint_name(dataset)
    found: dict[str, list[str]] = {
        "endpoint": [],
        "endpoint config": [],
        "model": [],
        "model package": [],  # versions, by ARN (a versioned package's name is its group's)
        "package group": [],
    }
    for page in sagemaker.get_paginator("list_endpoints").paginate(NameContains=endpoint):
        found["endpoint"] += [
            e["EndpointName"] for e in page["Endpoints"] if e["EndpointName"] == endpoint and _tagged(e["EndpointArn"])
        ]
    # Long dataset names are shortened differently in config and model names: every icflow name is a candidate.
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=naming.NAME_PREFIX):
        found["endpoint config"] += [
            c["EndpointConfigName"]
            for c in page["EndpointConfigs"]
            if naming.is_icflow_name(c["EndpointConfigName"]) and _tagged(c["EndpointConfigArn"])
        ]
    for page in sagemaker.get_paginator("list_models").paginate(NameContains=naming.NAME_PREFIX):
        found["model"] += [
            m["ModelName"] for m in page["Models"] if naming.is_icflow_name(m["ModelName"]) and _tagged(m["ModelArn"])
        ]
    found["model package"], found["package group"] = _registry(
        sagemaker, naming.model_package_group_name(dataset), _tagged
    )
    return found


def _registry(sagemaker: Any, group: str, tagged: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """The group's versions tagged like the dataset's resources, and the group itself when it is tagged so and
    nothing else is left in it: versions registered by another stack keep their group."""
    groups = [
        summary
        for page in sagemaker.get_paginator("list_model_package_groups").paginate(NameContains=group)
        for summary in page["ModelPackageGroupSummaryList"]
        if summary["ModelPackageGroupName"] == group
    ]
    if not groups:
        return [], []
    versions = [
        summary["ModelPackageArn"]
        for page in sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=group, ModelPackageType="Versioned"
        )
        for summary in page["ModelPackageSummaryList"]
    ]
    ours = [arn for arn in versions if tagged(arn)]
    whole = len(ours) == len(versions) and tagged(groups[0]["ModelPackageGroupArn"])
    return ours, [group] if whole else []


def run(args: argparse.Namespace) -> int:
    from icflow.core.state import ANY_ENDPOINT_STATUS, ENDPOINT_SK, EndpointStatus, StateTable
    from icflow.endpoints.endpoint_autoscaling import EndpointAutoscaling
    from icflow.endpoints.sagemaker_endpoints import VARIANT_NAME, SageMakerEndpoints

    resources = resolve(args)
    sagemaker = resources.client("sagemaker")
    found = find(sagemaker, args.dataset, resources.stack_name)
    of = f"dataset {args.dataset}" + (f" in stack {resources.stack_name}" if resources.stack_name else " (any stack)")
    if not any(found.values()):
        print(f"nothing to delete for {of}")
        return 0
    print(f"icflow resources of {of}:")
    for kind, names in found.items():
        for name in names:
            print(f"  {kind:<16}{name}")
    if not args.yes and input("delete them? [y/N] ").strip().lower() not in ("y", "yes"):
        print("nothing deleted")
        return 1
    deploy = SageMakerEndpoints(sagemaker, stack_tags={})  # deletes only: creates nothing to tag
    autoscaling = EndpointAutoscaling(resources.client("application-autoscaling"))
    # The endpoint first: SageMaker keeps configs and models an endpoint uses. Its variant's scaling before it
    # (deploy.realtime.autoscaling), so no scalable target outlives the endpoint.
    for name in found["endpoint"]:
        autoscaling.deregister(name, VARIANT_NAME)
        deploy.delete_endpoint(name)
    for name in found["endpoint config"]:
        deploy.delete_endpoint_config(name)
    for name in found["model"]:
        deploy.delete_model(name)
    # A group is deleted only once it holds no version.
    for arn in found["model package"]:
        sagemaker.delete_model_package(ModelPackageName=arn)
    for name in found["package group"]:
        sagemaker.delete_model_package_group(ModelPackageGroupName=name)
    print(f"deleted {sum(len(names) for names in found.values())} resources")
    if resources.table and found["endpoint"]:
        store = StateTable(resources.client("dynamodb"), resources.table)
        # No item (an endpoint icflow did not record): the transition's condition leaves the table alone.
        store.transition_item(
            args.dataset,
            ENDPOINT_SK,
            EndpointStatus.DELETED.value,
            ANY_ENDPOINT_STATUS,
            fields={"configs": [], "target_config": None, "autoscaling_registered": False},
            reason="deleted by icflow cleanup",
        )
    return 0
