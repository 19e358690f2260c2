"""Which resource each call of a JSON or query API authorizes on (DynamoDB, SQS, SNS, EventBridge, CloudWatch,
STS, SageMaker, Application Auto Scaling), as the Service Authorization Reference lists them. An operation not listed authorizes on "*",
so only a policy that grants it on every resource allows it.

SageMaker's create calls also need iam:PassRole for the role they hand over (with iam:PassedToService), and
sagemaker:AddTags when they carry Tags. Tags are condition keys, as SageMaker documents them: a create's and an
AddTags' Tags are aws:RequestTag/<key> and aws:TagKeys, and a call on an existing resource carries the
resource's tags as aws:ResourceTag/<key>.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from icflow_tools.local_iam.policy import AuthRequest

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
# Signing names that differ from the action prefix policies use.
ACTION_PREFIX = {"monitoring": "cloudwatch", "runtime.sagemaker": "sagemaker"}


ResourceTags = Callable[[str], Mapping[str, str]]  # an existing resource's tags by ARN; {} when it has none
NextPackageVersion = Callable[[str], int]  # the version a model package group's next package gets, by group name


def no_tags(arn: str) -> Mapping[str, str]:
    return {}


def first_version(group: str) -> int:
    """For a caller that does not hold the registry: a group's first package."""
    return 1


@dataclass(frozen=True)
class Call:
    service: str  # the action prefix: dynamodb, sqs, sns, events, cloudwatch, sts, sagemaker, ...
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    resource_tags: ResourceTags = no_tags
    next_package_version: NextPackageVersion = first_version

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def request(self, resource: str, context: Mapping[str, Any] | None = None, action: str = "") -> AuthRequest:
        return AuthRequest(action or f"{self.service}:{self.operation}", resource, context or {})


def _dynamodb(call: Call) -> list[AuthRequest]:
    params = call.params
    tables = list(params.get("RequestItems") or {})  # BatchGetItem, BatchWriteItem
    for item in params.get("TransactItems") or []:
        tables += [part["TableName"] for part in item.values() if isinstance(part, Mapping) and "TableName" in part]
    if tables:
        return [call.request(call.arn("dynamodb", f"table/{table}")) for table in dict.fromkeys(tables)]
    if "TableName" not in params:
        return [call.request("*")]
    resource = f"table/{params['TableName']}"
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [call.request(call.arn("dynamodb", resource))]


def _sqs(call: Call) -> list[AuthRequest]:
    params = call.params
    url = params.get("QueueUrl")
    name = url.rstrip("/").rsplit("/", 1)[-1] if url else params.get("QueueName")
    return [call.request(call.arn("sqs", name) if name else "*")]


def _sns(call: Call) -> list[AuthRequest]:
    params = call.params
    arn = params.get("TopicArn") or params.get("TargetArn")
    if not arn and params.get("SubscriptionArn"):
        arn = params["SubscriptionArn"].rsplit(":", 1)[0]
    if not arn and call.operation == "CreateTopic":
        arn = call.arn("sns", params.get("Name", ""))
    return [call.request(arn or "*")]


def _bus_arn(call: Call, bus: str | None) -> str:
    bus = bus or "default"
    return bus if bus.startswith("arn:") else call.arn("events", f"event-bus/{bus}")


def _events(call: Call) -> list[AuthRequest]:
    params = call.params
    if call.operation == "PutEvents":
        buses = dict.fromkeys(_bus_arn(call, entry.get("EventBusName")) for entry in params.get("Entries") or [])
        return [call.request(bus) for bus in buses] or [call.request(_bus_arn(call, None))]
    if "Rule" in params or (call.operation.endswith("Rule") and "Name" in params):
        bus = params.get("EventBusName") or "default"
        rule = params.get("Rule") or params["Name"]
        return [call.request(call.arn("events", f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"))]
    return [call.request("*")]


def _cloudwatch(call: Call) -> list[AuthRequest]:
    params = call.params
    names = params.get("AlarmNames") or ([params["AlarmName"]] if "AlarmName" in params else [])
    if names:
        return [call.request(call.arn("cloudwatch", f"alarm:{name}")) for name in names]
    if call.operation == "PutMetricData":
        return [call.request("*", {"cloudwatch:namespace": params.get("Namespace", "")})]
    return [call.request("*")]


def _logs(call: Call) -> list[AuthRequest]:
    # CloudWatch Logs authorizes a log group's actions on its ARN with ":*" (the form DescribeLogGroups returns),
    # and writes to a stream on the stream's ARN.
    params = call.params
    group = params.get("logGroupName")
    if not group:
        return [call.request("*")]
    if call.operation in ("PutLogEvents", "CreateLogStream") and params.get("logStreamName"):
        return [call.request(call.arn("logs", f"log-group:{group}:log-stream:{params['logStreamName']}"))]
    return [call.request(call.arn("logs", f"log-group:{group}:*"))]


def _sts(call: Call) -> list[AuthRequest]:
    return [call.request(call.params.get("RoleArn") or "*")]


# SageMaker's resources by the noun its operations end with, longest first so "EndpointConfig" wins over "Endpoint".
_SAGEMAKER_NOUNS = (
    ("TrainingJobsForHyperParameterTuningJob", "hyper-parameter-tuning-job", "HyperParameterTuningJobName"),
    ("HyperParameterTuningJob", "hyper-parameter-tuning-job", "HyperParameterTuningJobName"),
    ("TrainingJob", "training-job", "TrainingJobName"),
    ("TransformJob", "transform-job", "TransformJobName"),
    ("EndpointConfig", "endpoint-config", "EndpointConfigName"),
    ("Endpoint", "endpoint", "EndpointName"),
    ("Model", "model", "ModelName"),
)
_PASSED_ROLES = ("RoleArn", "ExecutionRoleArn")


def _passed_roles(params: Mapping[str, Any]) -> list[str]:
    """RoleArn / ExecutionRoleArn anywhere in the request (a tuning job's definitions hold theirs)."""
    found: list[str] = []
    for name, value in params.items():
        if name in _PASSED_ROLES and isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            found += _passed_roles(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    found += _passed_roles(item)
    return list(dict.fromkeys(found))


def _tag_keys(kind: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """Tags as condition keys (lower-case, as conditions compare them): aws:RequestTag/<key> or aws:ResourceTag/<key>,
    and for request tags aws:TagKeys."""
    keys: dict[str, Any] = {f"aws:{kind}/{key}".lower(): value for key, value in tags.items()}
    if kind == "RequestTag" and tags:
        keys["aws:tagkeys"] = list(tags)
    return keys


def _name_of(value: str) -> str:
    """A name, or the resource part of an ARN (ArnOrName members): "...:model-package/g/3" -> "g/3"."""
    return value.split("/", 1)[1] if value.startswith("arn:") else value


def _model_registry_resource(call: Call) -> str | None:
    """The registry's resource an operation acts on: model-package-group/<group> for group calls,
    model-package/<group>/<version> for package calls (CreateModelPackage: the one it will create, which a policy
    on model-package/<group>/* allows); "*" for the List calls; None for the other operations."""
    params, operation = call.params, call.operation
    if operation in ("ListModelPackageGroups", "ListModelPackages"):
        return "*"
    if operation.endswith("ModelPackageGroup") and "ModelPackageGroupName" in params:
        return call.arn("sagemaker", f"model-package-group/{_name_of(params['ModelPackageGroupName']).lower()}")
    if operation == "CreateModelPackage" and "ModelPackageGroupName" in params:
        group = _name_of(params["ModelPackageGroupName"])
        return call.arn("sagemaker", f"model-package/{group.lower()}/{call.next_package_version(group)}")
    name = params.get("ModelPackageArn") or params.get("ModelPackageName")  # unversioned: model-package/<name>
    if operation.endswith("ModelPackage") and name:
        return call.arn("sagemaker", f"model-package/{_name_of(name).lower()}")
    return None


def _sagemaker(call: Call) -> list[AuthRequest]:
    params, operation = call.params, call.operation
    requested = _tag_keys("RequestTag", {tag["Key"]: tag["Value"] for tag in params.get("Tags") or []})
    if operation in ("AddTags", "ListTags", "DeleteTags"):
        arn = params.get("ResourceArn", "*")
        return [call.request(arn, {**_tag_keys("ResourceTag", call.resource_tags(arn)), **requested})]
    registry = _model_registry_resource(call)
    if registry is not None:
        return _sagemaker_requests(call, registry, requested)
    # ListTrainingJobsForHyperParameterTuningJob acts on its tuning job; other List* calls on no resource.
    match = next(
        (
            (resource_type, name_field)
            for noun, resource_type, name_field in _SAGEMAKER_NOUNS
            if operation == f"List{noun}" or (operation.endswith(noun) and not operation.startswith("List"))
        ),
        None,
    )
    name = params.get(match[1]) if match else None
    if match is None or name is None:  # ListEndpoints, ListTrainingJobs, ...
        return [call.request("*")]
    # SageMaker's ARNs spell names in lower case.
    return _sagemaker_requests(call, call.arn("sagemaker", f"{match[0]}/{name.lower()}"), requested)


def _sagemaker_requests(call: Call, arn: str, requested: dict[str, Any]) -> list[AuthRequest]:
    """The operation on `arn`; a create also needs sagemaker:AddTags for its tags and iam:PassRole for its roles."""
    if arn == "*":
        return [call.request(arn)]
    if not call.operation.startswith("Create"):
        return [call.request(arn, _tag_keys("ResourceTag", call.resource_tags(arn)))]
    requests = [call.request(arn, requested)]
    if requested:
        requests.append(call.request(arn, requested, action="sagemaker:AddTags"))
    requests += [
        AuthRequest("iam:PassRole", role, {"iam:PassedToService": SAGEMAKER_SERVICE})
        for role in _passed_roles(call.params)
    ]
    return requests


# The role Application Auto Scaling's first registration of an endpoint variant creates in the account.
AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
AUTOSCALING_ROLE = "role/aws-service-role/{service}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"


def _application_autoscaling(call: Call) -> list[AuthRequest]:
    params = call.params
    if call.operation.startswith("Describe"):
        return [call.request("*")]
    # A scalable target's ARN ends in an id the service makes up, so what a policy can name is scalable-target/*;
    # the namespace and dimension narrow it, as condition keys.
    context = {
        "application-autoscaling:service-namespace": params.get("ServiceNamespace", ""),
        "application-autoscaling:scalable-dimension": params.get("ScalableDimension", ""),
    }
    requests = [call.request(call.arn("application-autoscaling", "scalable-target/*"), context)]
    if call.operation == "RegisterScalableTarget" and params.get("ServiceNamespace") == "sagemaker":
        # Needed only while the account has no such role yet; asked every time, so a role without it is found
        # here rather than in a fresh account.
        role = f"arn:aws:iam::{call.account}:" + AUTOSCALING_ROLE.format(service=AUTOSCALING_SERVICE)
        requests.append(AuthRequest("iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": AUTOSCALING_SERVICE}))
    return requests


_RESOURCES: dict[str, Callable[[Call], list[AuthRequest]]] = {
    "dynamodb": _dynamodb,
    "sqs": _sqs,
    "sns": _sns,
    "events": _events,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "sts": _sts,
    "sagemaker": _sagemaker,
    "application-autoscaling": _application_autoscaling,
}


def api_requests(call: Call) -> list[AuthRequest]:
    resources = _RESOURCES.get(call.service)
    return resources(call) if resources else [call.request("*")]
