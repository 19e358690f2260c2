"""The process environment of a function, as Lambda (and `sam local`) gives it, pointed at the local stack."""

from __future__ import annotations

import os
from collections.abc import Mapping

# The account owner's credentials in the local stack (the user's CLI, the demo, provisioning): IAM allows them
# everything. Functions get their own role's instead. Fixed fake ones keep real ones out of the functions' reach.
OPERATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def client_environment(region: str, endpoint_url: str, sagemaker_url: str | None) -> dict[str, str]:
    """What boto3 and the AWS CLI need to talk to the local stack: endpoints, region, fake credentials."""
    environment = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        **OPERATOR_CREDENTIALS,
    }
    if sagemaker_url:
        environment["AWS_ENDPOINT_URL_SAGEMAKER"] = sagemaker_url
        environment["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = sagemaker_url
    return environment


def lambda_environment(
    function_name: str,
    function_arn: str,
    handler: str,
    code_dir: str,
    memory_mb: int,
    region: str,
) -> dict[str, str]:
    """Lambda's reserved variables, and what `sam local` adds (AWS_SAM_LOCAL turns off Powertools' tracer)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": code_dir,
        "AWS_SAM_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "ICFLOW_LOCAL_FUNCTION_ARN": function_arn,
        "TZ": "UTC",
        "PYTHONUNBUFFERED": "1",
    }


def process_base(host: Mapping[str, str] | None = None) -> dict[str, str]:
    """The little a Python process needs from the host; the rest of the host's environment stays out."""
    host = os.environ if host is None else host
    base = {name: host[name] for name in ("PATH", "LANG", "LC_ALL", "HOME") if name in host}
    # No profile or config file of the user's may redirect the functions' clients.
    base["AWS_CONFIG_FILE"] = os.devnull
    base["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return base


def function_environment(
    template_variables: Mapping[str, str],
    lambda_variables: Mapping[str, str],
    client_variables: Mapping[str, str],
) -> dict[str, str]:
    """Host basics, then the template's variables, then what Lambda reserves and the endpoints (which win)."""
    return {**process_base(), **template_variables, **lambda_variables, **client_variables}
