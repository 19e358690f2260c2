"""template.yaml against the package: prefixes, names, event shapes and settings are decided once, in code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from icflow.core import layout, naming, refusals
from icflow.core.pipeline_config import INSTANCE_TYPE, MAX_RUNTIME_LIMIT
from icflow.core.sagemaker_events import FINAL_STATES, SAGEMAKER_SOURCE
from icflow.core.settings import Settings
from icflow.lost_events import EVENT_MAX_AGE
from icflow.training.job_events import TRAINING_STATE_CHANGE, TUNING_STATE_CHANGE
from icflow_tools.local_stack.wiring import rate_seconds

FUNCTIONS = ("DatasetUploadFunction", "TrainingStateFunction")


def _rule(template: dict[str, Any], function: str) -> dict[str, Any]:
    """The function's one EventBridge rule (DatasetUploadFunction also takes its settle queue's messages)."""
    (event,) = (e for e in template["Resources"][function]["Properties"]["Events"].values() if e["Type"] != "SQS")
    assert event["Type"] == "EventBridgeRule"
    return event["Properties"]


def _statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in template["Resources"][function]["Properties"]["Policies"]
        for statement in policy["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _sub_strings(resource: Any) -> list[str]:
    return [item["Fn::Sub"] for item in _as_list(resource) if isinstance(item, dict) and "Fn::Sub" in item]


def test_uploads_are_watched_exactly_under_the_datasets_prefix(template: dict[str, Any]) -> None:
    pattern = _rule(template, "DatasetUploadFunction")["Pattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "DataBucket"}]
    assert pattern["detail"]["object"]["key"] == [{"prefix": layout.DATASETS}]
    assert layout.DATASETS in layout.WATCHED_PREFIXES


def test_state_changes_are_matched_for_icflow_jobs_in_final_states_only(template: dict[str, Any]) -> None:
    pattern = _rule(template, "TrainingStateFunction")["Pattern"]
    assert pattern["source"] == [SAGEMAKER_SOURCE]
    training, tuning = pattern["$or"]
    assert training["detail-type"] == [TRAINING_STATE_CHANGE] and tuning["detail-type"] == [TUNING_STATE_CHANGE]
    assert training["detail"]["TrainingJobName"] == [{"prefix": naming.NAME_PREFIX}]
    assert tuning["detail"]["HyperParameterTuningJobName"] == [{"prefix": naming.NAME_PREFIX}]
    assert set(training["detail"]["TrainingJobStatus"]) == set(FINAL_STATES)
    assert set(tuning["detail"]["HyperParameterTuningJobStatus"]) == set(FINAL_STATES)
    assert "TuningJobArn" not in training["detail"]  # trials are told apart in code, whatever the event spells


def test_the_environment_is_exactly_what_settings_read(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    # The upload function's own: its settle queue, which no other function has.
    own = template["Resources"]["DatasetUploadFunction"]["Properties"]["Environment"]["Variables"]
    assert set(own) == {"DATASET_SETTLE_QUEUE_URL"}
    # The Lambda runtime sets AWS_REGION itself.
    expected = {field.alias for field in Settings.model_fields.values()} - {"AWS_REGION"}
    assert {name for name in [*variables, *own] if not name.startswith("POWERTOOLS_")} == expected


def test_functions_run_python_313_on_arm64_with_the_layer(template: dict[str, Any]) -> None:
    function = template["Globals"]["Function"]
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    assert function["Tracing"] == "Active"
    layer = template["Resources"]["IcflowLayer"]
    # layers/icflow/Makefile and functions/Makefile compile for python3.13 and install the layer for arm64.
    assert layer["Metadata"]["BuildMethod"] == "makefile" and layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert function["Layers"] == [{"Ref": "IcflowLayer"}]
    built = {
        name: (resource["Metadata"]["BuildMethod"], resource["Metadata"]["ContextPath"])
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(built.values()) == {("makefile", "functions")}, built


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_asynchronous_function_has_retries_and_a_dead_letter_queue(
    template: dict[str, Any], function: str
) -> None:
    properties = template["Resources"][function]["Properties"]
    assert properties["DeadLetterQueue"]["Type"] == "SQS"
    assert properties["EventInvokeConfig"]["MaximumRetryAttempts"] >= 1
    rule = _rule(template, function)
    assert "Arn" in rule["DeadLetterConfig"] and rule["RetryPolicy"]["MaximumRetryAttempts"] >= 1


@pytest.mark.parametrize("function", [*FUNCTIONS, "ModelDeployFunction"])
def test_a_refused_call_is_tried_as_often_as_lambda_delivers_the_event(template: dict[str, Any], function: str) -> None:
    # The last try ends the run with its reason: one more retry would find it ended, one fewer leaves it running.
    properties = template["Resources"][function]["Properties"]
    assert refusals.ATTEMPTS == 1 + properties["EventInvokeConfig"]["MaximumRetryAttempts"]


def test_a_refused_transform_job_is_tried_as_often_as_the_batch_queue_delivers(template: dict[str, Any]) -> None:
    redrive = template["Resources"]["BatchQueue"]["Properties"]["RedrivePolicy"]
    assert refusals.QUEUE_ATTEMPTS == redrive["maxReceiveCount"]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_pass_role_is_only_for_the_execution_role_and_only_to_sagemaker(
    template: dict[str, Any], function: str
) -> None:
    passing = [s for s in _statements(template, function) if "iam:PassRole" in _as_list(s["Action"])]
    assert len(passing) == 1
    (statement,) = passing
    assert _as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Resource"] == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_lambda_policies_name_icflows_prefixes_and_no_wildcard_resources(
    template: dict[str, Any], function: str
) -> None:
    for statement in _statements(template, function):
        assert statement["Effect"] == "Allow"
        assert "*" not in _as_list(statement["Resource"]), statement["Sid"]
        assert not any(action.endswith(":*") for action in _as_list(statement["Action"])), statement["Sid"]
        for arn in _sub_strings(statement["Resource"]):
            if ":sagemaker:" in arn:
                assert arn.split("/", 1)[1] == f"{naming.NAME_PREFIX}*", arn
            elif arn.startswith("${DataBucket.Arn}/"):
                prefix = arn.removeprefix("${DataBucket.Arn}/").removesuffix("*")
                assert prefix in (layout.DATASETS, layout.STATUS, layout.PREPARED), arn


def test_only_the_upload_function_reads_datasets_and_starts_jobs(template: dict[str, Any]) -> None:
    upload = {a for s in _statements(template, "DatasetUploadFunction") for a in _as_list(s["Action"])}
    state = {a for s in _statements(template, "TrainingStateFunction") for a in _as_list(s["Action"])}
    assert {"sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"} <= upload
    assert not {"sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob", "s3:GetObject"} & state
    assert {"sagemaker:CreateModel", "events:PutEvents"} <= state and "sagemaker:CreateModel" not in upload


def test_the_execution_role_writes_only_where_sagemaker_outputs_go(template: dict[str, Any]) -> None:
    role = template["Resources"]["SageMakerExecutionRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    written = {
        arn.removeprefix("${DataBucket.Arn}/").removesuffix("*")
        for s in statements
        if {"s3:PutObject", "s3:DeleteObject"} & set(_as_list(s["Action"]))
        for arn in _sub_strings(s["Resource"])
    }
    assert written == {layout.ARTIFACTS, layout.CHECKPOINTS, layout.TRANSFORM_OUTPUT}
    s3_resources = [
        r
        for s in statements
        if any(a.startswith("s3:") for a in _as_list(s["Action"]))
        for r in _as_list(s["Resource"])
    ]
    assert all("DataBucket" in str(resource) for resource in s3_resources)


def test_data_is_encrypted_versioned_private_and_tls_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket = resources["DataBucket"]["Properties"]
    assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    assert bucket["NotificationConfiguration"]["EventBridgeConfiguration"]["EventBridgeEnabled"] is True
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (deny,) = resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for table in ("RunsTable", "IdempotencyTable"):
        properties = resources[table]["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert properties["SSESpecification"]["SSEEnabled"] is True


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    # moto's implementation of EventBridge's matching rules (prefix, exists, $or).
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


@pytest.mark.parametrize(
    "event_file",
    ["s3_object_created_train.json", "s3_object_created_validation.json", "s3_object_created_pipeline.json"],
)
def test_upload_rule_delivers_dataset_uploads_only(template: dict[str, Any], sample_event, event_file: str) -> None:
    event = sample_event(event_file)
    bucket = json.dumps(event["detail"]["bucket"]["name"])
    pattern = json.loads(
        json.dumps(_rule(template, "DatasetUploadFunction")["Pattern"]).replace('{"Ref": "DataBucket"}', bucket)
    )
    assert _matches(pattern, event)
    event["detail"]["object"]["key"] = layout.latest_status_key("caltech256")
    assert not _matches(pattern, event)


@pytest.mark.parametrize(
    ("event_file", "delivered"),
    [
        ("training_job_completed.json", True),
        ("training_job_failed.json", True),
        ("tuning_job_completed.json", True),
        ("tuning_trial_completed.json", True),  # delivered, and ignored by the function
        ("training_job_in_progress.json", False),
    ],
)
def test_state_rule_delivers_final_states_of_icflow_jobs_only(
    template: dict[str, Any], sample_event, event_file: str, delivered: bool
) -> None:
    pattern = _rule(template, "TrainingStateFunction")["Pattern"]
    event = sample_event(event_file)
    assert _matches(pattern, event) is delivered
    for field in ("TrainingJobName", "HyperParameterTuningJobName"):
        if field in event["detail"]:
            event["detail"][field] = "DEMO-imageclassification-2026-11-21"
    assert _matches(pattern, event) is False


def test_training_parameters_allow_what_pipeline_json_allows(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["TrainingInstanceType"]["AllowedPattern"] == INSTANCE_TYPE
    assert parameters["TrainingMaxRuntimeSeconds"]["MaxValue"] == MAX_RUNTIME_LIMIT
    assert parameters["ManagedSpotTraining"]["AllowedValues"] == ["true", "false"]


def test_a_standalone_job_whose_event_spells_tuning_job_arn_as_null_is_delivered(
    template: dict[str, Any], sample_event
) -> None:
    event = sample_event("training_job_completed.json")
    event["detail"]["TuningJobArn"] = None
    assert _matches(_rule(template, "TrainingStateFunction")["Pattern"], event)


@pytest.mark.parametrize("function", ["TrainingStateFunction", "TransformStateFunction"])
def test_lost_events_are_judged_only_once_their_delivery_is_given_up(template: dict[str, Any], function: str) -> None:
    # Until then the event may still come, through EventBridge's retries or Lambda's: the check would race it.
    properties = template["Resources"][function]["Properties"]
    longest = max(
        properties["EventInvokeConfig"]["MaximumEventAgeInSeconds"],
        _rule(template, function)["RetryPolicy"]["MaximumEventAgeInSeconds"],
    )
    assert EVENT_MAX_AGE.total_seconds() >= longest


def test_lost_events_are_checked_on_a_schedule_shorter_than_their_grace(template: dict[str, Any]) -> None:
    schedule = template["Resources"]["LostEventsFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert rate_seconds(schedule["Schedule"]) <= EVENT_MAX_AGE.total_seconds()
