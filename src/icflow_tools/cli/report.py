"""`icflow report`: downloads the HTML page the stack rendered for a run or a batch, and opens it.

Pages are self-contained (charts' JavaScript and thumbnails inlined), so one object is the whole page. When
there is none, the run-state table says why: no such run or batch, still running, ended without a model, or
rendered moments from now.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from icflow.core.errors import IcflowError
from icflow_tools.cli.stack_resources import add_stack_arguments, resolve

DEFAULT_OUTPUT = Path(".icflow") / "reports"
T = TypeVar("T")
LATEST = "latest"
RUN_FOLDER = "runs"
BATCH_FOLDER = "batches"
# SigV4 presigned URLs last at most seven days.
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
# Codes S3 and DynamoDB answer when the caller's policies refuse the call.
_REFUSALS = ("AccessDenied", "AccessDeniedException", "403")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="download a run's or a batch's HTML report and open it",
        description="Downloads the HTML page the stack rendered for a run (accuracy per epoch, what was trained, "
        "timings and cost) or a batch (its images with their labels) and prints where it is. The page is "
        "self-contained: it opens from disk with no network. Without --run or --batch: the run of the dataset's "
        "current model.",
    )
    parser.add_argument(
        "--dataset", required=True, metavar="NAME", help="the dataset's folder name, as spelled under datasets/"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", dest="run_id", metavar="ID", help="a run's id (`icflow status` lists them)")
    which.add_argument(
        "--batch",
        dest="batch_id",
        metavar="ID",
        help=f"a batch's id (`icflow status` lists them), or {LATEST}: the last one labeled",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.add_argument(
        "--url",
        action="store_true",
        help="print a presigned URL of the page, to open or share without AWS credentials (the page needs no "
        "network), instead of downloading it",
    )
    parser.add_argument(
        "--expires",
        type=int,
        default=3600,
        metavar="SECONDS",
        help="how long the --url stays valid (default: an hour; at most 7 days)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"written to DIR/<dataset>/{RUN_FOLDER}/<run>/index.html or DIR/<dataset>/{BATCH_FOLDER}/<batch>/"
        f"index.html (default: {DEFAULT_OUTPUT})",
    )
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Target:
    """The page asked for: a run's (`folder` RUN_FOLDER) or a batch's (BATCH_FOLDER)."""

    dataset: str
    folder: str
    entity_id: str

    @property
    def kind(self) -> str:
        return "run" if self.folder == RUN_FOLDER else "batch"

    @property
    def title(self) -> str:
        return f"{self.kind} {self.entity_id} of {self.dataset!r}"

    def key(self) -> str:
        from icflow.core import layout

        if self.folder == RUN_FOLDER:
            return layout.run_report_key(self.dataset, self.entity_id)
        return layout.batch_report_key(self.dataset, self.entity_id)


def _path_step(name: str) -> bool:
    """Whether `name` is one step of a local path: not empty, no separator, not a step up or in place."""
    return name not in ("", ".", "..") and not any(sep and sep in name for sep in (os.sep, os.altsep))


def check_dataset_name(dataset: str) -> None:
    from icflow.core import layout

    problem = layout.dataset_name_problem(dataset) or (
        f"a dataset is one folder under {layout.DATASETS}: its name cannot hold '/'" if "/" in dataset else None
    )
    if problem is not None:
        raise IcflowError(f"there is no such dataset: {problem}")
    if not _path_step(dataset):  # a name S3 allows that this system's paths split ("a\\b" on Windows)
        raise IcflowError(f"the dataset name {dataset!r} cannot be a folder's name on this system")


def local_path(output: Path, target: Target) -> Path:
    """Where the page is written: each name one step below `output`, so that nothing lands outside it."""
    from icflow.core import layout

    check_dataset_name(target.dataset)
    if not _path_step(target.entity_id):
        raise IcflowError(f"{target.entity_id!r} is not a {target.kind}'s id; `icflow status` lists them")
    return output / target.dataset / target.folder / target.entity_id / layout.REPORT_FILE


@contextmanager
def _reading(what: str, actions: str) -> Iterator[None]:
    """Turns AWS errors into IcflowError, naming a refusal as one and the `actions` reading `what` takes."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = error.response.get("Error", {}).get("Message", "")
        if code in _REFUSALS:
            raise IcflowError(
                f"access denied ({code}) reading {what}: the credentials in use are not allowed {actions} on it; "
                f"use a profile or role that is (AWS says: {message})"
            ) from error
        raise IcflowError(f"cannot read {what}: {code}: {message}") from error
    except BotoCoreError as error:
        raise IcflowError(f"cannot read {what}: {error}") from error


def _status_hint(dataset: str) -> str:
    return f"`icflow status --dataset {shlex.quote(dataset)}`"


def _labeled_at(batch: dict[str, Any]) -> str:
    from icflow.core.state import BatchStatus

    labeled = [change["at"] for change in batch.get("history", []) if change.get("status") == BatchStatus.LABELED]
    return labeled[-1] if labeled else batch.get("updated_at", "")


def latest_labeled(batches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The batch labeled last, of a dataset's batch items; None when none is labeled."""
    from icflow.core.state import BatchStatus

    labeled = [batch for batch in batches if batch.get("status") == BatchStatus.LABELED.value]
    return max(labeled, key=lambda batch: (_labeled_at(batch), batch.get("created_at", "")), default=None)


class Reports:
    """The stack's run-state table and data bucket, read for one dataset's report pages."""

    def __init__(self, resources: Any) -> None:
        from icflow.core.state import StateTable

        self.table = resources.require_table()
        if not resources.bucket:
            raise IcflowError("no data bucket: give --stack NAME, --bucket NAME, or start the local stack")
        self.bucket: str = resources.bucket
        self.s3 = resources.client("s3")
        self.store = StateTable(resources.client("dynamodb"), self.table)

    def _items(self, dataset: str) -> list[dict[str, Any]]:
        with _reading(f"the run-state table {self.table}", "dynamodb:Query"):
            items = self.store.query(dataset)
        if not items:
            with _reading(f"the run-state table {self.table}", "dynamodb:Scan"):
                known = self.store.dataset_names()
            raise IcflowError(
                f"no dataset {dataset!r} in the run-state table {self.table}: a dataset is named by its folder under "
                f"datasets/ in s3://{self.bucket}/, spelled exactly; "
                + (f"datasets: {', '.join(map(repr, known))}" if known else "there is no dataset yet")
            )
        return items

    def target(self, dataset: str, run_id: str | None, batch_id: str | None) -> Target:
        """The page asked for; the current model's run when neither a run nor a batch is given."""
        from icflow.core.state import BATCH_SK_PREFIX, DATASET_SK
        from icflow_tools.cli.status import render

        if run_id is not None:
            return Target(dataset, RUN_FOLDER, run_id)
        if batch_id is not None and batch_id != LATEST:
            return Target(dataset, BATCH_FOLDER, batch_id)
        items = self._items(dataset)
        if batch_id == LATEST:
            batch = latest_labeled([item for item in items if item["sk"].startswith(BATCH_SK_PREFIX)])
            if batch is None:
                raise IcflowError(
                    f"dataset {dataset!r} has no labeled batch yet: a batch's report appears once it is labeled\n"
                    + render(dataset, items)
                )
            return Target(dataset, BATCH_FOLDER, batch["batch_id"])
        head = next((item for item in items if item["sk"] == DATASET_SK), {})
        if not head.get("current_model_run_id"):
            raise IcflowError(
                f"dataset {dataset!r} has no model yet: a run's report appears when the run's model is ready\n"
                + render(dataset, items)
            )
        return Target(dataset, RUN_FOLDER, head["current_model_run_id"])

    def download(self, target: Target) -> bytes:
        def get(key: str) -> bytes:
            with self.s3.get_object(Bucket=self.bucket, Key=key)["Body"] as body:
                return body.read()

        return self._on_page(target, get)

    def presigned_url(self, target: Target, seconds: int) -> str:
        """A GET URL of the page that anyone holding it may open for `seconds`; the page must exist."""
        key = target.key()
        self._on_page(target, lambda key: self.s3.head_object(Bucket=self.bucket, Key=key))
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=seconds
        )

    def _on_page(self, target: Target, call: Callable[[str], T]) -> T:
        """call(the page's key); a page that is not there is said why, from the run's or the batch's item."""
        from botocore.exceptions import ClientError

        from icflow.core.s3_objects import missing

        key = target.key()
        with _reading(f"s3://{self.bucket}/{key}", "s3:GetObject"):
            try:
                return call(key)
            except ClientError as error:
                if missing(self.s3, self.bucket, key, error):
                    raise IcflowError(self._why_missing(target)) from error
                raise

    def _why_missing(self, target: Target) -> str:
        """Why `target` has no page, from its item: it does not exist, has not ended, or ended with no page."""
        from icflow.core.state import RUNNING, BatchStatus, RunStatus, batch_sk, run_sk

        dataset, status_hint = target.dataset, _status_hint(target.dataset)
        items = self._items(dataset)
        is_run = target.folder == RUN_FOLDER
        sk = run_sk(target.entity_id) if is_run else batch_sk(target.entity_id)
        item = next((item for item in items if item["sk"] == sk), None)
        if item is None:
            return (
                f"dataset {dataset!r} has no {target.kind} {target.entity_id}; {status_hint} lists its {target.folder}"
            )
        status, reason = item.get("status", ""), item.get("reason")
        because = f": {reason}" if reason else ""
        if is_run and status in RUNNING:
            return (
                f"run {target.entity_id} is still {status}: its report appears when it ends; {status_hint} follows it"
            )
        if is_run and status != RunStatus.MODEL_READY.value and not item.get("report_uri"):
            return (
                f"run {target.entity_id} of {dataset!r} is {status}{because}\n"
                f"A run that ends before its job runs has no report; {status_hint} shows its runs and why they ended."
            )
        if not is_run and status != BatchStatus.LABELED.value:
            ended = status not in (
                BatchStatus.PENDING.value,
                BatchStatus.LABELING.value,
                BatchStatus.TRANSFORMING.value,
            )
            return (
                f"batch {target.entity_id} of {dataset!r} is {status}{because}\n"
                + ("Only a labeled batch has a report" if ended else "Its report appears once it is labeled")
                + f"; {status_hint}"
            )
        event = ("model-ready" if status == RunStatus.MODEL_READY.value else "run-ended") if is_run else "batch-labeled"
        return (
            f"the report of {target.title} is not rendered yet (s3://{self.bucket}/{target.key()} does not exist): "
            f"the stack's report function renders it within a minute of the {event} event; try again shortly. "
            f"If it stays missing, the report function's logs say why."
        )


def _open(path: Path) -> None:
    import webbrowser

    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        opened = False
    print("  opened in the web browser" if opened else f"  no web browser could be opened here: open {path} yourself")


def run(args: argparse.Namespace) -> int:
    check_dataset_name(args.dataset)
    if args.url and not 1 <= args.expires <= MAX_PRESIGNED_SECONDS:
        raise IcflowError(f"--expires {args.expires}: a presigned URL lasts 1 to {MAX_PRESIGNED_SECONDS} seconds")
    reports = Reports(resolve(args))
    target = reports.target(args.dataset, args.run_id, args.batch_id)
    if args.url:
        print(reports.presigned_url(target, args.expires))
        return 0
    path = local_path(args.output, target)
    body = reports.download(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    except OSError as error:
        raise IcflowError(f"cannot write {path}: {error.strerror}; give another --output") from error
    print(f"report of {target.title}: {path}")
    print(f"  from s3://{reports.bucket}/{target.key()}")
    if args.open:
        _open(path)
    return 0
