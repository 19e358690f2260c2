"""`icflow demo` (`make demo`): starts the local stack, runs the whole flow on handwritten digits, reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from icflow_tools.demo.ways import PER_CLASS

DEFAULT_WORK_DIR = Path(".icflow") / "demo"
MARKER = ".icflow-demo"  # says a folder is a demo's own, so a later demo may clear it


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="the whole flow on this machine: digits in, labeled predictions out",
        description="Starts the local stack from template.yaml, writes scikit-learn's handwritten digits in class "
        "folders and brings them both ways: the folders uploaded as they are under datasets/digits/images/, and "
        "packed with `icflow pack` into RecordIO under datasets/digits-recordio/. It waits for both trainings and "
        "their models, classifies held-out images in a batch and with an endpoint (`icflow predict`) with the class "
        "folders' model, copies the runs' and the batch's HTML reports, and prints the accuracy, the timings and "
        "where the outputs are. No AWS account and no Docker needed.",
    )
    parser.add_argument(
        "--template", type=Path, default=Path("template.yaml"), help="the SAM template (default: template.yaml)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help=f"data, outputs, logs and jobs of this demo; cleared at the start (default: {DEFAULT_WORK_DIR})",
    )
    parser.add_argument(
        "--per-class", type=int, default=PER_CLASS, help=f"images per digit (default: {PER_CLASS}; all: about 180)"
    )
    parser.add_argument("--epochs", type=int, default=4, help="training epochs (default: 4)")
    parser.add_argument("--no-endpoint", action="store_true", help="skip the realtime endpoint")
    parser.add_argument(
        "--no-iam",
        dest="iam",
        action="store_false",
        help="do not enforce the template's IAM roles (for debugging only: AWS would refuse what this allows)",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the local stack up at the end, to look around with the AWS CLI, until Ctrl-C",
    )
    parser.set_defaults(run=run)


def prepare_work_dir(work_dir: Path) -> None:
    import shutil

    from icflow.core.errors import IcflowError

    if work_dir.exists() and any(work_dir.iterdir()):
        if not (work_dir / MARKER).exists():
            raise IcflowError(f"{work_dir} holds files that are not an earlier demo's; give another --work-dir")
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / MARKER).write_text("made by `icflow demo`, which clears this folder when it starts\n")


def run(args: argparse.Namespace) -> int:
    import logging
    import time

    from icflow.core.errors import IcflowError
    from icflow_tools.demo.flow import STACK_PARAMETERS, STAGES, DemoFlow, DemoOptions, run_cli, say
    from icflow_tools.demo.report import render_report
    from icflow_tools.local_stack.stack import LocalStack, StackOptions

    if not args.template.is_file():
        raise IcflowError(f"{args.template} does not exist; run from the repository root or pass --template")
    if args.per_class is not None and args.per_class < 10:
        raise IcflowError("--per-class must be at least 10, so that every digit has training and validation images")
    if args.epochs < 1:
        raise IcflowError("--epochs must be at least 1")
    started = time.monotonic()
    prepare_work_dir(args.work_dir)
    # The stack's own INFO lines go to its log file; the console shows the demo and what went wrong.
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=[console]
    )
    state_file = args.work_dir / "local.json"
    options = StackOptions(
        template=args.template,
        work_dir=args.work_dir,
        state_file=state_file,
        port=0,
        sagemaker_port=0,
        parameters=STACK_PARAMETERS,
        iam=args.iam,
    )
    say(
        f"[0/{STAGES}] start the local stack from {args.template} (moto, the local SageMaker, the template's functions)"
    )
    with LocalStack(options) as stack:
        startup = time.monotonic() - started
        say(f"  ready: AWS APIs on {stack.endpoint_url}, SageMaker on {stack.sagemaker_url}; ... {startup:.1f} s")
        demo = DemoOptions(
            work_dir=args.work_dir, per_class=args.per_class, epochs=args.epochs, endpoint=not args.no_endpoint
        )
        report = DemoFlow(stack, demo).run()
        say()
        run_cli("status", "--state-file", str(state_file), "--dataset", demo.dataset)
        say()
        say(render_report(report, startup, time.monotonic() - started, stack.state()))
        if args.keep_running:
            say("\nthe local stack stays up; point the AWS CLI at it with:")
            say("  " + " ".join(f"{name}={value}" for name, value in stack.client_environment().items()))
            say("Ctrl-C stops it.")
            try:
                while True:
                    time.sleep(1.0)
            except KeyboardInterrupt:
                pass
    return 0
