"""`icflow invoke FUNCTION_LOGICAL_ID -e events/FILE.json`: one function, once, like `sam local invoke` without Docker."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "invoke",
        help="run one function of template.yaml once with an event (sam local invoke without Docker)",
        description="Runs the function's handler from this checkout in a fresh Python process, with the event "
        "file as its event. With --local-state, against the local stack (`icflow local up`) with the environment "
        "the stack gives the function. Without it, against the deployed stack in AWS with your credentials and "
        "the deployed function's environment (read with lambda:GetFunctionConfiguration). The function's log "
        "goes to stderr, its result (or error) as JSON to stdout; the exit status is 1 when the function fails.",
    )
    parser.add_argument("function", metavar="FUNCTION_LOGICAL_ID", help="e.g. DatasetUploadFunction")
    parser.add_argument(
        "-e", "--event", required=True, help="the event as a JSON file (e.g. events/FILE.json); - for stdin"
    )
    parser.add_argument(
        "--local-state", default=None, help="state file of a running `icflow local up` (e.g. .icflow/local.json)"
    )
    parser.add_argument(
        "--template", default="template.yaml", help="the SAM template, for real AWS (default: template.yaml)"
    )
    parser.add_argument("--stack-name", default="icflow", help="the deployed stack, for real AWS (default: icflow)")
    parser.set_defaults(run=run)


def _read_event(source: str) -> object:
    import json
    import sys
    from pathlib import Path

    from icflow.core.errors import IcflowError

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
        return json.loads(text)
    except OSError as error:
        raise IcflowError(f"cannot read the event file {source}: {error}") from error
    except ValueError as error:
        raise IcflowError(f"the event in {source} is not JSON: {error}") from error


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from icflow_tools.local_stack.invoke import invoke_once, prepare_aws, prepare_local

    event = _read_event(args.event)
    if args.local_state:
        prepared = prepare_local(Path(args.local_state), args.function)
    else:
        prepared = prepare_aws(Path(args.template), args.function, args.stack_name, Path(".icflow"))
    invocation, log = invoke_once(prepared, event)
    sys.stderr.write(log)
    print(json.dumps(invocation.as_dict(), indent=2, default=str))
    return 0 if invocation.ok else 1
