"""What `sam build` ships beside the code: no copy of what the Lambda runtime provides, and bytecode for the
runtime's Python, so that a cold start compiles nothing (Lambda cannot write `__pycache__` beside the code)."""

from __future__ import annotations

import email.parser
from importlib import metadata
from pathlib import Path

from icflow_tools.lambda_runtime import RUNTIME_CACHE_TAG, RUNTIME_PROVIDED
from support.sam_build import BUILD, built_template, layer_python

# importlib.util.MAGIC_NUMBER of CPython 3.13: the bytecode format the python3.13 runtime reads.
PYTHON_313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"
# PEP 552 flags: hash-based (bit 0) and not checked against the source (bit 1 clear). Lambda unpacks the zip
# with its own timestamps, which a timestamp-based .pyc could be judged stale by and compiled again.
UNCHECKED_HASH = 0b01


def _code_folders() -> dict[str, Path]:
    template = built_template()
    functions = {
        name: BUILD / resource["Properties"]["CodeUri"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    return {"IcflowLayer": layer_python(template), **functions}


def test_the_layer_leaves_out_what_the_runtime_provides() -> None:
    layer = layer_python(built_template())
    assert (layer / "icflow" / "__init__.py").is_file(), f"{layer} holds no icflow package: is it the layer's python/?"
    shipped = sorted(name for name in RUNTIME_PROVIDED if (layer / name).is_dir() or (layer / f"{name}.py").is_file())
    assert shipped == [], f"the layer ships {shipped}, which would shadow the runtime's own, precompiled copies"


def test_every_module_ships_bytecode_the_runtime_uses_as_is() -> None:
    unusable: list[str] = []
    for resource, folder in _code_folders().items():
        sources = sorted(folder.rglob("*.py"))
        assert sources, f"{resource}: {folder} holds no Python source"
        for source in sources:
            compiled = source.parent / "__pycache__" / f"{source.stem}.{RUNTIME_CACHE_TAG}.pyc"
            where = f"{resource}: {source.relative_to(folder)}"
            if not compiled.is_file():
                unusable.append(f"{where} has no {compiled.name}")
                continue
            header = compiled.read_bytes()[:8]
            if header[:4] != PYTHON_313_MAGIC or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
                unusable.append(f"{where}: its .pyc header {header.hex()} is not 3.13's unchecked-hash")
    assert unusable == [], f"{len(unusable)} modules would compile at each cold start: {unusable[:10]}"


def test_the_layer_and_the_functions_ship_the_versions_the_tests_run() -> None:
    differing: list[str] = []
    for resource, folder in _code_folders().items():
        for info in sorted(folder.glob("*.dist-info")):
            fields = email.parser.Parser().parsestr((info / "METADATA").read_text(), headersonly=True)
            name, shipped = fields["Name"], fields["Version"]
            try:
                tested = metadata.version(name)
            except metadata.PackageNotFoundError:
                tested = "none"
            if shipped != tested:
                differing.append(f"{resource}: {name} {shipped} (tests run {tested})")
    assert differing == [], (
        f"{differing}: pin in layers/icflow/requirements.txt (or the function's requirements.txt) the versions "
        "`make install` installed"
    )


def test_pillow_ships_with_the_reports_function_only() -> None:
    """Pillow is what makes thumbnails; every other function's cold start stays without it."""
    with_pillow = sorted(resource for resource, folder in _code_folders().items() if (folder / "PIL").is_dir())
    assert with_pillow == ["ReportsFunction"]
