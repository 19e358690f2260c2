"""moto's server behind the authorizer: a role's session may do what its policies allow and nothing else, and
S3 answers as AWS does (403 for a missing key without s3:ListBucket, long keys refused)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import credential_variables, session_with
from icflow_tools.local_iam.middleware import AuthorizingMiddleware
from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_stack.moto_server import MotoServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
OPERATOR = {"aws_access_key_id": "operator", "aws_secret_access_key": "x", "aws_session_token": "x"}
BUCKET = "enforced"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Authorizer]]:
    authorizer = Authorizer(MotoStore(ACCOUNT), ["operator"], REGION)
    moto = MotoServer("127.0.0.1", 0, lambda app: AuthorizingMiddleware(app, authorizer, ACCOUNT)).start()
    operator = boto3.Session(region_name=REGION, **OPERATOR)
    operator.client("s3", endpoint_url=moto.url).create_bucket(Bucket=BUCKET)
    yield moto.url, authorizer
    moto.stop()


def role_session(url: str, statements: list[dict[str, Any]]) -> boto3.Session:
    """A fresh role with these statements, and a session of it named `fn-<role>`, as a function has."""
    operator = boto3.Session(region_name=REGION, **OPERATOR)
    iam = operator.client("iam", endpoint_url=url)
    name = f"role-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    sts = operator.client("sts", endpoint_url=url)
    return session_with(
        credential_variables(sts.assume_role(RoleArn=arn, RoleSessionName=f"fn-{name}")["Credentials"]), REGION
    )


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def test_a_role_may_do_what_its_policy_allows_and_a_denial_names_who_what_and_where(server):
    url, authorizer = server
    s3 = role_session(url, [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/out/*"}])
    s3 = s3.client("s3", endpoint_url=url)
    s3.put_object(Bucket=BUCKET, Key="out/a.json", Body=b"{}")
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket=BUCKET, Key="elsewhere/a.json", Body=b"{}")
    assert code(denied) == "AccessDenied"
    message = denied.value.response["Error"]["Message"]
    assert ":assumed-role/role-" in message and "/fn-role-" in message
    assert "s3:PutObject on resource: arn:aws:s3:::enforced/elsewhere/a.json" in message
    assert authorizer.denials[-1].request.action == "s3:PutObject"
    session = authorizer.denials[-1].caller.session
    assert authorizer.usage()[session] == {"s3:PutObject": [f"{session.removeprefix('fn-')}:inline"]}


def test_json_and_query_apis_are_authorized_on_their_resources(server):
    url, _ = server
    operator = boto3.Session(region_name=REGION, **OPERATOR)
    queue = operator.client("sqs", endpoint_url=url).create_queue(QueueName="allowed")["QueueUrl"]
    other = operator.client("sqs", endpoint_url=url).create_queue(QueueName="other")["QueueUrl"]
    topic = operator.client("sns", endpoint_url=url).create_topic(Name="t")["TopicArn"]
    role = role_session(
        url,
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:allowed"}],
    )
    role.client("sqs", endpoint_url=url).send_message(QueueUrl=queue, MessageBody="x")
    with pytest.raises(ClientError) as denied:
        role.client("sqs", endpoint_url=url).send_message(QueueUrl=other, MessageBody="x")
    assert "sqs:SendMessage on resource: arn:aws:sqs:us-east-1:123456789012:other" in str(denied.value)
    with pytest.raises(ClientError) as denied:
        role.client("sns", endpoint_url=url).publish(TopicArn=topic, Message="x")
    assert code(denied) == "AuthorizationError"


def test_credentials_no_one_issued_are_refused(server):
    url, _ = server
    stranger = boto3.Session(aws_access_key_id="AKIASTRANGER", aws_secret_access_key="x", region_name=REGION)
    with pytest.raises(ClientError) as refused:
        stranger.client("s3", endpoint_url=url).list_objects_v2(Bucket=BUCKET)
    assert code(refused) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as refused:
        stranger.client("dynamodb", endpoint_url=url).list_tables()
    assert code(refused) == "UnrecognizedClientException"


def test_a_missing_key_is_404_only_with_list_bucket(server):
    url, _ = server
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    scoped = {
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{BUCKET}",
        "Condition": {"StringLike": {"s3:prefix": ["datasets/*"]}},
    }
    bucket_wide = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    for statements, expected in (
        ([read], "AccessDenied"),
        ([read, scoped], "AccessDenied"),
        ([read, bucket_wide], "NoSuchKey"),
    ):
        s3 = role_session(url, statements).client("s3", endpoint_url=url)
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket=BUCKET, Key="datasets/none/pipeline.json")
        assert code(missing) == expected, statements
        with pytest.raises(ClientError) as missing:
            s3.head_object(Bucket=BUCKET, Key="datasets/none/pipeline.json")
        assert code(missing) == ("404" if expected == "NoSuchKey" else "403")
    # What icflow does about it: a listing of the key itself, which the prefix-scoped grant allows.
    s3 = role_session(url, [read, scoped]).client("s3", endpoint_url=url)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="datasets/none/pipeline.json", MaxKeys=1)


def test_keys_longer_than_1024_bytes_are_refused(server):
    url, _ = server
    s3 = boto3.Session(region_name=REGION, **OPERATOR).client("s3", endpoint_url=url)
    s3.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="k" * 1025, Body=b"")
    assert code(refused) == "KeyTooLongError"


def test_the_local_sagemaker_authorizes_its_api_pass_role_and_trust(server, tmp_path):
    from icflow_tools.local_sagemaker import LocalSageMaker
    from icflow_tools.local_sagemaker.iam import SageMakerIam

    url, authorizer = server
    operator = boto3.Session(region_name=REGION, **OPERATOR)
    iam = operator.client("iam", endpoint_url=url)
    trusted = iam.create_role(
        RoleName=f"exec-{uuid.uuid4().hex[:6]}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    untrusted = iam.create_role(
        RoleName=f"lambda-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST)
    )
    models = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/icflow-*"
    pass_role = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }
    caller = role_session(url, [{"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": models}, pass_role])
    no_pass = role_session(url, [{"Effect": "Allow", "Action": "sagemaker:CreateModel", "Resource": models}])
    sts = operator.client("sts", endpoint_url=url)
    with LocalSageMaker(
        work_dir=tmp_path,
        s3_endpoint_url=url,
        event_bus_name=None,
        iam=SageMakerIam(authorizer, sts, url, REGION, ACCOUNT),
    ) as service:

        def create(session: boto3.Session, name: str, role: str) -> None:
            session.client("sagemaker", endpoint_url=service.url).create_model(
                ModelName=name,
                PrimaryContainer={"Image": "image-classification", "ModelDataUrl": f"s3://{BUCKET}/m.tar.gz"},
                ExecutionRoleArn=role,
            )

        create(caller, "icflow-allowed", trusted)
        with pytest.raises(ClientError) as denied:
            create(caller, "other-model", trusted)
        assert "sagemaker:CreateModel on resource: arn:aws:sagemaker:us-east-1:123456789012:model/other-model" in str(
            denied.value
        )
        with pytest.raises(ClientError) as denied:
            create(no_pass, "icflow-no-pass", trusted)
        assert code(denied) == "AccessDeniedException" and f"iam:PassRole on resource: {trusted}" in str(denied.value)
        with pytest.raises(ClientError) as refused:
            create(caller, "icflow-untrusted", untrusted["Role"]["Arn"])
        assert code(refused) == "ValidationException"
        assert "allows principal 'sagemaker.amazonaws.com' to assume the role" in str(refused.value)
