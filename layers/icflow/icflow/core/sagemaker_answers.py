"""How SageMaker's answers read, for every path's calls.

Names are deterministic (icflow.core.naming), so "already exists" from a create call means a retry or a
duplicate got there first, and a delete of what is gone already counts as done.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError


def already_exists(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "")
    # CreateModel reports a taken name as a ValidationException, the job APIs as ResourceInUse.
    return code == "ResourceInUse" or (code == "ValidationException" and "already exist" in message)


def gone(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    message = error.response["Error"].get("Message", "")
    # SageMaker answers a missing model, config or endpoint with ValidationException "Could not find ...".
    return code in ("ResourceNotFound", "ValidationException") and ("not find" in message or "not found" in message)


def tag_list(*tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The API's form of the tag maps, a later map's value winning."""
    merged = {key: value for each in tags for key, value in each.items()}
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def tagged(request: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """A create request whose Tags (the API's list) also carry `tags`."""
    listed = {tag["Key"]: tag["Value"] for tag in request.get("Tags", [])}
    return {**request, "Tags": tag_list(listed, tags)}
