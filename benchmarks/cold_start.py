"""Cold-start import time of each built Lambda function under the runtime's Python, in fresh processes.

Reads `.aws-sam/build` (run `make sam-build` first). Every run is a new python3.13 interpreter without
site-packages that imports the function's handler module as Lambda's init phase does, with Lambda's
sys.path: the function's folder, the layer's python/, then what the runtime provides (boto3 and the modules
it imports, `icflow_tools.lambda_runtime`, installed for 3.13 with its bytecode as in the runtime). Nothing
is written beside the code, which is read-only in Lambda, so a module is compiled at each run unless the
build ships its bytecode. The host's 3.13 builds of the native packages the layer and the functions ship
(pydantic-core, wrapt; the reports' Pillow), at their versions, stand in for their arm64 ones.

Each function is measured in two environments:
- tracing on: as deployed. The template sets `Tracing: Active` and no POWERTOOLS_TRACE_DISABLED, and Lambda
  sets LAMBDA_TASK_ROOT, so Powertools' Tracer and the X-Ray SDK are imported;
- tracing off: events/env.json as it is (POWERTOOLS_TRACE_DISABLED=true), as `sam local`, the local stack
  and the tests run the functions.

The baseline, measured in the same runs: importing the sagemaker SDK (`sagemaker.core`, which the functions
never import) in this interpreter, printed as each function's ratio to it. The runs go round every case in
turn, and CPU time is printed beside wall time, because other work on a shared machine inflates the latter.
`--compare DIR` measures a second build, e.g. an older commit's, side by side. Prints medians and the
fastest of the runs, and how many modules a cold start compiled (0 when the shipped bytecode is used).
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

import yaml

from icflow_tools.lambda_runtime import RUNTIME_PROVIDED

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / ".aws-sam" / "build"
# Installs for the runtime's Python, kept between runs; `make clean` removes them with the build.
CACHE = REPO / ".aws-sam" / "cold-start"
ENV_FILE = REPO / "events" / "env.json"
RUNTIME_PYTHON = ("python3.13", "3.13")  # the executable, and the version pyenv resolves it in
# The SDK's own import (`import sagemaker` alone loads an empty namespace in SDK v3).
SDK_MODULE = "sagemaker.core"
RUN_TIMEOUT_SECONDS = 120
PIP_TIMEOUT_SECONDS = 600


_MEASURE = """
import sys, time
start, cpu = time.perf_counter(), time.process_time()
__import__(sys.argv[1])
print(time.perf_counter() - start, time.process_time() - cpu)
"""

# Counts the modules compiled from source during the import: none when the shipped bytecode is used.
_COUNT_COMPILED = """
import sys
from importlib.machinery import SourceFileLoader
compiled = []
to_code = SourceFileLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return to_code(self, data, path, *args, **kwargs)
SourceFileLoader.source_to_code = counting
__import__(sys.argv[1])
print(len(compiled))
"""


def runtime_python() -> str:
    """The real python3.13 executable (through pyenv's shim when pyenv provides it, as for `make sam-build`)."""
    name, version = RUNTIME_PYTHON
    if shutil.which(name, path=os.environ.get("PATH")) is None:
        sys.exit(f"no {name} on PATH: install Python {version} (pyenv install {version}) to measure as Lambda runs")
    completed = subprocess.run(
        [name, "-c", "import sys; print(sys.executable)"],
        env={**os.environ, "PYENV_VERSION": os.environ.get("PYENV_VERSION", version)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"{name} does not run: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _pip_target(python: str, folder: Path, requirements: list[str]) -> Path:
    """A pip --target install for `python`, made once: bytecode included, as an installed runtime has it."""
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", str(folder)]
        + requirements,
        check=True,
        timeout=PIP_TIMEOUT_SECONDS,
    )
    (folder / ".complete").touch()
    return folder


def runtime_packages(python: str) -> Path:
    """What the Lambda runtime provides, at the tests' boto3 version, for its Python."""
    boto3 = metadata.version("boto3")
    folder = _pip_target(python, CACHE / f"runtime-boto3-{boto3}", [f"boto3=={boto3}"])
    missing = [name for name in RUNTIME_PROVIDED if not ((folder / name).is_dir() or (folder / f"{name}.py").is_file())]
    if missing:
        sys.exit(f"boto3 {boto3} no longer installs {missing}: update icflow_tools.lambda_runtime.RUNTIME_PROVIDED")
    return folder


def host_builds(python: str, shipped: Path) -> Path | None:
    """This host's builds, for `python`, of the native packages a layer or a function ships, at their versions;
    None when it ships none."""
    native = []
    for info in sorted(shipped.glob("*.dist-info")):
        record = (info / "RECORD").read_text()
        if ".so," in record:
            fields = email.parser.Parser().parsestr((info / "METADATA").read_text(), headersonly=True)
            native.append(f"{fields['Name']}=={fields['Version']}")
    if not native:
        return None
    digest = hashlib.sha256(" ".join(native).encode()).hexdigest()[:12]
    return _pip_target(python, CACHE / f"native-{digest}", ["--no-deps", *native])


class Case(NamedTuple):
    build: str
    name: str
    command: list[str]  # the interpreter and its options; the measuring script and module follow
    module: str
    env: dict[str, str]


def _run(case: Case, script: str) -> list[str]:
    completed = subprocess.run(
        [*case.command, "-c", script, case.module],
        env=case.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    if completed.returncode != 0:
        sys.exit(f"{case.name}: importing {case.module} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout.split()


def _environments(code: Path) -> dict[str, dict[str, str]]:
    sample = json.loads(ENV_FILE.read_text())["Parameters"]
    deployed = {name: value for name, value in sample.items() if name != "POWERTOOLS_TRACE_DISABLED"}
    return {
        "tracing on": {**deployed, "LAMBDA_TASK_ROOT": str(code), "AWS_LAMBDA_FUNCTION_NAME": code.name},
        "tracing off": sample,
    }


def function_cases(build: Path, python: str, runtime: Path) -> list[Case]:
    """Every function of a build in both environments, run as Lambda's init phase runs it."""
    template = yaml.safe_load((build / "template.yaml").read_text())
    resources = template["Resources"]
    layer_python = build / resources["IcflowLayer"]["Properties"]["ContentUri"] / "python"
    # Found before the layer's and the functions' arm64 builds of the same packages, which this host cannot load.
    layer_native = host_builds(python, layer_python)
    default_handler = template["Globals"]["Function"]["Handler"]
    cases = []
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        code = build / properties["CodeUri"]
        module = (properties.get("Handler") or default_handler).split(".")[0]
        path = [host_builds(python, code), code, layer_native, layer_python, runtime]
        for label, variables in _environments(code).items():
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": os.pathsep.join(str(folder) for folder in path if folder is not None),
                # Lambda cannot write bytecode beside the code, and the build stays as built.
                "PYTHONDONTWRITEBYTECODE": "1",
                **variables,
            }
            cases.append(Case(str(build), f"{name} ({label})", [python, "-S"], module, env))
    return cases


def sdk_case() -> Case:
    # The SDK is installed in this (the project's) interpreter, with the bytecode written at its install.
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    return Case("baseline", f"import {SDK_MODULE}", [sys.executable], SDK_MODULE, env)


class Figures(NamedTuple):
    wall: list[float]
    cpu: list[float]


def measure(cases: list[Case], runs: int) -> list[Figures]:
    """Wall and CPU seconds of each case's runs, in the cases' order. The runs go round all cases in turn, so
    that what else this shared machine does weighs on every case alike."""
    figures = [Figures([], []) for _ in cases]
    for _ in range(runs):
        for case, figure in zip(cases, figures, strict=True):
            wall, cpu = _run(case, _MEASURE)
            figure.wall.append(float(wall))
            figure.cpu.append(float(cpu))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per function and environment")
    parser.add_argument("--build", type=Path, default=BUILD, help="a `sam build` output folder")
    parser.add_argument("--compare", type=Path, help="a second build to measure side by side, e.g. an older commit's")
    args = parser.parse_args()
    builds = [args.build] + ([args.compare] if args.compare else [])
    for build in builds:
        if not (build / "template.yaml").exists():
            sys.exit(f"no {build / 'template.yaml'}: run `make sam-build` first")
    python = runtime_python()
    runtime = runtime_packages(python)
    version = subprocess.run([python, "-V"], capture_output=True, text=True, check=True).stdout.split()[1]
    baseline = sdk_case()
    cases = [baseline] + [case for build in builds for case in function_cases(build, python, runtime)]
    load = os.getloadavg()[0]
    figures = dict(zip(map(id, cases), measure(cases, args.runs), strict=True))
    print(
        f"cold-start import time of the built handlers, {args.runs} fresh processes each, Python {version} "
        f"with boto3 {metadata.version('boto3')} as the runtime's; load average {load:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (CPU time is the least disturbed by the load):"
    )
    sdk = statistics.median(figures[id(baseline)].wall)

    def line(case: Case, extra: str = "") -> float:
        wall, cpu = figures[id(case)]
        median = statistics.median(wall)
        print(
            f"    {case.name:<38} median {median * 1000:7.1f} ms (CPU {statistics.median(cpu) * 1000:7.1f} ms)"
            f"   fastest {min(wall) * 1000:7.1f} ms   {median / sdk:5.2f}x the SDK{extra}"
        )
        return median

    print(f"  baseline, the sagemaker SDK {metadata.version('sagemaker')} on Python {sys.version.split()[0]}:")
    line(baseline)
    for build in map(str, builds):
        print(f"  {build}:")
        slowest = max(
            line(case, f"   compiled {_run(case, _COUNT_COMPILED)[0]} modules") for case in cases if case.build == build
        )
        print(f"    slowest median {slowest * 1000:.1f} ms (target 300 ms)")


if __name__ == "__main__":
    main()
