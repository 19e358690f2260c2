"""`icflow local up`: the whole stack on this machine (moto, the local SageMaker, template.yaml's functions)."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icflow_tools.local_stack.s3_latency import S3LatencyRange


def _faults(value: str) -> list[object]:
    from icflow_tools.local_sagemaker.faults import faults_argument  # imported when used: the CLI starts fast

    return list(faults_argument(value))


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "local",
        help="run the stack on this machine: moto, the local SageMaker and template.yaml's functions",
        description='Local stack commands (docs/architecture.md, "Local stack").',
    )
    commands = parser.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = commands.add_parser(
        "up",
        help="start the local stack in the foreground until Ctrl-C",
        description="Starts moto (S3, SQS, SNS, DynamoDB, EventBridge, SSM, STS, CloudWatch, ...) and the local "
        "SageMaker on 127.0.0.1, creates template.yaml's resources, and runs its functions fed by the events the "
        "template wires to them. Writes the connection details to --state-file once ready; stops on Ctrl-C or SIGTERM.",
    )
    up.add_argument("--template", default="template.yaml", help="the SAM template (default: template.yaml)")
    up.add_argument("--state-file", default=None, help="connection details as JSON (default: .icflow/local.json)")
    up.add_argument(
        "--work-dir",
        default=".icflow",
        help="logs/ (one file per function, local-stack.log) and sagemaker/ (jobs) go here (default: .icflow)",
    )
    up.add_argument(
        "--port", type=int, default=5000, help="moto's port on 127.0.0.1 (0 picks a free one; default 5000)"
    )
    up.add_argument(
        "--sagemaker-port",
        type=int,
        default=8090,
        help="the local SageMaker's port on 127.0.0.1 (0 picks a free one; default 8090)",
    )
    up.add_argument(
        "--no-iam",
        dest="iam",
        action="store_false",
        help="do not enforce the template's IAM roles (for debugging only: AWS would refuse what this allows)",
    )
    up.add_argument(
        "--faults",
        type=_faults,
        default=[],
        metavar="FILE_OR_JSON",
        help='make the local SageMaker refuse calls or fail jobs as AWS does, {"faults": [...]}: a JSON file or '
        'the JSON itself (docs/architecture.md, "Fault injection"); more while it runs: POST /_icflow/faults',
    )
    up.add_argument(
        "--s3-latency-ms",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="make every S3 request wait a random LOW-HIGH ms before it is answered, as S3's own latency "
        "(e.g. 20 50), so that code reading many objects is as slow here as in AWS (default: no delay)",
    )
    up.add_argument("--region", default="us-east-1")
    up.add_argument("--stack-name", default="icflow", help="prefix of resource names (default: icflow)")
    up.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template parameter, like sam deploy --parameter-overrides (repeatable)",
    )
    up.set_defaults(run=run_up)


def parse_parameters(pairs: list[str]) -> dict[str, str]:
    from icflow.core.errors import IcflowError

    parameters = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise IcflowError(f"--parameter {pair!r} is not NAME=VALUE")
        parameters[name] = value
    return parameters


def _s3_latency(milliseconds: list[float] | None) -> S3LatencyRange | None:
    from icflow.core.errors import IcflowError
    from icflow_tools.local_stack.s3_latency import S3LatencyRange

    if milliseconds is None:
        return None
    low, high = milliseconds
    if not (math.isfinite(low) and math.isfinite(high)) or not 0 <= low <= high:
        raise IcflowError(
            f"--s3-latency-ms {low:g} {high:g} is not a range of milliseconds: give LOW then HIGH, 0 <= LOW <= HIGH "
            "(e.g. 20 50, S3's usual first-byte latency)"
        )
    return S3LatencyRange(low / 1000, high / 1000)


def run_up(args: argparse.Namespace) -> int:
    import logging
    import signal
    import threading
    from pathlib import Path

    from icflow.core.errors import IcflowError
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    template = Path(args.template)
    if not template.is_file():
        raise IcflowError(f"{template} does not exist; run from the repository root or pass --template")
    work_dir = Path(args.work_dir)
    state_file = Path(args.state_file) if args.state_file else work_dir / "local.json"
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = StackOptions(
        template=template,
        work_dir=work_dir,
        state_file=state_file,
        port=args.port,
        sagemaker_port=args.sagemaker_port,
        region=args.region,
        stack_name=args.stack_name,
        parameters=parse_parameters(args.parameter),
        iam=args.iam,
        faults=args.faults,
        s3_latency=_s3_latency(args.s3_latency_ms),
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"starting the local stack from {template} ...", flush=True)
    stack = LocalStack(options).start()
    try:
        state = stack.state()
        print(f"ready: AWS APIs on {stack.endpoint_url}, SageMaker on {stack.sagemaker_url}, region {args.region}")
        if args.s3_latency_ms:
            print("  every S3 request waits {:g}-{:g} ms before it is answered".format(*args.s3_latency_ms))
        for name, value in state["outputs"].items():
            print(f"  {name}: {value}")
        for logical_id, function in state["functions"].items():
            print(f"  {logical_id}: log {function['log_file']}")
        print(f"connection details in {state_file}; point the AWS CLI at it with:")
        print("  " + " ".join(f"{name}={value}" for name, value in stack.client_environment().items()))
        print("Ctrl-C stops the stack.", flush=True)
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping the local stack ...", flush=True)
        stack.stop()
        state_file.unlink(missing_ok=True)
    return 0
