"""The deploy path's handlers with the sample events, and template.yaml's new rules against the package."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from moto.events.models import EventPattern

from icflow.batch.transform_events import TRANSFORM_STATE_CHANGE
from icflow.core import layout, naming
from icflow.core.model_ready import MODEL_READY_DETAIL_TYPE, MODEL_READY_SOURCE
from icflow.core.sagemaker_events import FINAL_STATES, SAGEMAKER_SOURCE
from icflow.endpoints.endpoint_events import ENDPOINT_STATE_CHANGE
from support.template_statements import function_statements

if TYPE_CHECKING:
    from support.stack import Stack


def test_the_queue_handler_reports_a_poison_message_alone(
    handler_of, stack: Stack, sample_event, lambda_context
) -> None:
    s3 = stack.client("s3")
    s3.put_object(
        Bucket=stack.bucket, Key="batch/caltech256/holiday/day 1/IMG_0001.jpg", Body=b"\xff\xd8\xff\xe0jpeg\xff\xd9"
    )
    s3.put_object(
        Bucket=stack.bucket,
        Key="batch/caltech256/IMG_0002.png",
        Body=b"\x89PNG\r\n\x1a\npng\x00\x00\x00\x00IEND\xaeB`\x82",
    )
    event = sample_event("sqs_batch_uploads.json")
    event["Records"].append({**event["Records"][0], "messageId": "poison", "body": "{not json"})

    response = handler_of("batch_collect")(event, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    listing = s3.list_objects_v2(Bucket=stack.bucket, Prefix=layout.TRANSFORM_INPUT)["Contents"]
    (manifest,) = [item["Key"] for item in listing if item["Key"].endswith("manifest.json")]
    body = json.loads(s3.get_object(Bucket=stack.bucket, Key=manifest)["Body"].read())
    assert body[1:] == ["IMG_0002.png", "holiday/day 1/IMG_0001.jpg"]


def test_the_model_ready_handler_takes_the_sample_event(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    outcome = handler_of("model_deploy")(sample_event("model_ready.json"), lambda_context)
    assert outcome == {"dataset": "caltech256", "model_name": "icflow-caltech256-3f2a9c41d0b7", "batches": []}


@pytest.mark.parametrize("event_file", ["transform_job_completed.json", "transform_job_failed.json"])
def test_the_transform_handler_ignores_jobs_this_stack_did_not_start(
    handler_of, stack: Stack, sample_event, lambda_context, event_file: str
) -> None:
    stack.client("sagemaker").create_model(
        ModelName="icflow-caltech256-3f2a9c41d0b7",
        PrimaryContainer={"Image": "x"},
        ExecutionRoleArn=stack.settings.sagemaker_role_arn,
    )
    detail = sample_event(event_file)["detail"]
    stack.client("sagemaker").create_transform_job(
        TransformJobName=detail["TransformJobName"],
        ModelName=detail["ModelName"],
        TransformInput=detail["TransformInput"],
        TransformOutput=detail["TransformOutput"],
        TransformResources=detail["TransformResources"],
    )
    outcome = handler_of("transform_state")(sample_event(event_file), lambda_context)
    assert outcome["action"] == "ignored" and outcome["reason"] == "no such batch in this stack"


@pytest.mark.parametrize(
    "event_file", ["endpoint_in_service.json", "endpoint_failed.json", "endpoint_updating_rollback.json"]
)
def test_the_endpoint_handler_ignores_endpoints_that_do_not_exist(
    handler_of, stack: Stack, sample_event, lambda_context, event_file: str
) -> None:
    assert handler_of("endpoint_state")(sample_event(event_file), lambda_context)["action"] == "ignored"


def test_the_scheduled_guard_runs_with_the_sample_event(handler_of, stack: Stack, sample_event, lambda_context) -> None:
    assert handler_of("idle_endpoints")(sample_event("scheduled_idle_check.json"), lambda_context) == {
        "action": "checked",
        "deleted": [],
        "foreign": [],
    }


def _rule_pattern(template: dict[str, Any], function: str) -> dict[str, Any]:
    (event,) = template["Resources"][function]["Properties"]["Events"].values()
    return event["Properties"]["Pattern"]


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_batch_uploads_are_watched_exactly_under_the_batch_prefix(template: dict[str, Any], sample_event) -> None:
    pattern = template["Resources"]["BatchUploadsRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["object"]["key"] == [{"prefix": layout.BATCH}] and layout.BATCH in layout.WATCHED_PREFIXES
    event = sample_event("s3_object_created_batch.json")
    concrete = json.loads(
        json.dumps(pattern).replace('{"Ref": "DataBucket"}', json.dumps(event["detail"]["bucket"]["name"]))
    )
    assert _matches(concrete, event)
    for written in (
        layout.transform_input_prefix("caltech256", "b"),
        layout.predictions_prefix("caltech256", "b"),
        layout.labeled_prefix("caltech256", "cat"),
        layout.transform_output_prefix("caltech256", "b"),
    ):
        event["detail"]["object"]["key"] = written + "x.jpg"
        assert not _matches(concrete, event), written
    (target,) = template["Resources"]["BatchUploadsRule"]["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["BatchQueue", "Arn"]}


def test_the_batch_function_batches_with_parameters_and_reports_partial_failures(template: dict[str, Any]) -> None:
    (source,) = template["Resources"]["BatchCollectFunction"]["Properties"]["Events"].values()
    assert source["Type"] == "SQS"
    properties = source["Properties"]
    assert properties["BatchSize"] == {"Ref": "BatchMaximumBatchSize"}
    assert properties["MaximumBatchingWindowInSeconds"] == {"Ref": "BatchMaximumBatchingWindowSeconds"}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = template["Resources"]["BatchQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["BatchDeadLetterQueue", "Arn"]}
    timeout = template["Resources"]["BatchCollectFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * timeout


@pytest.mark.parametrize(
    ("function", "event_file", "delivered"),
    [
        ("TransformStateFunction", "transform_job_completed.json", True),
        ("TransformStateFunction", "transform_job_failed.json", True),
        ("ModelDeployFunction", "model_ready.json", True),
        ("EndpointStateFunction", "endpoint_in_service.json", True),
        ("EndpointStateFunction", "endpoint_updating_rollback.json", True),
        ("TransformStateFunction", "training_job_completed.json", False),
        ("ModelDeployFunction", "training_job_completed.json", False),
    ],
)
def test_deploy_rules_deliver_their_events(
    template: dict[str, Any], sample_event, function: str, event_file: str, delivered: bool
) -> None:
    assert _matches(_rule_pattern(template, function), sample_event(event_file)) is delivered


def test_deploy_rules_use_the_shapes_defined_in_code(template: dict[str, Any]) -> None:
    transform = _rule_pattern(template, "TransformStateFunction")
    assert transform["source"] == [SAGEMAKER_SOURCE] and transform["detail-type"] == [TRANSFORM_STATE_CHANGE]
    assert set(transform["detail"]["TransformJobStatus"]) == set(FINAL_STATES)
    assert transform["detail"]["TransformJobName"] == [{"prefix": naming.NAME_PREFIX}]
    ready = _rule_pattern(template, "ModelDeployFunction")
    assert ready == {
        "source": [MODEL_READY_SOURCE],
        "detail-type": [MODEL_READY_DETAIL_TYPE],
        "detail": {"stack": [{"Ref": "AWS::StackName"}]},
    }
    endpoint = _rule_pattern(template, "EndpointStateFunction")
    assert endpoint["detail-type"] == [ENDPOINT_STATE_CHANGE] and endpoint["detail"]["EndpointName"] == [
        {"prefix": naming.NAME_PREFIX}
    ]


def test_only_the_labeling_functions_write_predictions(template: dict[str, Any]) -> None:
    writers = set()
    for statement in function_statements(template):
        if "s3:PutObject" in statement.actions and layout.PREDICTIONS in json.dumps(statement.resources):
            writers.add(statement.function)
        # Inputs are never moved or deleted: no function may delete objects.
        assert "s3:DeleteObject" not in statement.actions, statement.function
    # LostEventsFunction labels a transform job whose event was lost, with TransformStateFunction's use case;
    # BatchCollectFunction labels a small batch through the dataset's endpoint (icflow.batch.realtime_labeling).
    assert writers == {"TransformStateFunction", "LostEventsFunction", "BatchCollectFunction"}


def test_the_model_ready_event_model_agrees_with_the_published_shape() -> None:
    from icflow.core.model_ready import ModelReadyEvent

    fields = ModelReadyEvent.model_fields
    assert fields["source"].annotation.__args__ == (MODEL_READY_SOURCE,)
    assert fields["detail_type"].annotation.__args__ == (MODEL_READY_DETAIL_TYPE,)


def test_deploy_functions_use_wildcard_resources_only_for_actions_without_resources(template: dict[str, Any]) -> None:
    unscoped = set()
    deploy_functions = (
        "BatchCollectFunction",
        "TransformStateFunction",
        "ModelDeployFunction",
        "EndpointStateFunction",
        "IdleEndpointsFunction",
        "LostEventsFunction",
    )
    for statement in function_statements(template, *deploy_functions):
        if statement.resources == ["*"]:
            unscoped.update(statement.actions)
        for resource in statement.resources:
            arn = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
            if ":sagemaker:" in arn or ":alarm:" in arn:
                assert arn.endswith(f"{naming.NAME_PREFIX}*"), arn
    # None of them authorizes on a resource (Service Authorization Reference).
    assert unscoped == {
        "sagemaker:ListEndpoints",
        "cloudwatch:GetMetricStatistics",
        "application-autoscaling:DescribeScalableTargets",
    }
