"""`icflow inspect FILE.rec`: record count, labels, image sizes and formats, and problems found."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show what a .rec file holds and what is wrong with it",
        description="Reads every record: counts records and labels, decodes every image, and lists problems "
        "(corrupt or truncated records with their byte offset, labels not contiguous from 0, images that do not "
        "decode, a .idx beside the file that does not match). Exits with 1 when it finds problems.",
    )
    parser.add_argument("file", help="the .rec file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-decode", dest="decode", action="store_false", help="skip decoding images (faster)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from icflow.core.errors import IcflowError
    from icflow_tools.dataset.inspection import inspect_rec, render
    from icflow_tools.dataset.progress import Progress

    path = Path(args.file)
    if not path.is_file():
        raise IcflowError(f"{path} is not a file; give the path of a .rec file")
    result = inspect_rec(path, decode=args.decode, progress=Progress(f"reading {path.name}", every=2.0))
    print(json.dumps(result.as_json()) if args.json else render(result))
    return 1 if result.problems else 0
