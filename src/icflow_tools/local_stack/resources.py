"""Creates the template's resources in moto, from their resolved CloudFormation properties.

Each creator returns the resource's attributes: "Ref" (what !Ref gives) and what !GetAtt may ask for.
Roles are created with their inline and managed policies, which the local IAM enforces; resource-based
policies (bucket, queue and topic policies, Lambda permissions) are not created: the local stack's own
plumbing delivers S3 events and rule targets, and identity policies are what the functions' calls need.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from icflow.core.errors import IcflowError
from icflow_tools.local_iam.moto_store import MotoStore

logger = logging.getLogger(__name__)

Attributes = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """Where resources are created: a boto3 session pointed at moto, and the names of this stack."""

    session: boto3.Session
    endpoint_url: str
    stack_name: str
    region: str
    account_id: str

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, region_name=self.region)

    def physical_name(self, logical_id: str, limit: int, lower: bool = False) -> str:
        """`<stack>-<LogicalId>`, as CloudFormation names resources (without its random suffix: one stack per moto)."""
        name = f"{self.stack_name}-{logical_id}"
        if lower:
            name = re.sub(r"[^a-z0-9.-]", "-", name.lower())
        return name[:limit]

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"


def _bucket(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props.get("BucketName") or target.physical_name(logical_id, 63, lower=True)
    s3 = target.client("s3")
    if target.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": target.region})
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
        )
    encryption = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
            }
            for rule in encryption
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    notifications = props.get("NotificationConfiguration", {})
    if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled") in (True, "true"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    for kind in ("LambdaConfigurations", "QueueConfigurations", "TopicConfigurations"):
        if notifications.get(kind):
            logger.warning("%s: %s are not wired locally; use EventBridge notifications", logical_id, kind)
    return {
        "Ref": name,
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{target.region}.amazonaws.com",
    }


def _table(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props.get("TableName") or target.physical_name(logical_id, 255)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for optional in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes", "ProvisionedThroughput"):
        if optional in props:
            request[optional] = props[optional]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        request["SSESpecification"] = {
            "Enabled": sse.get("SSEEnabled") in (True, "true"),
            **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
        }
    dynamodb = target.client("dynamodb")
    answer = dynamodb.create_table(**request)["TableDescription"]
    if "TimeToLiveSpecification" in props:
        ttl = props["TimeToLiveSpecification"]
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"],
                "Enabled": ttl["Enabled"] in (True, "true"),
            },
        )
    return {"Ref": name, "Arn": answer["TableArn"], "StreamArn": answer.get("LatestStreamArn", "")}


def _topic(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    fifo = props.get("FifoTopic") in (True, "true")
    name = props.get("TopicName") or target.physical_name(logical_id, 251) + (".fifo" if fifo else "")
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication")
        if key in props
    }
    arn = target.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return {"Ref": arn, "TopicArn": arn, "TopicName": name}


def _subscription(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    attributes = {
        key: json.dumps(props[key]) if isinstance(props[key], dict) else str(props[key]).lower()
        for key in ("RawMessageDelivery", "FilterPolicy", "RedrivePolicy")
        if key in props
    }
    answer = target.client("sns").subscribe(
        TopicArn=props["TopicArn"],
        Protocol=props["Protocol"],
        Endpoint=props.get("Endpoint", ""),
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return {"Ref": answer["SubscriptionArn"], "Arn": answer["SubscriptionArn"]}


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def create_queue(target: Target, name: str, props: dict[str, Any]) -> Attributes:
    attributes = {}
    for key in _QUEUE_ATTRIBUTES:
        if key in props:
            value = props[key]
            attributes[key] = json.dumps(value) if isinstance(value, dict) else _text(value)
    url = target.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": target.arn("sqs", name)}


def _queue(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    fifo = props.get("FifoQueue") in (True, "true")
    name = props.get("QueueName") or target.physical_name(logical_id, 75) + (".fifo" if fifo else "")
    return create_queue(target, name, props)


def _role(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props.get("RoleName") or target.physical_name(logical_id, 64)
    iam = target.client("iam")
    answer = iam.create_role(
        RoleName=name,
        Path=props.get("Path", "/"),
        AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
        MaxSessionDuration=int(props.get("MaxSessionDuration", 3600)),
        Tags=props.get("Tags", []),
    )["Role"]
    for policy in props.get("Policies", []):
        # SAM's policy templates carry no Version: IAM then reads them as 2008-10-17, which moto refuses.
        # The versions differ only in policy variables, which those templates do not use.
        document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
        iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document))
    managed = props.get("ManagedPolicyArns", [])
    MotoStore(target.account_id).ensure_aws_managed_policies(managed)
    for arn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return {"Ref": name, "Arn": answer["Arn"], "RoleId": answer["RoleId"]}


def _parameter(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props.get("Name") or target.physical_name(logical_id, 2048)
    target.client("ssm").put_parameter(Name=name, Type=props.get("Type", "String"), Value=_text(props["Value"]))
    return {"Ref": name, "Type": props.get("Type", "String"), "Value": _text(props["Value"])}


def _event_bus(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props["Name"]
    arn = target.client("events").create_event_bus(Name=name)["EventBusArn"]
    return {"Ref": name, "Name": name, "Arn": arn}


_ALARM_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)
_ALARM_NUMBERS = ("Period", "EvaluationPeriods", "DatapointsToAlarm")


def _alarm(target: Target, logical_id: str, props: dict[str, Any]) -> Attributes:
    name = props.get("AlarmName") or target.physical_name(logical_id, 255)
    request: dict[str, Any] = {key: props[key] for key in _ALARM_FIELDS if key in props}
    for key in _ALARM_NUMBERS:
        if key in request:
            request[key] = int(request[key])
    if "Threshold" in request:
        request["Threshold"] = float(request["Threshold"])
    for metric in request.get("Metrics", []):
        if "MetricStat" in metric:
            metric["MetricStat"]["Period"] = int(metric["MetricStat"]["Period"])
    target.client("cloudwatch").put_metric_alarm(AlarmName=name, **request)
    return {"Ref": name, "Arn": target.arn("cloudwatch", f"alarm:{name}")}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Creator = Callable[[Target, str, dict[str, Any]], Attributes]

CREATORS: dict[str, Creator] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _table,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::SQS::Queue": _queue,
    "AWS::IAM::Role": _role,
    "AWS::SSM::Parameter": _parameter,
    "AWS::Events::EventBus": _event_bus,
    "AWS::CloudWatch::Alarm": _alarm,
}

# Resource-based policies (see the module's docstring).
NOT_CREATED = frozenset(
    {
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Lambda::Permission",
    }
)


def placeholder(target: Target, logical_id: str, resource_type: str) -> Attributes:
    """A resource the local stack does not create: its Ref is the name CloudFormation would give it."""
    if resource_type not in NOT_CREATED:
        logger.warning("%s (%s) is not created locally", logical_id, resource_type)
    return {"Ref": target.physical_name(logical_id, 255)}


def attribute(attributes: Attributes, logical_id: str, name: str | None) -> Any:
    key = name or "Ref"
    if key not in attributes:
        raise IcflowError(f"!GetAtt {logical_id}.{key} is not available in the local stack")
    return attributes[key]
