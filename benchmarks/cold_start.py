"""Cold-start import time of each built Lambda function, each measured in fresh processes.

Reads `.aws-sam/build` (run `make sam-build` first) and copies each function and the layer to a scratch
folder, so that nothing cached beside the code is used. Every run is a new interpreter without
site-packages that imports the function's handler module from those copies and the layer, as Lambda's
init phase does; the host's own builds stand in for the layer's arm64 native extensions and for the
runtime's boto3. Two figures per function:
- as built: no bytecode beside the code, as `sam build` ships it and as Lambda (read-only) runs it, so
  every module of the function and the layer is compiled at each cold start;
- precompiled: with `__pycache__` written beside the code first, what shipping bytecode would give.
Prints the median and the fastest of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / ".aws-sam" / "build"
ENV_FILE = REPO / "events" / "env.json"
RUNTIME_PROVIDED = ("boto3", "s3transfer")
RUN_TIMEOUT_SECONDS = 120

_MEASURE = """
import sys, time
start = time.perf_counter()
__import__(sys.argv[1])
print(time.perf_counter() - start)
"""


def _overlay(layer_python: Path, folder: Path) -> Path:
    site = Path(sysconfig.get_paths()["purelib"])
    native = {path.relative_to(layer_python).parts[0] for path in layer_python.rglob("*.so")}
    folder.mkdir()
    for name in sorted(native | set(RUNTIME_PROVIDED)):
        (folder / name).symlink_to(site / name, target_is_directory=True)
    return folder


def _clean_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return target


def _import_seconds(module: str, env: dict[str, str]) -> float:
    completed = subprocess.run(
        [sys.executable, "-S", "-c", _MEASURE, module],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    return float(completed.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    template = yaml.safe_load((BUILD / "template.yaml").read_text())
    resources = template["Resources"]
    layer_uri = resources["IcflowLayer"]["Properties"]["ContentUri"]
    environment = json.loads(ENV_FILE.read_text())["Parameters"]
    default_handler = template["Globals"]["Function"]["Handler"]
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        layer_python = _clean_copy(BUILD / layer_uri / "python", root / "layer" / "python")
        overlay = _overlay(layer_python, root / "host")
        functions: dict[str, tuple[str, dict[str, str]]] = {}
        for name, resource in resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            properties = resource["Properties"]
            code = _clean_copy(BUILD / properties["CodeUri"], root / name)
            module = (properties.get("Handler") or default_handler).split(".")[0]
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": os.pathsep.join([str(code), str(overlay), str(layer_python)]),
                **environment,
            }
            functions[name] = (module, env)
        # Every function as built before any run writes bytecode into the shared layer copy.
        for name, (module, env) in functions.items():
            no_bytecode = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
            results[name] = {"as built": [_import_seconds(module, no_bytecode) for _ in range(runs)]}
        for name, (module, env) in functions.items():
            _import_seconds(module, env)  # writes __pycache__ beside the copies
            results[name]["precompiled"] = [_import_seconds(module, env) for _ in range(runs)]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per function and figure")
    args = parser.parse_args()
    if not (BUILD / "template.yaml").exists():
        sys.exit("no .aws-sam/build: run `make sam-build` first")
    load = os.getloadavg()[0]
    print(
        f"cold-start import time of the built handlers, {args.runs} fresh processes each "
        f"(Python {sys.version.split()[0]} on this host, load average {load:.1f} on {os.cpu_count()} CPUs):"
    )
    for function, figures in measure(args.runs).items():
        for label, seconds in figures.items():
            print(
                f"  {function:<24} {label:<12} median {statistics.median(seconds) * 1000:7.1f} ms"
                f"   fastest {min(seconds) * 1000:7.1f} ms"
            )


if __name__ == "__main__":
    main()
