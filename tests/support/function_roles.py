"""The functions' roles on moto's in-process mock, as SAM generates them from template.yaml, and credentials of
each: handler tests sign every call as their function's role, and the local IAM authorizes it."""

from __future__ import annotations

from typing import Any

import boto3

from icflow_tools.local_iam.credentials import credential_variables
from icflow_tools.local_stack.resources import CREATORS, Target
from support.policies import ACCOUNT, REGION, STACK, TemplatePolicies, environment_attribute

LAMBDA_CODE_PREFIX = "functions/"


def function_credentials(
    template: dict[str, Any], environment: dict[str, str], session: boto3.Session
) -> dict[str, dict[str, str]]:
    """functions/<folder> -> the AWS_* credential variables of its role, created on the mock."""
    policies = TemplatePolicies(template, environment_attribute(environment))
    target = Target(session, None, STACK, REGION, ACCOUNT)  # type: ignore[arg-type]
    sts = session.client("sts")
    credentials = {}
    for function, role_id in policies.function_role_ids().items():
        role = CREATORS["AWS::IAM::Role"](target, role_id, policies.role(function))
        folder = template["Resources"][function]["Properties"]["CodeUri"].removeprefix(LAMBDA_CODE_PREFIX).strip("/")
        keys = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=f"{STACK}-{function}")["Credentials"]
        credentials[folder] = credential_variables(keys)
    return credentials
