"""Where the local stack finds a layer's packages: the folder SAM builds from, as `sam build` would lay it out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from icflow_tools.local_stack.functions import layer_dir
from icflow_tools.local_stack.intrinsics import Resolver
from icflow_tools.local_stack.template import load_template

REPO = Path(__file__).resolve().parents[2]


def _resolver() -> Resolver:
    pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    return Resolver({}, pseudo, {}, {}, lambda logical_id, name: pytest.fail(f"no attribute {logical_id}.{name}"))


def _layer(build_method: str | None) -> dict[str, Any]:
    metadata = {"Metadata": {"BuildMethod": build_method}} if build_method else {}
    return {"Type": "AWS::Serverless::LayerVersion", "Properties": {"ContentUri": "layers/shared/"}, **metadata}


@pytest.mark.parametrize(
    ("build_method", "folder"),
    [("python3.13", "layers/shared"), ("makefile", "layers/shared"), (None, "layers/shared/python")],
)
def test_a_built_layer_runs_from_its_sources_and_a_prebuilt_one_from_python(
    build_method: str | None, folder: str
) -> None:
    assert layer_dir(REPO, _layer(build_method), _resolver()) == REPO / folder


def test_the_templates_layer_holds_the_icflow_package() -> None:
    layer = load_template(REPO / "template.yaml")["Resources"]["IcflowLayer"]
    assert (layer_dir(REPO, layer, _resolver()) / "icflow" / "__init__.py").is_file()
