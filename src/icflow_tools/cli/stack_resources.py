"""Where the stack's resources are, for the commands that talk to a deployed or local stack.

In order: explicit --table/--bucket; --stack NAME (the CloudFormation stack's outputs); the local stack's
state file (default .icflow/local.json) when it exists, with its endpoint URLs; otherwise an error that
says which of these to give. Clients otherwise follow boto3's usual settings (AWS_PROFILE, AWS_REGION,
AWS_ENDPOINT_URL, ...).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from icflow.core.errors import IcflowError

DEFAULT_STATE_FILE = Path(".icflow") / "local.json"
TABLE_OUTPUT = "RunsTableName"
BUCKET_OUTPUT = "DataBucketName"
_SAGEMAKER_SERVICES = ("sagemaker", "sagemaker-runtime")


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "stack (first match wins: --table/--bucket, --stack, the local stack's state file)"
    )
    group.add_argument("--stack", help="a deployed icflow stack's CloudFormation name")
    group.add_argument(
        "--state-file",
        type=Path,
        default=DEFAULT_STATE_FILE,
        help=f"the local stack's state file (default: {DEFAULT_STATE_FILE})",
    )
    group.add_argument("--table", help="the run-state table's name")
    group.add_argument("--bucket", help="the data bucket's name")
    group.add_argument("--region", help="AWS region (default: boto3's)")


@dataclass
class StackResources:
    table: str | None
    bucket: str | None
    region: str | None = None
    endpoint_urls: dict[str, str] = field(default_factory=dict)  # "default" and per service, for the local stack
    # The local stack's operator credentials (its state file's AWS_* variables); None: the caller's own.
    credentials: dict[str, str] | None = None
    # What the icflow:stack tag of the stack's SageMaker resources says; None: not known (--table/--bucket).
    stack_name: str | None = None

    def client(self, service: str) -> Any:
        import boto3

        from icflow_tools.local_iam.credentials import session_with

        url = self.endpoint_urls.get(service) or self.endpoint_urls.get("default")
        session = (
            session_with(self.credentials, self.region) if self.credentials else boto3.Session(region_name=self.region)
        )
        return session.client(service, endpoint_url=url)

    def require_table(self) -> str:
        if not self.table:
            raise IcflowError("no run-state table: give --stack NAME, --table NAME, or start the local stack")
        return self.table


def _local(path: Path, region: str | None) -> StackResources:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise IcflowError(f"cannot read the local stack's state file {path}: {error}") from error
    outputs = state.get("outputs", {})
    urls = {"default": state["endpoint_url"]}
    if state.get("sagemaker_endpoint_url"):
        urls.update({service: state["sagemaker_endpoint_url"] for service in _SAGEMAKER_SERVICES})
    from icflow_tools.local_iam.credentials import CREDENTIAL_VARIABLES

    environment = state.get("environment", {})
    # The local stack authorizes every call: sign as its operator, never with the caller's real credentials.
    credentials = {name: environment[name] for name in CREDENTIAL_VARIABLES if name in environment}
    return StackResources(
        outputs.get(TABLE_OUTPUT),
        outputs.get(BUCKET_OUTPUT),
        region or state.get("region"),
        urls,
        credentials or None,
        state.get("stack_name"),
    )


def _cloudformation(stack: str, region: str | None) -> StackResources:
    import boto3
    from botocore.exceptions import ClientError

    try:
        described = boto3.Session(region_name=region).client("cloudformation").describe_stacks(StackName=stack)
    except ClientError as error:
        raise IcflowError(f"cannot read stack {stack}: {error.response['Error'].get('Message', error)}") from error
    found = described["Stacks"][0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in found.get("Outputs", [])}
    return StackResources(outputs.get(TABLE_OUTPUT), outputs.get(BUCKET_OUTPUT), region, stack_name=found["StackName"])


def resolve(args: argparse.Namespace) -> StackResources:
    if args.table or args.bucket:
        found = StackResources(args.table, args.bucket, args.region)
        if args.state_file.exists() and not args.stack:
            found.endpoint_urls = _local(args.state_file, args.region).endpoint_urls
        return found
    if args.stack:
        return _cloudformation(args.stack, args.region)
    if args.state_file.exists():
        return _local(args.state_file, args.region)
    return StackResources(None, None, args.region)
