"""ReportsFunction in template.yaml: its rules deliver exactly icflow's three events, with the shapes defined in code;
only it writes under reports/; its handler takes both sample events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from icflow.core import layout
from icflow.core.batch_labeled import BATCH_LABELED_DETAIL_TYPE, BATCH_LABELED_SOURCE
from icflow.core.model_ready import MODEL_READY_DETAIL_TYPE, MODEL_READY_SOURCE
from icflow.core.run_ended import RUN_ENDED_DETAIL_TYPE, RUN_ENDED_SOURCE
from support.template_statements import function_statements

if TYPE_CHECKING:
    from support.stack import Stack

STACK_ONLY = {"stack": [{"Ref": "AWS::StackName"}]}


def _patterns(template: dict[str, Any]) -> dict[str, Any]:
    events = template["Resources"]["ReportsFunction"]["Properties"]["Events"]
    return {name: event["Properties"]["Pattern"] for name, event in events.items()}


def test_the_rules_match_the_events_as_code_publishes_them(template: dict[str, Any]) -> None:
    assert _patterns(template) == {
        "ModelReady": {"source": [MODEL_READY_SOURCE], "detail-type": [MODEL_READY_DETAIL_TYPE], "detail": STACK_ONLY},
        "RunEnded": {"source": [RUN_ENDED_SOURCE], "detail-type": [RUN_ENDED_DETAIL_TYPE], "detail": STACK_ONLY},
        "BatchLabeled": {
            "source": [BATCH_LABELED_SOURCE],
            "detail-type": [BATCH_LABELED_DETAIL_TYPE],
            "detail": STACK_ONLY,
        },
    }


def test_only_the_report_function_writes_reports_and_nothing_watches_them(template: dict[str, Any]) -> None:
    writers = {
        statement.function
        for statement in function_statements(template)
        if "s3:PutObject" in statement.actions and layout.REPORTS in json.dumps(statement.resources)
    }
    assert writers == {"ReportsFunction"}
    assert not layout.REPORTS.startswith(layout.WATCHED_PREFIXES)


@pytest.mark.parametrize("event_file", ["model_ready.json", "run_ended.json", "batch_labeled.json"])
def test_the_handler_takes_the_sample_events(
    handler_of, stack: Stack, sample_event, lambda_context, event_file: str
) -> None:
    # The sample events' run and batch are not in this stack: said, not failed on.
    outcome = handler_of("reports")(sample_event(event_file), lambda_context)
    assert outcome["action"] == "ignored" and outcome["dataset"] == "caltech256"
