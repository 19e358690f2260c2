"""The functions' execution roles as SAM generates them: samtranslator (the SAM translator itself, the source of
truth) turns each function's Policies, DeadLetterQueue and event sources into a `<Function>Role` with SAM's
inline statements and managed policies (AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole, ...)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from icflow.core.errors import IcflowError
from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import credential_variables
from icflow_tools.local_stack.functions import FunctionSpec
from icflow_tools.local_stack.template import SERVERLESS_FUNCTION

ROLE_TYPE = "AWS::IAM::Role"
# SAM reads code from S3 when it deploys; locally the folders are read in place, so any valid URI stands in.
_PLACEHOLDER_CODE = "s3://icflow-local/code"


@dataclass(frozen=True)
class SamRoles:
    generated: dict[str, dict[str, Any]]  # logical id -> AWS::IAM::Role resource, for roles SAM adds
    function_roles: dict[str, Any]  # function logical id -> its Role property (an intrinsic or an ARN)


def sam_roles(template: dict[str, Any], parameters: dict[str, Any], region: str, account_id: str) -> SamRoles:
    source = copy.deepcopy(template)
    for resource in source["Resources"].values():
        props = resource.get("Properties") or {}
        for name in ("CodeUri", "ContentUri"):
            if isinstance(props.get(name), str):
                props[name] = _PLACEHOLDER_CODE
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    try:
        translated = translator.translate(
            source,
            parameter_values={**parameters, "AWS::AccountId": account_id},
            get_managed_policy_map=dict,  # only a policy named without its ARN needs the map; icflow's have none
        )
    except Exception as error:  # samtranslator's errors list every invalid resource
        raise IcflowError(f"SAM cannot translate the template: {error}") from error
    resources = translated["Resources"]
    generated = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if resource["Type"] == ROLE_TYPE and logical_id not in template["Resources"]
    }
    function_roles = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == SERVERLESS_FUNCTION:
            role = resources[logical_id]["Properties"].get("Role")
            if role is None:
                raise IcflowError(f"SAM gave {logical_id} no execution role")
            function_roles[logical_id] = role
    return SamRoles(generated, function_roles)


LAMBDA_SERVICE = "lambda.amazonaws.com"


def assume_execution_role(authorizer: Authorizer, sts: Any, spec: FunctionSpec) -> dict[str, str]:
    """The function's credentials, as Lambda gets them: the role must trust lambda.amazonaws.com, and the
    session is named after the function (so a denied call names it)."""
    context = {"aws:SourceAccount": authorizer.store.account_id, "aws:SourceArn": spec.arn}
    if not authorizer.trusts(spec.role_arn, LAMBDA_SERVICE, context).allowed:
        raise IcflowError(
            f"{spec.logical_id}: its role {spec.role_arn} does not let {LAMBDA_SERVICE} assume it; "
            f"Lambda could not run it. Allow sts:AssumeRole to that service in the role's trust policy."
        )
    return credential_variables(sts.assume_role(RoleArn=spec.role_arn, RoleSessionName=spec.name[:64])["Credentials"])
