"""CloudFormation intrinsics and parameters, resolved as CloudFormation resolves them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from icflow.core.errors import IcflowError
from icflow_tools.local_stack.intrinsics import Resolver, parameter_values
from icflow_tools.local_stack.template import function_properties, load_template

ATTRIBUTES = {
    "Bucket": {"Ref": "stack-bucket", "Arn": "arn:aws:s3:::stack-bucket"},
    "Queue": {"Ref": "http://127.0.0.1/123456789012/q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"},
}


def _attribute(logical_id: str, name: str | None) -> Any:
    return ATTRIBUTES[logical_id][name or "Ref"]


def _resolver(parameters: dict[str, Any] | None = None, conditions: dict[str, Any] | None = None) -> Resolver:
    pseudo = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    return Resolver(
        parameters or {"Stage": "dev", "Size": "3"},
        pseudo,
        conditions or {},
        {"Sizes": {"dev": {"Memory": 256}}},
        _attribute,
    )


def test_refs_and_attributes() -> None:
    resolver = _resolver()
    assert resolver.resolve({"Ref": "Stage"}) == "dev"
    assert resolver.resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolver.resolve({"Ref": "Bucket"}) == "stack-bucket"
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "arn:aws:sqs:us-east-1:123456789012:q"
    assert resolver.resolve({"Fn::GetAtt": "Bucket.Arn"}) == "arn:aws:s3:::stack-bucket"


def test_sub_forms() -> None:
    resolver = _resolver()
    assert resolver.resolve({"Fn::Sub": "${Bucket.Arn}/datasets/*"}) == "arn:aws:s3:::stack-bucket/datasets/*"
    assert resolver.resolve({"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:x"}) == (
        "arn:aws:logs:eu-west-1:123456789012:x"
    )
    assert resolver.resolve({"Fn::Sub": "${!Literal}-${Stage}"}) == "${Literal}-dev"
    assert resolver.resolve({"Fn::Sub": ["${Name}-${Stage}", {"Name": {"Ref": "Bucket"}}]}) == "stack-bucket-dev"


def test_conditions_and_no_value() -> None:
    conditions = {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}, "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]}}
    resolver = _resolver(conditions=conditions)
    assert resolver.condition("IsDev") and not resolver.condition("IsProd")
    value = {"A": {"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]}, "B": {"Fn::If": ["IsDev", "small", "big"]}}
    assert resolver.resolve(value) == {"B": "small"}
    assert resolver.resolve({"Fn::And": [{"Condition": "IsDev"}, {"Fn::Or": [{"Condition": "IsProd"}, True]}]})
    with pytest.raises(IcflowError, match="Missing"):
        resolver.condition("Missing")


def test_lists_maps_and_strings() -> None:
    resolver = _resolver()
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}) == "a-dev-3"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}) == 256
    assert resolver.text(True) == "true" and resolver.text(512) == "512"
    with pytest.raises(IcflowError, match="Fn::ImportValue is not supported"):
        resolver.resolve({"Fn::ImportValue": "shared"})


def test_parameter_values() -> None:
    declared = {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Count": {"Type": "Number", "Default": 1, "MinValue": 0, "MaxValue": 300},
        "Spot": {"Type": "String", "Default": False},
        "Names": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Email": {"Type": "String"},
    }
    values = parameter_values(declared, {"Stage": "prod", "Email": "me@example.com"})
    assert values == {"Stage": "prod", "Count": "1", "Spot": "false", "Names": ["a", "b"], "Email": "me@example.com"}
    with pytest.raises(IcflowError, match="Email has no default"):
        parameter_values(declared, {})
    with pytest.raises(IcflowError, match="is not one of"):
        parameter_values(declared, {"Stage": "test", "Email": "x"})
    with pytest.raises(IcflowError, match="unknown template parameter"):
        parameter_values(declared, {"Email": "x", "Typo": "1"})
    with pytest.raises(IcflowError, match=r"Count=600 is outside 0\.\.300"):
        parameter_values(declared, {"Email": "x", "Count": "600"})
    with pytest.raises(IcflowError, match="Count='many' is not a number"):
        parameter_values(declared, {"Email": "x", "Count": "many"})


def test_short_forms_and_globals(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Globals:\n"
        "  Function:\n"
        "    Timeout: 30\n"
        "    Layers: [!Ref SharedLayer]\n"
        "    Environment: {Variables: {A: global, B: !GetAtt Bucket.Arn}}\n"
        "Resources:\n"
        "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Timeout: 5\n"
        "      Layers: [!Ref OtherLayer]\n"
        "      Environment: {Variables: {B: !Sub '${Bucket}-x', C: own}}\n"
    )
    template = load_template(path)
    props = function_properties(template, "Fn")
    assert props["Timeout"] == 5
    assert props["Layers"] == [{"Ref": "SharedLayer"}, {"Ref": "OtherLayer"}]
    assert props["Environment"]["Variables"] == {"A": "global", "B": {"Fn::Sub": "${Bucket}-x"}, "C": "own"}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["B"] == {"Fn::GetAtt": ["Bucket", "Arn"]}


def test_templates_without_resources_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Parameters: {}\n")
    with pytest.raises(IcflowError, match="no Resources section"):
        load_template(path)


def test_an_sqs_source_over_ten_messages_needs_a_batching_window() -> None:
    from icflow_tools.local_stack.functions import queue_source

    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    assert queue_source("Uploads", {"Queue": queue, "BatchSize": 10}).batching_window_seconds == 0
    assert (
        queue_source("Uploads", {"Queue": queue, "BatchSize": 10000, "MaximumBatchingWindowInSeconds": 1}).batch_size
        == 10000
    )
    with pytest.raises(IcflowError, match="BatchSize 10000 needs MaximumBatchingWindowInSeconds of at least 1"):
        queue_source("Uploads", {"Queue": queue, "BatchSize": 10000, "MaximumBatchingWindowInSeconds": 0})


def test_the_templates_batching_window_cannot_be_set_below_what_lambda_accepts() -> None:
    declared = load_template(Path(__file__).resolve().parents[2] / "template.yaml")["Parameters"]
    with pytest.raises(IcflowError, match="outside 1"):
        parameter_values(declared, {"BatchMaximumBatchingWindowSeconds": "0"})
