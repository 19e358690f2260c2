"""Errors shaped as SageMaker answers them: the code becomes `__type` (JSON 1.1) or `x-amzn-ErrorType` (runtime)."""

from __future__ import annotations

from typing import Any

from icflow_tools.trainer.api import AlgorithmError, ClientError


class ServiceError(Exception):
    """An error answer; subclasses name the code (the error shape in botocore's model) and HTTP status."""

    code: str
    status = 400

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields  # modeled error members beside the message (ModelError's OriginalStatusCode, ...)


class ValidationException(ServiceError):
    code = "ValidationException"


class SerializationException(ServiceError):
    """A request that cannot be read at all (its framing, request line or headers), as AWS's JSON protocol names it."""

    code = "SerializationException"


class ResourceInUse(ServiceError):
    code = "ResourceInUse"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"


class ConflictException(ServiceError):
    code = "ConflictException"


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"


class ThrottlingException(ServiceError):
    """Not in botocore's model, but answered by every AWS API (HTTP 400); boto3 retries it by default."""

    code = "ThrottlingException"


class UnknownOperation(ServiceError):
    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


class RuntimeValidationError(ServiceError):
    """The runtime API spells its validation error `ValidationError`, not `ValidationException`."""

    code = "ValidationError"


class ModelError(ServiceError):
    code = "ModelError"
    status = 424


class JobFailure(Exception):
    """Ends a running job as Failed; the message is the FailureReason, prefixed as AWS does (ClientError: ...)."""


def failure_prefix(error: AlgorithmError) -> str:
    """How SageMaker's FailureReason names who failed: the customer's input (ClientError) or the algorithm."""
    return "ClientError" if isinstance(error, ClientError) else "AlgorithmError"


class AccessDenied(ServiceError):
    code = "AccessDeniedException"
