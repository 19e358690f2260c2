"""template.yaml's roles as IAM will hold them (SAM's expansion included), resolved without AWS, and a small
policy simulator over them: the local stack's own evaluator answers "may this role do that?"."""

from __future__ import annotations

from typing import Any

from icflow_tools.local_iam.policy import AuthRequest, PolicyDocument, evaluate
from icflow_tools.local_stack.intrinsics import Resolver, parameter_values
from icflow_tools.local_stack.roles import sam_roles

REGION, ACCOUNT, STACK = "us-east-1", "123456789012", "icflow"
BUCKET = "icflow-databucket"


def _attribute(logical_id: str, name: str | None) -> Any:
    """What references to the template's resources resolve to, as the local stack names them."""
    kinds = {
        "DataBucket": {"Ref": BUCKET, "Arn": f"arn:aws:s3:::{BUCKET}"},
        "NotificationsTopic": {"Ref": f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-NotificationsTopic"},
    }
    if logical_id in kinds:
        return kinds[logical_id][name or "Ref"]
    if logical_id.endswith("Table"):
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-{logical_id}"
    if logical_id.endswith("Queue"):
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-{logical_id}"
    if logical_id.endswith("Role"):
        return f"arn:aws:iam::{ACCOUNT}:role/{STACK}-{logical_id}"
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{STACK}-{logical_id}"


class TemplatePolicies:
    def __init__(self, template: dict[str, Any]) -> None:
        parameters = parameter_values(template.get("Parameters") or {}, {})
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::StackName": STACK}
        self._resolver = Resolver(parameters, pseudo, template.get("Conditions") or {}, {}, _attribute)
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

    def trust(self, logical_id: str) -> PolicyDocument:
        return PolicyDocument.parse("trust", self.role(logical_id)["AssumeRolePolicyDocument"])
