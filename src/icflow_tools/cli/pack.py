"""`icflow pack PREFIX ROOT`: MXNet's im2rec without MXNet, same options and defaults."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pack",
        help="make .lst files from image folders, or .rec/.idx files from .lst files (like im2rec)",
        description="With --list: walk ROOT and write PREFIX.lst (or PREFIX_train/_val/_test.lst) and the class "
        "list classes.txt beside it. Without: pack every PREFIX*.lst into a .rec and .idx of image records.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("prefix", help="prefix of the .lst/.rec/.idx files, e.g. data/caltech")
    parser.add_argument("root", help="folder holding the images; .lst paths are relative to it")
    listing = parser.add_argument_group("making image lists")
    listing.add_argument("--list", action="store_true", help="write .lst files instead of .rec files")
    listing.add_argument("--exts", nargs="+", default=[".jpeg", ".jpg", ".png"], help="image file extensions")
    listing.add_argument("--chunks", type=int, default=1, help="number of chunks (PREFIX_0.lst, ...)")
    listing.add_argument("--train-ratio", type=float, default=1.0, help="share of images for training")
    listing.add_argument("--test-ratio", type=float, default=0.0, help="share of images for testing")
    listing.add_argument(
        "--recursive", action="store_true", help="each subfolder holding images is a class, in sorted order"
    )
    listing.add_argument(
        "--shuffle", action=argparse.BooleanOptionalAction, default=True, help="shuffle the images in the lists"
    )
    listing.add_argument("--seed", type=int, default=100, help="shuffle seed; im2rec's is 100")
    records = parser.add_argument_group("making record files")
    records.add_argument("--pass-through", action="store_true", help="pack the image files as they are")
    records.add_argument("--resize", type=int, default=0, help="resize the shorter side to this many pixels")
    records.add_argument("--center-crop", action="store_true", help="crop the center square first")
    records.add_argument("--quality", type=int, default=95, help="JPEG quality 1-100, or PNG compression 0-9")
    records.add_argument("--num-thread", type=int, default=1, help="threads encoding images (order is kept)")
    records.add_argument(
        "--color", type=int, default=1, choices=[-1, 0, 1], help="1 color, 0 grayscale, -1 as stored (keeps alpha)"
    )
    records.add_argument("--encoding", default=".jpg", choices=[".jpg", ".png"], help="image encoding in records")
    records.add_argument("--pack-label", action="store_true", help="store every label of multi-label .lst lines")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from icflow.core.errors import IcflowError
    from icflow.core.layout import CLASSES_FILE
    from icflow_tools.dataset.images import EncodeOptions
    from icflow_tools.dataset.listing import ListOptions, list_images, write_lists
    from icflow_tools.dataset.packing import PackOptions, check_root, find_lists, pack_list

    root = Path(args.root)
    if args.list:
        if not 0 <= args.test_ratio <= 1 or not 0 < args.train_ratio <= 1 or args.chunks < 1:
            raise IcflowError("--train-ratio must be in (0, 1], --test-ratio in [0, 1] and --chunks at least 1")
        options = ListOptions(
            recursive=args.recursive,
            exts=tuple(args.exts),
            train_ratio=args.train_ratio,
            test_ratio=args.test_ratio,
            chunks=args.chunks,
            shuffle=args.shuffle,
            seed=args.seed,
        )
        listing = list_images(root, options)
        for path in write_lists(args.prefix, listing, options):
            print(f"wrote {path}")
        print(
            f"{len(listing.entries)} images in {len(listing.classes)} classes; class names in "
            f"{Path(args.prefix).parent / CLASSES_FILE}"
        )
        return 0
    check_root(root)
    if args.num_thread < 1:
        raise IcflowError("--num-thread must be at least 1")
    encode = EncodeOptions(
        resize=args.resize,
        center_crop=args.center_crop,
        quality=args.quality,
        encoding=args.encoding,
        color=args.color,
        pass_through=args.pass_through,
    )
    options = PackOptions(encode=encode, num_thread=args.num_thread, pack_label=args.pack_label)
    for lst in find_lists(args.prefix):
        result = pack_list(lst, root, options)
        left_out = f", {len(result.skipped)} images left out (see above)" if result.skipped else ""
        print(f"wrote {result.rec} and {result.idx}: {result.records} records{left_out}")
    return 0
