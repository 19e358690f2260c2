"""How icflow reads an AWS refusal of a call it makes for a run or a batch: try again later, or tell the user.

botocore already retries throttling and internal errors a few times within one call (its default retry
mode); what still fails reaches here. A transient refusal (throttling, an internal error, no capacity now)
is tried again by the platform (the event's retries) while the status says "retrying: <reason>"; after
`attempts` tries, or at once for a permanent refusal (a quota of 0 on a new account, a request SageMaker
finds invalid, a permission the stack lacks), the run or batch ends with SageMaker's message and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from icflow.core.errors import IcflowError

# Error codes AWS documents as worth retrying: its common errors (throttling, internal failure, unavailable)
# and what botocore's own retry handler treats as transient (botocore/data/_retry.json).
TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)

# The first try and the platform's retries of the event (template.yaml: MaximumRetryAttempts 2 of the
# functions invoked asynchronously; tests/functions/test_template.py keeps the two in step) ...
ATTEMPTS = 3
# ... and the receives of a message of the batch queue before its dead-letter queue (its maxReceiveCount).
QUEUE_ATTEMPTS = 5


class RetryLater(Exception):
    """Raised after the status says "retrying": the platform delivers the event again later."""


@dataclass(frozen=True)
class Refusal:
    operation: str  # the API call, e.g. CreateTrainingJob
    code: str
    message: str
    transient: bool

    def describe(self) -> str:
        return f"{self.operation} was refused ({self.code}): {self.message}"

    def sentence(self) -> str:
        """describe() ending with one full stop (SageMaker's messages may end with one), for advice to follow."""
        text = self.describe().rstrip()
        return text if text.endswith(".") else f"{text}."


def read_refusal(error: Exception) -> Refusal:
    """What an exception from an AWS call means. Anything that is not an answer of the service (a connection
    error, a bug of ours) counts as transient, unless it is icflow's verdict on the input: the next try may
    well succeed, and after the last one the reason says what happened."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", "Unknown"))
        message = str(details.get("Message", "")) or "(no message)"
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return Refusal(error.operation_name, code, message, code in TRANSIENT_CODES or status >= 500)
    if isinstance(error, IcflowError):  # a verdict on the input, which trying again does not change
        return Refusal("icflow", "IcflowError", str(error), False)
    what = "AWS could not be reached" if isinstance(error, BotoCoreError) else "icflow failed"
    return Refusal("starting the job", type(error).__name__, f"{what}: {error}", True)


def attempt_count(item: dict[str, Any] | None) -> int:
    """Tries that failed so far for a run or batch item (its `attempts` field)."""
    return int((item or {}).get("attempts", 0))


def is_last(attempts_before: int, attempts: int = ATTEMPTS) -> bool:
    """Whether the try after `attempts_before` earlier ones is the last of the `attempts` the platform makes."""
    return attempts_before + 1 >= attempts


def retrying_reason(refusal: Refusal, attempts_before: int, attempts: int = ATTEMPTS) -> str:
    return f"retrying (try {attempts_before + 1} of {attempts} failed): {refusal.describe()}"


def what_to_do(refusal: Refusal, instance_type: str | None, config_key: str, retry: str = "") -> str:
    """The user's next step after the last try: `config_key` names the file that sets the instance type,
    `retry` how to try again (by default, uploading that file again)."""
    retry = retry or f"upload {config_key} again"
    if refusal.code == "ResourceLimitExceeded":
        instance = f" for {instance_type}" if instance_type else ""
        return (
            f"The account's SageMaker quota{instance} is used up (a new account has 0 for many instance types): "
            "request an increase in the Service Quotas console (service Amazon SageMaker, the quota the message "
            f"names), or choose another instance_type in {config_key}; then {retry}."
        )
    if refusal.code in ("AccessDeniedException", "AccessDenied"):
        return (
            "The stack's roles may not make this call, which is a deployment problem, not one of your data: "
            f"deploy the stack again from its template, then {retry}."
        )
    if refusal.transient:
        return f"It failed on every try; {retry} to try once more."
    return f"Fix what the message names in {config_key} (or the data), then {retry}."
