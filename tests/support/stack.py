"""The stack on moto, built from template.yaml's own resource properties, and the sample events in events/.

Shared by every test that runs the layer's use cases or the functions' handlers; tests/conftest.py turns it
into fixtures."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.sagemaker.exceptions import ResourceInUseException

from icflow.core import layout
from icflow.core.settings import Settings, current_settings
from icflow.recordio.framing import RecordWriter
from icflow.recordio.image_record import pack_image_record
from icflow.training.evaluate_dataset import EvaluateDataset, build_evaluate_dataset
from icflow.training.job_state_change import HandleJobStateChange, build_handle_job_state_change
from icflow.training.model_approval import HandleModelApproval, build_handle_model_approval
from icflow.wiring import Adapters, environment_adapters, from_environment
from icflow_tools.local_stack.template import load_template as read_template

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events"
TEMPLATE = REPO / "template.yaml"
FUNCTIONS = REPO / "functions"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# What a handler builds once per execution environment: the settings and each function's use case.
ENVIRONMENT_CACHES = (current_settings, environment_adapters, from_environment)


def recordio(labels: list[int]) -> bytes:
    """A .rec file with one tiny record per label."""
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    for index, label in enumerate(labels):
        writer.write(pack_image_record(label, b"\xff\xd8image" + bytes([index % 256]), index))
    return buffer.getvalue()


def load_template() -> dict[str, Any]:
    return read_template(TEMPLATE)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def sample_environment() -> dict[str, str]:
    """events/env.json, the environment `sam local invoke --env-vars` gives the functions."""
    return dict(json.loads((EVENTS / "env.json").read_text())["Parameters"])


def create_training_job_once(original: Any) -> Any:
    # moto replaces a training job of the same name; SageMaker refuses with ResourceInUse, which icflow relies on.
    def create(self: Any, training_job_name: str, *args: Any, **kwargs: Any) -> Any:
        if training_job_name in self.training_jobs:
            raise ResourceInUseException(message=f"Training job names must be unique: {training_job_name} exists")
        return original(self, training_job_name, *args, **kwargs)

    return create


class FakeLambdaContext:
    """What Powertools reads from a Lambda context: names, and the time left (a generous minute)."""

    function_name = "icflow-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:icflow-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/icflow-test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Stack:
    settings: Settings
    environment: dict[str, str]
    session: boto3.Session

    def client(self, service: str) -> Any:
        return self.session.client(service)

    def adapters(self) -> Adapters:
        """The functions' wiring on this stack, as one execution environment builds it."""
        return Adapters(self.settings, self.session)

    @property
    def bucket(self) -> str:
        return self.settings.data_bucket

    def evaluate_dataset(self) -> EvaluateDataset:
        """The dataset-upload use case as one invocation builds it."""
        use_case = build_evaluate_dataset(self.adapters())
        use_case.idempotency.register_lambda_context(FakeLambdaContext())
        return use_case

    def handle_job_state_change(self) -> HandleJobStateChange:
        return build_handle_job_state_change(self.adapters())

    def handle_model_approval(self) -> HandleModelApproval:
        return build_handle_model_approval(self.adapters())

    def put_recordio_dataset(self, dataset: str, train: list[int], validation: list[int]) -> None:
        """train/part-0.rec and validation/part-0.rec with one record per label."""
        s3 = self.client("s3")
        for channel, labels in ((layout.TRAIN, train), (layout.VALIDATION, validation)):
            key = f"{layout.channel_prefix(dataset, channel)}part-0.rec"
            s3.put_object(Bucket=self.bucket, Key=key, Body=recordio(labels))

    def object_created(self, key: str) -> dict[str, Any]:
        """The sample EventBridge upload event, naming `key` of this stack's bucket."""
        event = load_event("s3_object_created_train.json")
        event["detail"]["bucket"]["name"] = self.bucket
        event["detail"]["object"]["key"] = key
        return event

    def latest_status(self, dataset: str) -> dict[str, Any]:
        body = self.client("s3").get_object(Bucket=self.bucket, Key=layout.latest_status_key(dataset))["Body"]
        return json.loads(body.read())

    def training_jobs(self) -> list[str]:
        summaries = self.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]
        return [job["TrainingJobName"] for job in summaries]

    def events_queue(self, source: str, detail_type: str) -> str:
        """An SQS queue a rule on the bus sends these events to, standing in for the functions that react to them."""
        sqs, events = self.client("sqs"), self.client("events")
        name = re.sub(r"[^A-Za-z0-9]+", "-", detail_type)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": [source], "detail-type": [detail_type]}
        events.put_rule(Name=name, EventBusName=self.settings.event_bus_name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=self.settings.event_bus_name, Targets=[{"Id": "q", "Arn": arn}])
        return url

    def received_events(self, queue_url: str) -> list[dict[str, Any]]:
        messages = self.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def subscribe_queue(self) -> str:
        """An SQS queue subscribed to the notifications topic, as a stand-in for the e-mail subscriber."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.client("sns").subscribe(TopicArn=self.settings.notifications_topic_arn, Protocol="sqs", Endpoint=arn)
        return url

    def notifications(self, queue_url: str) -> list[str]:
        sqs = self.client("sqs")
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"])["Message"] for message in messages]


def provision(template: dict[str, Any], environment: dict[str, str], session: boto3.Session) -> None:
    """Creates the template's data resources on moto, with the settings the template declares."""
    resources = template["Resources"]
    s3 = session.client("s3")
    bucket = environment["DATA_BUCKET"]
    props = resources["DataBucket"]["Properties"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}
    )
    rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": rule["BucketKeyEnabled"],
                }
                for rule in rules
            ]
        },
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if props["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"]:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    dynamodb = session.client("dynamodb")
    for logical_id, variable in (("RunsTable", "RUNS_TABLE"), ("IdempotencyTable", "IDEMPOTENCY_TABLE")):
        table = resources[logical_id]["Properties"]
        name = environment[variable]
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            BillingMode=table["BillingMode"],
            SSESpecification={"Enabled": table["SSESpecification"]["SSEEnabled"]},
        )
        if "TimeToLiveSpecification" in table:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=table["TimeToLiveSpecification"])
        recovery = table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": recovery}
        )
    session.client("sns").create_topic(Name=environment["NOTIFICATIONS_TOPIC_ARN"].rsplit(":", 1)[1])
    role = resources["SageMakerExecutionRole"]["Properties"]
    session.client("iam").create_role(
        RoleName=environment["SAGEMAKER_ROLE_ARN"].rsplit("/", 1)[1],
        AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
    )
