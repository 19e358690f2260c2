"""The local SageMaker under IAM: callers are authorized per operation (with iam:PassRole for the roles they
hand over), the roles must trust sagemaker.amazonaws.com, and jobs and endpoints read and write S3 (and training
jobs write CloudWatch Logs) with their execution role's credentials, as SageMaker does."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from icflow_tools.local_iam.api_actions import (
    SAGEMAKER_SERVICE,
    Call,
    NextPackageVersion,
    ResourceTags,
    api_requests,
    first_version,
    no_tags,
)
from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import credential_variables, session_with
from icflow_tools.local_sagemaker.errors import AccessDenied, ValidationException
from icflow_tools.local_sagemaker.job_log_stream import LOGS_CLIENT_CONFIG


class SageMakerIam:
    def __init__(
        self, authorizer: Authorizer, sts: Any, s3_endpoint_url: str | None, region: str, account_id: str
    ) -> None:
        """`sts` holds the operator's credentials: SageMaker assumes execution roles as the service."""
        self.authorizer = authorizer
        self._sts = sts
        self._s3_endpoint_url = s3_endpoint_url
        self._region = region
        self._account_id = account_id
        self._clients: dict[tuple[str, str, str | None], Any] = {}  # (service, role, endpoint) -> client
        self._credentials: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def authorize(
        self,
        access_key: str,
        operation: str,
        params: Mapping[str, Any],
        resource_tags: ResourceTags = no_tags,
        next_package_version: NextPackageVersion = first_version,
    ) -> None:
        """`resource_tags` answers aws:ResourceTag conditions from the service's own resources;
        `next_package_version` names the model package a CreateModelPackage would create."""
        call = Call("sagemaker", operation, params, self._region, self._account_id, resource_tags, next_package_version)
        requests = api_requests(call)
        denial = self.authorizer.check(access_key, requests)
        if denial is not None:
            raise AccessDenied(denial.message)
        source = requests[0].resource
        for request in requests:
            if request.action == "iam:PassRole":
                self._check_trust(request.resource, source)

    def _check_trust(self, role_arn: str, source_arn: str) -> None:
        context = {"aws:SourceAccount": self._account_id, "aws:SourceArn": source_arn}
        if not self.authorizer.trusts(role_arn, SAGEMAKER_SERVICE, context).allowed:
            raise ValidationException(
                f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal "
                f"'{SAGEMAKER_SERVICE}' to assume the role."
            )

    def credentials_as(self, role_arn: str) -> dict[str, str]:
        """The role's credentials as AWS_* variables (assumed once per role, as long as the service runs)."""
        with self._lock:
            if role_arn not in self._credentials:
                credentials = self._sts.assume_role(RoleArn=role_arn, RoleSessionName="SageMaker")["Credentials"]
                self._credentials[role_arn] = credential_variables(credentials)
            return self._credentials[role_arn]

    def s3_as(self, role_arn: str) -> Any:
        """An S3 client with the role's credentials (one per role, as long as the service runs)."""
        return self._client_as("s3", role_arn, self._s3_endpoint_url)

    def logs_as(self, role_arn: str, endpoint_url: str | None) -> Any:
        """A CloudWatch Logs client with the role's credentials (one per role, as long as the service runs)."""
        return self._client_as("logs", role_arn, endpoint_url, LOGS_CLIENT_CONFIG)

    def _client_as(self, service: str, role_arn: str, endpoint_url: str | None, config: Any = None) -> Any:
        variables = self.credentials_as(role_arn)
        with self._lock:
            key = (service, role_arn, endpoint_url)
            if key not in self._clients:
                session = session_with(variables, self._region)
                self._clients[key] = session.client(service, endpoint_url=endpoint_url, config=config)
            return self._clients[key]
