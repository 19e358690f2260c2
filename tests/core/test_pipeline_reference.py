"""docs/architecture.md's pipeline.json reference must document every field the model has."""

import json
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from icflow.algorithm.hyperparameters import SPECS
from icflow.algorithm.tuning import TUNABLE
from icflow.core.pipeline_config import PipelineConfig, parse_pipeline_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def reference_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## pipeline.json reference")
    end = text.find("\n## ", start + 1)
    return text[start:] if end == -1 else text[start:end]


def nested_model(annotation) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Field paths below a section, nested sections flattened (`realtime.enabled`)."""
    paths = []
    for name, field in model.model_fields.items():
        nested = nested_model(field.annotation)
        paths.extend(leaf_paths(nested, f"{prefix}{name}.") if nested else [prefix + name])
    return paths


def subsection(heading: str) -> str:
    parts = reference_section().split(f"### `{heading}`\n", 1)
    assert len(parts) == 2, f"docs/architecture.md's pipeline.json reference has no ### `{heading}` part"
    return parts[1].split("\n### ", 1)[0]


# The hyperparameters part lists the algorithm's hyperparameters, checked one by one below.
SECTION_FIELDS = [
    (section, leaf)
    for section, field in PipelineConfig.model_fields.items()
    if section != "hyperparameters"
    for leaf in (leaf_paths(nested_model(field.annotation)) if nested_model(field.annotation) else [section])
]


@pytest.mark.parametrize(("section", "path"), SECTION_FIELDS, ids=[f"{s}:{p}" for s, p in SECTION_FIELDS])
def test_every_field_of_the_model_is_in_the_reference(section, path):
    rows = re.findall(r"^\| `([a-z_.0-9]+)` \|", subsection(section), flags=re.MULTILINE)
    assert path in rows, f"{section}: {path} is missing from docs/architecture.md's pipeline.json reference"


@pytest.mark.parametrize("name", list(SPECS))
def test_every_hyperparameter_is_in_the_reference_with_its_default_and_allowed_values(name):
    row = next((line for line in subsection("hyperparameters").splitlines() if line.startswith(f"| `{name}` |")), None)
    assert row is not None, f"hyperparameter {name} is missing from the pipeline.json reference"
    spec = SPECS[name]
    assert spec.allowed in row
    assert spec.default is None or f"`{spec.default}`" in row


@pytest.mark.parametrize("name", list(TUNABLE))
def test_every_tunable_hyperparameter_is_mentioned_in_the_tuning_part(name):
    assert f"`{name}`" in subsection("tuning")


def test_the_full_example_is_a_valid_pipeline_json():
    example = re.search(r"```json\n(.*?)```", reference_section(), flags=re.DOTALL).group(1)
    config = parse_pipeline_config(example)
    assert config.tuning_enabled and config.deploy.realtime.enabled
    assert set(json.loads(example)) == set(PipelineConfig.model_fields)


def leaf_fields(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        nested = nested_model(field.annotation)
        if nested:
            yield from leaf_fields(nested, f"{prefix}{name}.")
        else:
            yield prefix + name, field


DEFAULTS = [
    (section, path, field.default)
    for section, section_field in PipelineConfig.model_fields.items()
    if (section_model := nested_model(section_field.annotation)) is not None
    for path, field in leaf_fields(section_model)
    if field.default is not None and not field.default_factory
]


@pytest.mark.parametrize(("section", "path", "default"), DEFAULTS, ids=[f"{s}:{p}" for s, p, _ in DEFAULTS])
def test_the_documented_default_is_the_models(section, path, default):
    row = next(line for line in subsection(section).splitlines() if line.startswith(f"| `{path}` |"))
    shown = json.dumps(getattr(default, "value", default)).strip('"')
    assert row.split("|")[2].strip().startswith(f"`{shown}`"), row
