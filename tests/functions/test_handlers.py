"""The Lambda handlers in functions/, invoked with the sample events the way Lambda invokes them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aws_lambda_powertools.utilities.parser import ValidationError
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from support.stack import Stack


def test_classic_and_eventbridge_uploads_start_one_job(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    stack.put_recordio_dataset("caltech256", [index % 4 for index in range(40)], [0, 1, 2, 3])
    handler = handler_of("dataset_upload")

    classic = handler(sample_event("s3_put_classic.json"), lambda_context)
    bridged = handler(sample_event("s3_object_created_validation.json"), lambda_context)

    (first,) = classic["outcomes"]
    (second,) = bridged["outcomes"]
    assert first["action"] == "started" and second["run_id"] == first["run_id"]
    assert stack.training_jobs() == [first["job_name"]]


def test_a_key_with_spaces_is_found_decoded(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    handler = handler_of("dataset_upload")
    stack.client("s3").put_object(Bucket=stack.bucket, Key="datasets/caltech256/train/caltech 256 part 1.rec", Body=b"")

    (outcome,) = handler(sample_event("s3_put_key_with_spaces.json"), lambda_context)["outcomes"]

    assert outcome["action"] == "waiting" and outcome["dataset"] == "caltech256"


def test_state_handler_ignores_a_tuning_trial(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    outcome = handler_of("training_state")(sample_event("tuning_trial_completed.json"), lambda_context)
    assert outcome["action"] == "ignored"


def test_state_handler_refuses_events_it_is_not_for(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    with pytest.raises(ValidationError):
        handler_of("training_state")(sample_event("s3_object_created_train.json"), lambda_context)


def test_approval_handler_takes_the_registrys_event(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    # No such version in this account: the event is parsed, and SageMaker's answer decides.
    with pytest.raises(ClientError, match="DescribeModelPackage"):
        handler_of("model_approval")(sample_event("model_package_approved.json"), lambda_context)
    with pytest.raises(ValidationError):
        handler_of("model_approval")(sample_event("training_job_completed.json"), lambda_context)
