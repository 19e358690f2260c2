"""The template's alarms exist on the local stack as CloudWatch holds them, notifying the alarms topic."""

from __future__ import annotations

from typing import Any


def test_dead_letters_and_function_errors_raise_alarms(local_stack: Any) -> None:
    state = local_stack.state()
    topic = state["outputs"]["AlarmsTopicArn"]
    alarms = {alarm["AlarmName"]: alarm for alarm in local_stack.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    dead_letters, errors = alarms["icflow-DeadLettersAlarm"], alarms["icflow-FunctionErrorsAlarm"]
    assert dead_letters["AlarmActions"] == [topic] and errors["AlarmActions"] == [topic]
    watched_queues = {
        metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
        for metric in dead_letters["Metrics"]
        if "MetricStat" in metric
    }
    queues = {
        resource["QueueName"]
        for logical_id, resource in state["resources"].items()
        if resource["Type"] == "AWS::SQS::Queue" and logical_id.endswith("DeadLetterQueue")
    }
    assert watched_queues == queues and len(queues) == 5
    watched_functions = {
        metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
        for metric in errors["Metrics"]
        if "MetricStat" in metric
    }
    assert watched_functions == {function["name"] for function in state["functions"].values()}
