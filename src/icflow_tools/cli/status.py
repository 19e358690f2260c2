"""`icflow status`: runs, batches and endpoints with their states and failure reasons, from the state table."""

from __future__ import annotations

import argparse
from typing import Any

from icflow_tools.cli.stack_resources import add_stack_arguments, resolve


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="runs, batches and endpoints of the stack's datasets",
        description="Prints each dataset's runs, batches and endpoint from the run-state table.",
    )
    parser.add_argument("--dataset", help="only this dataset")
    add_stack_arguments(parser)
    parser.set_defaults(run=run)


def _line(kind: str, name: str, item: dict[str, Any], details: str = "") -> str:
    text = f"  {kind:<9}{name:<24}{item.get('status', ''):<14}{item.get('updated_at', '')}"
    text += f"  {details}" if details else ""
    return text + (f"\n{'':11}reason: {item['reason']}" if item.get("reason") else "")


def render(dataset: str, items: list[dict[str, Any]]) -> str:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_kind.setdefault(item.get("entity", ""), []).append(item)
    head = (by_kind.get("dataset") or [{}])[0]
    lines = [
        f"{dataset}: {head.get('status', 'unknown')}"
        + (f" (model {head['current_model_name']})" if head.get("current_model_name") else "")
    ]
    if head.get("reason"):
        lines.append(f"  reason: {head['reason']}")
    for run in sorted(by_kind.get("run", []), key=lambda item: item.get("created_at", "")):
        lines.append(_line("run", run["run_id"], run, run.get("job_name") or ""))
        skipped = run.get("skipped") or {}
        if skipped.get("count"):
            # Class folders: what the run left out, as the run item keeps it (icflow.training.class_folders).
            first = (skipped.get("examples") or [""])[0]
            lines.append(f"{'':11}left out: {skipped['count']} objects, such as {first}; all in {skipped.get('all')}")
    for batch in sorted(by_kind.get("batch", []), key=lambda item: item.get("created_at", "")):
        counts = f"{batch.get('images', 0)} images, {batch.get('skipped', 0)} skipped"
        if "labeled" in batch:
            counts += f", {batch['labeled']} labeled -> {batch.get('summary_uri', '')}"
        lines.append(_line("batch", batch["batch_id"], batch, counts))
    for endpoint in by_kind.get("endpoint", []):
        lines.append(
            _line("endpoint", endpoint.get("endpoint_name", ""), endpoint, endpoint.get("current_config") or "")
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from icflow.core.state import StateTable

    resources = resolve(args)
    store = StateTable(resources.client("dynamodb"), resources.require_table())
    datasets = [args.dataset] if args.dataset else store.dataset_names()
    if not datasets:
        print("no datasets yet")
    for dataset in datasets:
        print(render(dataset, store.query(dataset)))
    return 0
