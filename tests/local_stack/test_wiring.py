"""A small template of the tests' own, wired by the local stack: rules with their patterns, S3 notifications in
AWS's shape, SQS sources with their batching, Globals and references in the environment, retries and the
dead-letter queue, conditions, and timeouts. No SageMaker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  WithTopic: {Type: String, Default: "false", AllowedValues: ["true", "false"]}
Conditions:
  HasTopic: !Equals [!Ref WithTopic, "true"]
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 10
    Environment:
      Variables:
        BUCKET: !Ref Bucket
        STAGE_NAME: !Sub "${AWS::StackName}-${Stage}"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      NotificationConfiguration: {EventBridgeConfiguration: {EventBridgeEnabled: true}}
  Work:
    Type: AWS::SQS::Queue
  DeadLetters:
    Type: AWS::SQS::Queue
  Parked:
    Type: AWS::SQS::Queue
  ToParked:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [tests.parked]}
      Targets:
        - {Id: Parked, Arn: !GetAtt Parked.Arn}
  Topic:
    Type: AWS::SNS::Topic
    Condition: HasTopic
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: recorder/
      Environment: {Variables: {QUEUE_ARN: !GetAtt Work.Arn}}
      # A SAM policy template, expanded by samtranslator: the recorder writes what it saw to the bucket.
      Policies:
        - S3WritePolicy: {BucketName: !Ref Bucket}
      EventInvokeConfig: {MaximumRetryAttempts: 1}
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt DeadLetters.Arn}
      Events:
        Custom:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [tests.custom], detail: {kind: [{prefix: wanted}]}}
        Uploads:
          Type: EventBridgeRule
          Properties:
            Pattern:
              source: [aws.s3]
              detail-type: [Object Created]
              detail: {bucket: {name: [!Ref Bucket]}, object: {key: [{prefix: incoming/}]}}
        Batches:
          Type: SQS
          Properties: {Queue: !GetAtt Work.Arn, BatchSize: 3, MaximumBatchingWindowInSeconds: 1}
        Hourly:
          Type: Schedule
          Properties: {Schedule: rate(1 hour), Input: '{"scheduled": true}'}
"""

HANDLER = """\
import json
import os
import time

import boto3


def handler(event, context):
    detail = event.get("detail", {}) if isinstance(event, dict) else {}
    if detail.get("fail"):
        raise RuntimeError("asked to fail")
    time.sleep(detail.get("sleep", 0))
    record = {
        "event": event,
        "env": {name: os.environ.get(name) for name in ("BUCKET", "STAGE_NAME", "QUEUE_ARN", "AWS_LAMBDA_FUNCTION_NAME")},
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
    }
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=f"seen/{context.aws_request_id}.json",
                                  Body=json.dumps(record))
    return {"seen": context.aws_request_id}
"""


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    root = tmp_path_factory.mktemp("small-template")
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "recorder").mkdir()
    (root / "recorder" / "app.py").write_text(HANDLER)
    options = StackOptions(
        template=root / "template.yaml",
        work_dir=root / ".icflow",
        state_file=root / ".icflow" / "local.json",
        stack_name="small",
        sagemaker=False,
    )
    with LocalStack(options) as stack:
        yield stack


def _seen(stack: Any) -> list[dict[str, Any]]:
    s3 = stack.client("s3")
    bucket = stack.state()["resources"]["Bucket"]["Ref"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix="seen/").get("Contents", [])]
    return [json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]


def _events(stack: Any, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    return [record for record in _seen(stack) if predicate(record["event"])]


def _put_event(stack: Any, detail: dict[str, Any], source: str = "tests.custom") -> None:
    stack.client("events").put_events(Entries=[{"Source": source, "DetailType": "test", "Detail": json.dumps(detail)}])


def test_rules_deliver_matching_events_whole(small_stack: Any, wait: Callable[..., Any]) -> None:
    _put_event(small_stack, {"kind": "unwanted", "n": 1})
    _put_event(small_stack, {"kind": "wanted-one", "n": 2})
    records = wait(
        lambda: _events(small_stack, lambda e: "n" in e.get("detail", {})), 30, "the wanted event reaching Recorder"
    )
    assert [record["event"]["detail"]["n"] for record in records] == [2]
    event = records[0]["event"]
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert event["account"] == "123456789012" and event["time"].endswith("Z")


def test_a_queue_target_receives_the_whole_event(small_stack: Any, wait: Callable[..., Any]) -> None:
    _put_event(small_stack, {"kind": "parked"}, source="tests.parked")
    sqs = small_stack.client("sqs")
    url = small_stack.state()["resources"]["Parked"]["Ref"]
    message = wait(lambda: sqs.receive_message(QueueUrl=url).get("Messages"), 30, "the event reaching Parked")[0]
    event = json.loads(message["Body"])
    assert event["account"] == "123456789012" and event["detail"] == {"kind": "parked"}


def test_environment_has_globals_and_resolved_references(small_stack: Any, wait: Callable[..., Any]) -> None:
    _put_event(small_stack, {"kind": "wanted-env"})
    record = wait(
        lambda: _events(small_stack, lambda e: e.get("detail", {}).get("kind") == "wanted-env"),
        30,
        "Recorder recording its environment",
    )[0]
    resources = small_stack.state()["resources"]
    assert record["env"] == {
        "BUCKET": resources["Bucket"]["Ref"],
        "STAGE_NAME": "small-dev",
        "QUEUE_ARN": resources["Work"]["Arn"],
        "AWS_LAMBDA_FUNCTION_NAME": "small-Recorder",
    }
    assert record["function_name"] == "small-Recorder"
    assert 0 < record["remaining_ms"] <= 10_000


def test_s3_uploads_arrive_as_aws_object_created_events(small_stack: Any, wait: Callable[..., Any]) -> None:
    s3 = small_stack.client("s3")
    bucket = small_stack.state()["resources"]["Bucket"]["Ref"]
    etag = s3.put_object(Bucket=bucket, Key="incoming/a.txt", Body=b"hello")["ETag"].strip('"')
    s3.put_object(Bucket=bucket, Key="elsewhere/b.txt", Body=b"not watched")
    records = wait(
        lambda: _events(small_stack, lambda e: e.get("source") == "aws.s3"),
        30,
        "the Object Created event reaching Recorder",
    )
    assert len(records) == 1
    event = records[0]["event"]
    assert event["detail-type"] == "Object Created" and event["resources"] == [f"arn:aws:s3:::{bucket}"]
    detail = event["detail"]
    assert detail["object"]["key"] == "incoming/a.txt" and detail["object"]["etag"] == etag
    assert detail["object"]["size"] == 5 and detail["reason"] == "PutObject"


def test_sqs_source_batches_as_declared(small_stack: Any, wait: Callable[..., Any]) -> None:
    sqs = small_stack.client("sqs")
    url = small_stack.state()["resources"]["Work"]["Ref"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(5)])

    def batches() -> list[list[dict[str, Any]]]:
        found = [record["event"]["Records"] for record in _seen(small_stack) if "Records" in record["event"]]
        return found if sum(map(len, found)) == 5 else []

    found = wait(batches, 30, "five messages reaching Recorder")
    assert all(1 <= len(batch) <= 3 for batch in found)
    assert sorted(record["body"] for batch in found for record in batch) == [f"m{n}" for n in range(5)]
    record = found[0][0]
    assert (
        record["eventSource"] == "aws:sqs"
        and record["eventSourceARN"] == small_stack.state()["resources"]["Work"]["Arn"]
    )
    assert "ApproximateReceiveCount" in record["attributes"]
    wait(
        lambda: int(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"]
        )
        == 0,
        10,
        "the queue emptying after the batches succeeded",
    )


def test_failures_are_retried_then_dead_lettered(small_stack: Any, wait: Callable[..., Any]) -> None:
    recorder = small_stack.functions["Recorder"]
    before = recorder.invocations
    _put_event(small_stack, {"kind": "wanted-failure", "fail": True})
    sqs = small_stack.client("sqs")
    url = small_stack.state()["resources"]["DeadLetters"]["Ref"]
    messages = wait(
        lambda: sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"]).get("Messages"),
        30,
        "the failed event reaching the dead-letter queue",
    )
    assert json.loads(messages[0]["Body"])["detail"]["kind"] == "wanted-failure"
    assert messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "asked to fail"
    assert recorder.invocations - before == 2  # the first try and MaximumRetryAttempts: 1
    log = recorder.log_path.read_text()
    assert "RuntimeError: asked to fail" in log and "REPORT RequestId" in log


def test_conditions_leave_resources_out(small_stack: Any) -> None:
    state = small_stack.state()
    assert "Topic" not in state["resources"]
    topics = [topic["TopicArn"] for topic in small_stack.client("sns").list_topics()["Topics"]]
    assert not [arn for arn in topics if arn.endswith(":small-Topic")]


def test_a_timed_out_function_is_replaced(small_stack: Any) -> None:
    from icflow_tools.local_stack.process import FunctionProcess

    recorder = small_stack.functions["Recorder"]
    spec = recorder.spec.__class__(**{**recorder.spec.__dict__, "timeout_seconds": 1})
    process = FunctionProcess(spec, recorder.environment, recorder.log_path)
    try:
        timed_out = process.invoke({"detail": {"sleep": 5}})
        assert not timed_out.ok and timed_out.error["errorMessage"] == "Task timed out after 1.00 seconds"
        again = process.invoke({"detail": {"kind": "after-timeout"}})
        assert again.ok and again.result == {"seen": again.request_id}
    finally:
        process.stop()


def test_schedules_become_timed_rules(small_stack: Any, wait: Callable[..., Any]) -> None:
    import threading

    from icflow_tools.local_stack.pollers import ScheduleTimer
    from icflow_tools.local_stack.wiring import rate_seconds

    rule = small_stack.client("events").describe_rule(Name="small-RecorderHourly")
    assert rule["ScheduleExpression"] == "rate(1 hour)"
    assert [timer.name for timer in small_stack.timers] == ["Recorder<-small-RecorderHourly"]
    assert rate_seconds("rate(1 hour)") == 3600 and rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("cron(0 12 * * ? *)") is None

    sqs = small_stack.client("sqs")
    url = sqs.create_queue(QueueName="schedule-probe")["QueueUrl"]
    stop = threading.Event()
    timer = ScheduleTimer("probe", sqs, url, 0.2, rule["Arn"], "us-east-1", "123456789012", stop)
    timer.start()
    try:
        message = wait(lambda: sqs.receive_message(QueueUrl=url).get("Messages"), 10, "a scheduled event")[0]
    finally:
        stop.set()
        timer.thread.join(5)
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule["Arn"]]
