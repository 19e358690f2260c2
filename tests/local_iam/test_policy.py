"""The evaluator against the policy language's rules: explicit deny, wildcards, Not* elements, conditions."""

from __future__ import annotations

import pytest

from icflow.core.errors import IcflowError
from icflow_tools.local_iam.policy import AuthRequest, Outcome, PolicyDocument, Principal, evaluate

BUCKET = "arn:aws:s3:::data"


def policy(*statements: dict) -> PolicyDocument:
    return PolicyDocument.parse("test", {"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_is_allowed_unless_a_statement_allows_it():
    assert evaluate([], AuthRequest("s3:GetObject", f"{BUCKET}/a")).outcome is Outcome.IMPLICIT_DENY
    decided = evaluate(
        [policy(allow("s3:GetObject", f"{BUCKET}/*", Sid="Read"))], AuthRequest("s3:GetObject", f"{BUCKET}/a/b")
    )
    assert decided.allowed and decided.statement == "test/Read"


def test_an_explicit_deny_wins_over_any_allow():
    documents = [policy(allow("s3:*", "*")), policy({"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"})]
    assert evaluate(documents, AuthRequest("s3:DeleteObject", f"{BUCKET}/a")).outcome is Outcome.EXPLICIT_DENY
    assert evaluate(documents, AuthRequest("s3:GetObject", f"{BUCKET}/a")).allowed


def test_actions_ignore_case_and_resources_do_not():
    document = policy(allow("S3:Get*", f"{BUCKET}/Data/*"))
    assert evaluate([document], AuthRequest("s3:GetObject", f"{BUCKET}/Data/x")).allowed
    assert not evaluate([document], AuthRequest("s3:GetObject", f"{BUCKET}/data/x")).allowed
    assert not evaluate([document], AuthRequest("s3:PutObject", f"{BUCKET}/Data/x")).allowed


def test_not_action_and_not_resource_match_everything_else():
    document = policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": f"{BUCKET}/secret/*"})
    assert evaluate([document], AuthRequest("s3:GetObject", f"{BUCKET}/public/x")).allowed
    assert not evaluate([document], AuthRequest("s3:GetObject", f"{BUCKET}/secret/x")).allowed
    assert not evaluate([document], AuthRequest("iam:PassRole", "arn:aws:iam::1:role/r")).allowed


def test_a_prefix_condition_needs_the_key_in_the_request():
    document = policy(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["datasets/*"]}}))
    assert evaluate([document], AuthRequest("s3:ListBucket", BUCKET, {"s3:prefix": "datasets/a/"})).allowed
    assert not evaluate([document], AuthRequest("s3:ListBucket", BUCKET, {"s3:prefix": "status/"})).allowed
    # S3's 404-or-403 question carries no prefix: a prefix-scoped grant does not answer it.
    assert not evaluate([document], AuthRequest("s3:ListBucket", BUCKET)).allowed


@pytest.mark.parametrize(
    ("operator", "expected", "context", "holds"),
    [
        ("StringEquals", "sagemaker.amazonaws.com", {"iam:PassedToService": "sagemaker.amazonaws.com"}, True),
        ("StringEquals", "sagemaker.amazonaws.com", {"iam:PassedToService": "ec2.amazonaws.com"}, False),
        ("StringEquals", "sagemaker.amazonaws.com", {}, False),
        ("StringNotEquals", "sagemaker.amazonaws.com", {}, True),  # a negated operator holds for an absent key
        ("StringNotEquals", "sagemaker.amazonaws.com", {"iam:PassedToService": "sagemaker.amazonaws.com"}, False),
        ("StringEqualsIfExists", "sagemaker.amazonaws.com", {}, True),
        ("StringEqualsIgnoreCase", "SageMaker.amazonaws.com", {"iam:PassedToService": "sagemaker.amazonaws.com"}, True),
    ],
)
def test_string_operators(operator, expected, context, holds):
    document = policy(allow("iam:PassRole", "*", Condition={operator: {"iam:PassedToService": expected}}))
    assert evaluate([document], AuthRequest("iam:PassRole", "arn:aws:iam::1:role/r", context)).allowed is holds


def test_condition_keys_ignore_case_and_values_of_one_key_are_alternatives():
    document = policy(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"S3:Prefix": ["a/*", "b/*"]}}))
    assert evaluate([document], AuthRequest("s3:ListBucket", BUCKET, {"s3:prefix": "b/x"})).allowed


def test_arn_like_never_spans_a_colon():
    document = policy(allow("sts:AssumeRole", "*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:sagemaker:*:1:*"}}))
    job = "arn:aws:sagemaker:us-east-1:1:training-job/x"
    assert evaluate([document], AuthRequest("sts:AssumeRole", "*", {"aws:SourceArn": job})).allowed
    other = "arn:aws:sagemaker:us-east-1:2:training-job/x"
    assert not evaluate([document], AuthRequest("sts:AssumeRole", "*", {"aws:SourceArn": other})).allowed


def test_null_bool_numeric_and_set_operators():
    def holds(condition, context):
        return evaluate([policy(allow("a:b", "*", Condition=condition))], AuthRequest("a:b", "x", context)).allowed

    assert holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not holds({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "now"})
    assert holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"})
    assert not holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "true"})
    assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "ten"})
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws:TagKeys": ["a"]})
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}}, {"aws:TagKeys": ["a", "c"]})
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["c"]}}, {"aws:TagKeys": ["a", "c"]})
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["c"]}}, {})


def test_an_operator_the_evaluator_does_not_know_fails_loudly():
    document = policy(allow("a:b", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    with pytest.raises(IcflowError, match="IpAddress is not supported"):
        evaluate([document], AuthRequest("a:b", "x", {"aws:SourceIp": "10.1.1.1"}))


def test_trust_policies_name_who_may_assume_the_role():
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    )
    request = AuthRequest("sts:AssumeRole", "arn:aws:iam::123456789012:role/r", {"aws:SourceAccount": "123456789012"})
    assert evaluate([trust], request, principal=Principal("Service", "lambda.amazonaws.com")).allowed
    assert not evaluate([trust], request, principal=Principal("Service", "sagemaker.amazonaws.com")).allowed
    stranger = AuthRequest("sts:AssumeRole", request.resource, {"aws:SourceAccount": "999999999999"})
    assert not evaluate([trust], stranger, principal=Principal("Service", "lambda.amazonaws.com")).allowed
    account = policy({"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"})
    user = Principal("AWS", "arn:aws:iam::123456789012:user/me")
    assert evaluate([account], AuthRequest("sts:AssumeRole", request.resource), principal=user).allowed
