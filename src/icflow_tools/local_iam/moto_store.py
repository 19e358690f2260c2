"""Who a request's access key is, from moto's own STS and IAM: the one module that reads moto's internals.

The local stack runs moto's server in its own process, so the authorizer reads the roles, their policies and
the sessions STS handed out where moto keeps them, and sees every change made through the IAM API at once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sts.models import sts_backends

from icflow_tools.local_iam.policy import PolicyDocument

PARTITION = "aws"
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


@lru_cache(maxsize=1024)
def _parse(name: str, document: str) -> PolicyDocument:
    return PolicyDocument.parse(name, document)


def _text(document: object) -> str:
    return document if isinstance(document, str) else json.dumps(document)


class MotoStore:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    @property
    def _iam(self) -> Any:
        return iam_backends[self.account_id][PARTITION]

    def sagemaker_tags(self, arn: str) -> dict[str, str]:
        """Tags of a resource of moto's SageMaker (the handler tests' SageMaker), {} when it does not exist. moto
        finds the name as it was created, while ARNs spell it in lower case: icflow's tests use lower-case names."""
        backend = sagemaker_backends[self.account_id][arn.split(":")[3]]
        if ":model-package/" in arn:
            # A version's ARN (model-package/<group>/<version>) has a path moto's ARN lookup does not take apart.
            resource = next((package for package in backend.model_packages.values() if package.arn == arn), None)
            return {tag["Key"]: tag["Value"] for tag in getattr(resource, "tags", None) or []}
        try:
            resource = backend._get_resource_from_arn(arn)
        except ValidationError:
            return {}
        return {tag["Key"]: tag["Value"] for tag in getattr(resource, "tags", None) or []}

    def session(self, access_key: str) -> tuple[str, str] | None:
        """(role ARN, session name) of credentials STS issued, or None."""
        for assumed in sts_backends[self.account_id][PARTITION].assumed_roles:
            if assumed.access_key_id == access_key:
                return assumed.role_arn, assumed.session_name
        return None

    def role_policies(self, role_name: str) -> tuple[PolicyDocument, ...]:
        role = self._iam.get_role(role_name)
        inline = [_parse(f"{role_name}:{name}", _text(document)) for name, document in role.policies.items()]
        managed = []
        for arn, policy in role.managed_policies.items():
            version = next(version for version in policy.versions if version.is_default)
            managed.append(_parse(arn.rsplit("/", 1)[-1], _text(version.document)))
        return (*inline, *managed)

    def trust_policy(self, role_arn: str) -> PolicyDocument | None:
        role = next((role for role in self._iam.get_roles() if role.arn == role_arn), None)
        if role is None:
            return None
        return _parse(f"{role.name}:trust", _text(role.assume_role_policy_document))

    def ensure_aws_managed_policies(self, arns: list[str]) -> None:
        """AWS's managed policies that roles attach (SAM's AWSLambdaBasicExecutionRole, ...), from the copies moto
        ships, unless moto already loaded them all (MOTO_IAM_LOAD_MANAGED_POLICIES)."""
        backend = self._iam
        missing = [arn for arn in arns if arn.startswith(AWS_MANAGED_PREFIX) and arn not in backend.managed_policies]
        if not missing:
            return
        data = json.loads(aws_managed_policies_data)
        for arn in missing:
            name = arn.rsplit("/", 1)[-1]
            if name in data:
                policy = AWSManagedPolicy.from_data(name, self.account_id, "us-east-1", data[name])
                backend.managed_policies[policy.arn] = policy
