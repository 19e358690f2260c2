"""Reading AWS refusals: which pass with time, and what the user is told to do about the others."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from icflow.core.refusals import ATTEMPTS, Refusal, is_last, read_refusal, retrying_reason, what_to_do


def _client_error(code: str, status: int = 400, message: str = "the message") -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "CreateTrainingJob")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("InternalFailure", 500, True),
        ("ServiceUnavailable", 503, True),
        ("SomethingNew", 502, True),  # any 5xx is the service's trouble, not the request's
        ("ResourceLimitExceeded", 400, False),
        ("ValidationException", 400, False),
        ("AccessDeniedException", 400, False),
    ],
)
def test_throttling_and_server_errors_are_transient_and_verdicts_are_not(
    code: str, status: int, transient: bool
) -> None:
    refusal = read_refusal(_client_error(code, status))

    assert refusal == Refusal("CreateTrainingJob", code, "the message", transient)
    assert refusal.describe() == f"CreateTrainingJob was refused ({code}): the message"


def test_what_is_not_an_answer_of_the_service_is_tried_again() -> None:
    assert read_refusal(EndpointConnectionError(endpoint_url="https://api.sagemaker")).transient
    failure = read_refusal(KeyError("ResourceConfig"))
    assert failure.transient and failure.code == "KeyError" and "icflow failed" in failure.message


def test_the_last_try_is_the_one_after_all_the_platforms_retries() -> None:
    assert [is_last(before) for before in range(ATTEMPTS)] == [False] * (ATTEMPTS - 1) + [True]
    refusal = read_refusal(_client_error("InternalFailure", 500))
    assert retrying_reason(refusal, 0).startswith(f"retrying (try 1 of {ATTEMPTS} failed): CreateTrainingJob")


def test_each_permanent_refusal_says_what_to_do() -> None:
    quota = what_to_do(
        read_refusal(_client_error("ResourceLimitExceeded")), "ml.p3.2xlarge", "datasets/d/pipeline.json"
    )
    assert (
        "Service Quotas" in quota and "ml.p3.2xlarge" in quota and "instance_type in datasets/d/pipeline.json" in quota
    )
    assert "deploy the stack again" in what_to_do(read_refusal(_client_error("AccessDeniedException")), None, "p")
    assert "Fix what the message names in p" in what_to_do(
        read_refusal(_client_error("ValidationException")), None, "p"
    )
    assert "every try" in what_to_do(read_refusal(_client_error("InternalFailure", 500)), None, "p")


def test_a_refusal_reads_as_one_sentence_before_the_advice() -> None:
    from icflow.core.refusals import Refusal

    ending = Refusal("CreateTrainingJob", "ResourceLimitExceeded", "Please request an increase for this quota.", False)
    bare = Refusal("CreateTrainingJob", "ValidationException", "MaxParallelTrainingJobs is too large", False)
    assert ending.sentence().endswith("for this quota.") and not ending.sentence().endswith("..")
    assert (
        bare.sentence() == "CreateTrainingJob was refused (ValidationException): MaxParallelTrainingJobs is too large."
    )
