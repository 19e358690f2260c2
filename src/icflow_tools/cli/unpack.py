"""`icflow unpack FILE.rec OUTDIR`: every image written back out, with a .lst describing them."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "unpack",
        help="write every image of a .rec back out, with a .lst",
        description="Writes OUTDIR/<label>/<record id>.<jpg|png> for every record and OUTDIR/<name>.lst; "
        "`icflow pack OUTDIR/<name> OUTDIR --pass-through` packs them again.",
    )
    parser.add_argument("file", help="the .rec file")
    parser.add_argument("outdir", help="a new or empty folder")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from icflow.core.errors import IcflowError
    from icflow_tools.dataset.progress import Progress
    from icflow_tools.dataset.unpacking import unpack_rec

    rec = Path(args.file)
    if not rec.is_file():
        raise IcflowError(f"{rec} is not a file; give the path of a .rec file")
    lst, count = unpack_rec(rec, Path(args.outdir), Progress(f"unpacking {rec.name}", every=2.0))
    print(f"wrote {count} images to {args.outdir} and their list to {lst}")
    return 0
