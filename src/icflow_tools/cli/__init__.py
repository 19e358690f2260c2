"""The `icflow` command line.

Each subcommand is a module of this package with `register(subparsers)`, which adds its parser and sets
`run=<function(args) -> int>`. Modules keep heavy imports (Pillow, torch, boto3) inside their functions,
so that `icflow --help` and every other command start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from icflow.core.errors import IcflowError

COMMAND_MODULES: tuple[str, ...] = (
    "pack",
    "inspect",
    "unpack",
    "local",
    "invoke",
    "predict",
    "status",
    "report",
    "retry",
    "approval",
    "cleanup",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="icflow", description="Image classification on Amazon SageMaker, event-driven, or offline on one machine."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except IcflowError as error:
        print(f"icflow {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"icflow {args.command}: interrupted", file=sys.stderr)
        return 130
