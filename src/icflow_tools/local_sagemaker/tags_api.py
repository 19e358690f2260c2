"""AddTags and ListTags, on the ARN of any resource of the service."""

from __future__ import annotations

from typing import Any

from icflow_tools.local_sagemaker.context import ServiceContext
from icflow_tools.local_sagemaker.errors import ValidationException


def add_tags(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    ctx.store.add_tags(params["ResourceArn"], params["Tags"])
    return {"Tags": params["Tags"]}


def list_tags(ctx: ServiceContext, params: dict[str, Any]) -> dict[str, Any]:
    tags = [{"Key": key, "Value": value} for key, value in ctx.store.tags(params["ResourceArn"]).items()]
    token = params.get("NextToken") or "0"
    if not token.isdigit():
        raise ValidationException("Invalid pagination token: pass the NextToken of the previous answer.")
    start = int(token)
    size = params.get("MaxResults", 50)
    chunk = tags[start : start + size]
    return {"Tags": chunk, **({"NextToken": str(start + size)} if start + size < len(tags) else {})}


OPERATIONS = {"AddTags": add_tags, "ListTags": list_tags}
