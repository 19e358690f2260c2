"""The local IAM on moto's in-process mock: the same decisions as in front of the server, for clients that
address S3 by virtual host as boto3 does against AWS."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from icflow_tools.local_iam.authorizer import Authorizer
from icflow_tools.local_iam.credentials import credential_variables, session_with
from icflow_tools.local_iam.in_process import InProcessAuthorizer
from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_iam.s3_actions import path_style

ACCOUNT, REGION = "123456789012", "us-east-1"
OPERATOR = {"aws_access_key_id": "operator", "aws_secret_access_key": "x", "aws_session_token": "x"}


def test_virtual_hosted_requests_name_their_bucket() -> None:
    assert path_style("data.s3.amazonaws.com", "/a/b.png") == "/data/a/b.png"
    assert path_style("data.s3.us-west-2.amazonaws.com", "/") == "/data/"
    assert path_style("127.0.0.1:5000", "/data/a") == "/data/a"


def test_a_role_on_the_mock_may_do_only_what_its_policy_allows() -> None:
    with mock_aws():
        operator = boto3.Session(region_name=REGION, **OPERATOR)
        operator.client("s3").create_bucket(Bucket="data")
        iam = operator.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        arn = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        statement = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::data/out/*"}
        iam.put_role_policy(
            RoleName="fn",
            PolicyName="p",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        keys = operator.client("sts").assume_role(RoleArn=arn, RoleSessionName="fn-session")["Credentials"]
        authorizer = InProcessAuthorizer(Authorizer(MotoStore(ACCOUNT), ["operator"], REGION), ACCOUNT)
        with authorizer.installed():
            s3 = session_with(credential_variables(keys), REGION).client("s3")
            s3.put_object(Bucket="data", Key="out/a.json", Body=b"{}")
            with pytest.raises(ClientError) as denied:
                s3.put_object(Bucket="data", Key="status/a.json", Body=b"{}")
            with pytest.raises(ClientError) as listing:
                s3.list_objects_v2(Bucket="data")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assert "assumed-role/fn/fn-session is not authorized to perform: s3:PutObject" in str(denied.value)
        assert "s3:ListBucket on resource: arn:aws:s3:::data " in str(listing.value)
        assert [d.request.action for d in authorizer.authorizer.denials] == ["s3:PutObject", "s3:ListBucket"]
