"""template.yaml's roles as IAM will hold them (SAM's expansion included), resolved without AWS, and a small
policy simulator over them: the local stack's own evaluator answers "may this role do that?"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from icflow_tools.local_iam.policy import AuthRequest, PolicyDocument, evaluate
from icflow_tools.local_stack.intrinsics import Resolver, parameter_values
from icflow_tools.local_stack.roles import sam_roles

REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "icflow"
BUCKET = "icflow-databucket"


Attribute = Callable[[str, "str | None"], Any]


def stack_attribute(logical_id: str, name: str | None) -> Any:
    """What references to the template's resources resolve to, as the local stack names them."""
    return _attribute(logical_id, name, {})


def environment_attribute(environment: Mapping[str, str]) -> Attribute:
    """References resolved to the names of an environment (events/env.json's, which the in-process tests use)."""
    names = {
        "DataBucket": {"Ref": environment["DATA_BUCKET"], "Arn": f"arn:aws:s3:::{environment['DATA_BUCKET']}"},
        "NotificationsTopic": {"Ref": environment["NOTIFICATIONS_TOPIC_ARN"]},
        "RunsTable": {"Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{environment['RUNS_TABLE']}"},
        "IdempotencyTable": {"Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{environment['IDEMPOTENCY_TABLE']}"},
        "SageMakerExecutionRole": {"Arn": environment["SAGEMAKER_ROLE_ARN"]},
    }
    return lambda logical_id, name: _attribute(logical_id, name, names)


def _attribute(logical_id: str, name: str | None, names: Mapping[str, Mapping[str, str]]) -> Any:
    kinds = {
        "DataBucket": {"Ref": BUCKET, "Arn": f"arn:aws:s3:::{BUCKET}"},
        "NotificationsTopic": {"Ref": f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-NotificationsTopic"},
        **names,
    }
    if logical_id in kinds and (name or "Ref") in kinds[logical_id]:
        return kinds[logical_id][name or "Ref"]
    if logical_id.endswith("Table"):
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-{logical_id}"
    if logical_id.endswith("Queue"):
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{logical_id}"
    if logical_id.endswith("Role"):
        return f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{logical_id}"
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-{logical_id}"


class TemplatePolicies:
    def __init__(self, template: dict[str, Any], attribute: Attribute = stack_attribute) -> None:
        parameters = parameter_values(template.get("Parameters") or {}, {})
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": STACK}
        self._resolver = Resolver(parameters, pseudo, template.get("Conditions") or {}, {}, attribute)
        self._template = template
        self._sam = sam_roles(template, parameters, REGION, ACCOUNT)

    def role(self, logical_id: str) -> dict[str, Any]:
        """A role's resolved properties: a function's logical id gives its SAM-generated role."""
        role_ref = self._sam.function_roles.get(logical_id)
        if role_ref is not None:
            logical_id = role_ref["Fn::GetAtt"][0]
        resource = self._sam.generated.get(logical_id) or self._template["Resources"][logical_id]
        return self._resolver.resolve(resource["Properties"])

    def policies(self, logical_id: str) -> list[PolicyDocument]:
        """The role's inline policies (SAM's included); its managed policies are AWS's, listed in role()."""
        return [
            PolicyDocument.parse(p["PolicyName"], p["PolicyDocument"])
            for p in self.role(logical_id).get("Policies", [])
        ]

    def allows(self, logical_id: str, action: str, resource: str, **context: Any) -> bool:
        return evaluate(self.policies(logical_id), AuthRequest(action, resource, context)).allowed

    def function_role_ids(self) -> dict[str, str]:
        """Function logical id -> the logical id of the role SAM gives it."""
        return {function: role["Fn::GetAtt"][0] for function, role in self._sam.function_roles.items()}

    def trust(self, logical_id: str) -> PolicyDocument:
        return PolicyDocument.parse("trust", self.role(logical_id)["AssumeRolePolicyDocument"])
