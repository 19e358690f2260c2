"""`icflow inspect FILE.rec|FILE.lst`: record count, labels, image sizes and formats, and problems found."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show what a .rec or .lst file holds and what is wrong with it",
        description="Reads every record: counts records and labels, decodes every image, and lists problems "
        "(corrupt or truncated records with their byte offset, labels not contiguous from 0, images that do not "
        "decode, a .idx beside the file that does not match). Of a .lst file, counts entries and labels. "
        "Exits with 1 when it finds problems.",
    )
    parser.add_argument("file", help="the .rec (or .lst) file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-decode", dest="decode", action="store_false", help="skip decoding images (faster)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from icflow.core.errors import IcflowError
    from icflow_tools.dataset.inspection import inspect_lst, inspect_rec, render
    from icflow_tools.dataset.progress import Progress

    path = Path(args.file)
    if not path.is_file():
        raise IcflowError(f"{path} is not a file; give the path of a .rec or .lst file")
    if path.suffix.lower() == ".lst":
        result = inspect_lst(path)
    else:
        result = inspect_rec(path, decode=args.decode, progress=Progress(f"reading {path.name}", every=2.0))
    print(json.dumps(result.as_json()) if args.json else render(result))
    return 1 if result.problems else 0
