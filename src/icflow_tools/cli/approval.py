"""`icflow approve` and `icflow reject`: decide on a model that waits for approval (pipeline.json's
`"deploy": {"require_approval": true}`).

The decision is made where SageMaker keeps it, in the Model Registry (UpdateModelPackage on the run's version), as a
reviewer in SageMaker Studio would make it: the stack's ModelApprovalFunction hears of it from SageMaker's "Model
Package State Change" event and releases the model or ends the run (icflow.training.model_approval). So the command
changes the version's approval and nothing else; the run-state table only tells it which version and whether the run
still waits.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from icflow.core.errors import IcflowError
from icflow_tools.cli.stack_resources import add_stack_arguments, resolve

APPROVED = "Approved"
REJECTED = "Rejected"
MAX_NOTE = 1024  # UpdateModelPackage's ApprovalDescription
LISTED_RUNS = 5  # runs shown when the command cannot tell which one is meant


def register(subparsers: argparse._SubParsersAction) -> None:
    for command, approval, summary in (
        ("approve", APPROVED, "approve a model that waits for approval: icflow deploys it"),
        ("reject", REJECTED, "reject a model that waits for approval: its run ends rejected"),
    ):
        parser = subparsers.add_parser(
            command,
            help=summary,
            description=f"Sets the run's model package version to {approval} in the SageMaker Model Registry, as "
            "SageMaker Studio would; the stack acts on it when SageMaker reports the change. Without --run: the "
            "dataset's one run awaiting approval.",
        )
        parser.add_argument(
            "--dataset", required=True, metavar="NAME", help="the dataset's folder name, as spelled under datasets/"
        )
        parser.add_argument("--run", dest="run_id", metavar="RUN_ID", help="a run's id (`icflow status` lists them)")
        parser.add_argument(
            "--note", metavar="TEXT", help=f"why: the version's ApprovalDescription (at most {MAX_NOTE} characters)"
        )
        add_stack_arguments(parser)
        parser.set_defaults(run=run, approval=approval)


@dataclass(frozen=True)
class Decision:
    """A version's approval as the command set it, and how it stood before."""

    dataset: str
    run_id: str
    model_name: str
    package_arn: str
    group: str
    version: int
    approval: str
    before: str


def _runs_text(runs: list[dict[str, Any]]) -> str:
    newest = sorted(runs, key=lambda item: item.get("created_at", ""), reverse=True)[:LISTED_RUNS]
    lines = [f"  {item['run_id']}  {item.get('status', ''):<18}{item.get('created_at', '')}" for item in newest]
    more = len(runs) - len(newest)
    return "\n".join(lines + ([f"  and {more} older"] if more > 0 else []))


def choose_run(runs: list[dict[str, Any]], dataset: str, run_id: str | None) -> dict[str, Any]:
    """The run asked for, or the dataset's one run awaiting approval; IcflowError listing the runs otherwise."""
    from icflow.core.state import RunStatus

    if run_id:
        found = [item for item in runs if item["run_id"] == run_id]
        if found:
            return found[0]
        listed = f"; its runs:\n{_runs_text(runs)}" if runs else ", nor any run yet"
        raise IcflowError(f"dataset {dataset!r} has no run {run_id}{listed}")
    waiting = [item for item in runs if item["status"] == RunStatus.AWAITING_APPROVAL.value]
    if len(waiting) == 1:
        return waiting[0]
    if waiting:
        raise IcflowError(
            f"{len(waiting)} runs of dataset {dataset!r} await approval; give --run RUN_ID:\n{_runs_text(waiting)}"
        )
    if not runs:
        raise IcflowError(f"dataset {dataset!r} has no runs; `icflow status` lists the datasets")
    raise IcflowError(f"no run of dataset {dataset!r} awaits approval; its runs:\n{_runs_text(runs)}")


def refusal(run: dict[str, Any], dataset: str) -> str | None:
    """Why the run's model cannot be decided on now, and what to do; None when it waits for approval."""
    from icflow.core.state import RUNNING, RunStatus

    run_id, status = run["run_id"], run["status"]
    follow = f"follow with `icflow status --dataset {dataset!r}`"
    if status in RUNNING:
        return (
            f"run {run_id} of {dataset!r} is {status}: its model goes to the Model Registry when the job "
            f"completes; {follow}"
        )
    if status == RunStatus.MODEL_READY.value:  # only a rejection gets here (approving it again is no refusal)
        return (
            f"run {run_id} of {dataset!r} is model_ready: its model was released and icflow does not take it "
            "back; train and approve another model, or delete the dataset's endpoint with "
            f"`icflow cleanup --dataset {dataset!r}`"
        )
    if status != RunStatus.AWAITING_APPROVAL.value:
        said = f": {run['reason']}" if run.get("reason") else ""
        return (
            f"run {run_id} of {dataset!r} ended {status}{said}\nNothing waits for approval; upload new data or a new "
            "pipeline.json to train again"
        )
    if not run.get("model_package_arn"):
        return (
            f"run {run_id} of {dataset!r} is {status} but records no model package (model_package_arn): there is "
            f"no version in the Model Registry to decide on; {follow}"
        )
    return None


def decide(sagemaker: Any, run: dict[str, Any], dataset: str, approval: str, note: str | None) -> Decision:
    """Sets the run's version to `approval` (with `note` as its ApprovalDescription when given)."""
    from botocore.exceptions import ClientError

    arn = str(run["model_package_arn"])
    try:
        package = sagemaker.describe_model_package(ModelPackageName=arn)
        sagemaker.update_model_package(
            ModelPackageArn=arn,
            ModelApprovalStatus=approval,
            **({"ApprovalDescription": note} if note else {}),
        )
    except ClientError as error:
        answer = error.response.get("Error", {})
        raise IcflowError(
            f"SageMaker refused to set {arn} to {approval}: {answer.get('Code', '')}: {answer.get('Message', error)}"
        ) from error
    return Decision(
        dataset=dataset,
        run_id=run["run_id"],
        model_name=str(run.get("model_name") or ""),
        package_arn=arn,
        group=str(package["ModelPackageGroupName"]),
        version=int(package["ModelPackageVersion"]),
        approval=approval,
        before=str(package.get("ModelApprovalStatus") or ""),
    )


def next_steps(decision: Decision) -> str:
    what = f"version {decision.version} of {decision.group} (run {decision.run_id}, model {decision.model_name})"
    verb = "approved" if decision.approval == APPROVED else "rejected"
    head = f"{verb} {what}" if decision.before != decision.approval else f"{what} was {verb} already"
    if decision.approval == APPROVED:
        then = (
            "icflow deploys it when SageMaker reports the change: it becomes the dataset's current model, its "
            "pending batches are labeled and its endpoint (if deploy.realtime is enabled) updated"
        )
    else:
        then = "icflow ends the run `rejected` when SageMaker reports the change; the dataset keeps its current model"
    return f"{head}\n{then}; follow with `icflow status --dataset {decision.dataset!r}`"


def run(args: argparse.Namespace) -> int:
    from icflow.core.state import RUN_SK_PREFIX, RunStatus, StateTable

    if args.note is not None and len(args.note) > MAX_NOTE:
        raise IcflowError(f"--note is {len(args.note)} characters; SageMaker keeps at most {MAX_NOTE}")
    resources = resolve(args)
    store = StateTable(resources.client("dynamodb"), resources.require_table())
    chosen = choose_run(store.query(args.dataset, RUN_SK_PREFIX), args.dataset, args.run_id)
    if args.approval == APPROVED and chosen["status"] == RunStatus.MODEL_READY.value:
        print(
            f"run {chosen['run_id']} of {args.dataset!r} is model_ready already: its model was released; "
            "nothing to approve"
        )
        return 0
    problem = refusal(chosen, args.dataset)
    if problem is not None:
        raise IcflowError(problem)
    print(next_steps(decide(resources.client("sagemaker"), chosen, args.dataset, args.approval, args.note)))
    return 0
