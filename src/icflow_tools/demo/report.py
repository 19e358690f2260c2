"""The demo's closing report: timings per stage, accuracy against the true labels, where everything is."""

from __future__ import annotations

from typing import Any

from icflow_tools.demo.flow import DemoReport, TrainedRun

TARGET_SECONDS = 180  # the demo's promise: under 3 minutes on 2 CPU cores once installed


def render_report(report: DemoReport, startup_seconds: float, total_seconds: float, state: dict[str, Any]) -> str:
    rows = [("start the local stack", startup_seconds), *report.stage_seconds.items()]
    width = max(len(title) for title, _ in rows)
    lines = ["icflow demo: done", "", f"  {'stage':<{width}}  seconds"]
    lines += [f"  {title:<{width}}  {seconds:7.1f}" for title, seconds in rows]
    verdict = "under" if total_seconds < TARGET_SECONDS else "over"
    lines += [f"  {'total':<{width}}  {total_seconds:7.1f}  ({verdict} the {TARGET_SECONDS // 60}-minute target)", ""]
    lines.append(
        f"  accuracy on {len(report.predictions)} held-out images: {report.accuracy:.1%} (class folders' model)"
    )
    lines += [f"  {_run_line(run)}" for run in report.runs]
    if report.runs:
        lines.append(f"  training jobs of {report.runs[0].dataset} after the repeated upload: {report.training_jobs}")
    if report.endpoint_name:
        lines.append(f"  endpoint {report.endpoint_name}")
    bucket = state["outputs"]["DataBucketName"]
    lines += [
        "",
        "  where things are:",
        f"    predictions    s3://{bucket}/predictions/ (local bucket; copies in {report.outputs_dir}/)",
        f"    run state      s3://{bucket}/status/ and the table {state['outputs']['RunsTableName']}",
        f"    function logs  {state['logs_dir']}/<Function>.log",
        f"    job logs       {state['sagemaker_work_dir']}/training-jobs/<job>/job.log, metrics.jsonl per epoch",
    ]
    if report.reports or report.missing_reports:
        lines += ["", "  reports (self-contained HTML pages: open them in a web browser):"]
    lines += [f"    {_capitalized(name)} report: {path}" for name, path in report.reports.items()]
    lines += [f"    {_capitalized(name)} report: missing: {why}" for name, why in report.missing_reports.items()]
    return "\n".join(lines)


def _run_line(run: TrainedRun) -> str:
    """A run's data and how well it trained, so the two ways read side by side."""
    validation = run.metrics.get("validation:accuracy")
    trained = f"validation:accuracy {validation:.3f}" if validation is not None else "no validation:accuracy"
    skipped = f", {run.skipped} left out" if run.skipped else ""
    images = f"{run.records.get('train')} training and {run.records.get('validation')} validation images"
    return f"{run.dataset}: {images}{skipped}; {trained}; model {run.model_name}"


def _capitalized(name: str) -> str:
    return name[:1].upper() + name[1:]  # str.capitalize would lower a batch id's letters
