"""The demo's closing report: timings per stage, accuracy against the true labels, where everything is."""

from __future__ import annotations

from typing import Any

from icflow_tools.demo.flow import DemoReport

TARGET_SECONDS = 300  # the demo's promise: under 5 minutes on 2 CPU cores once installed


def render_report(report: DemoReport, startup_seconds: float, total_seconds: float, state: dict[str, Any]) -> str:
    rows = [("start the local stack", startup_seconds), *report.stage_seconds.items()]
    width = max(len(title) for title, _ in rows)
    lines = ["icflow demo: done", "", f"  {'stage':<{width}}  seconds"]
    lines += [f"  {title:<{width}}  {seconds:7.1f}" for title, seconds in rows]
    verdict = "under" if total_seconds < TARGET_SECONDS else "over"
    lines += [f"  {'total':<{width}}  {total_seconds:7.1f}  ({verdict} the {TARGET_SECONDS // 60}-minute target)", ""]
    validation = report.metrics.get("validation:accuracy")
    trained = f" (validation:accuracy {validation:.3f} when training ended)" if validation is not None else ""
    lines.append(f"  accuracy on {len(report.predictions)} held-out images: {report.accuracy:.1%}{trained}")
    lines.append(
        f"  training job {report.job_name}, model {report.model_name}; "
        f"training jobs after the repeated upload: {report.training_jobs}"
    )
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


def _capitalized(name: str) -> str:
    return name[:1].upper() + name[1:]  # str.capitalize would lower a batch id's letters
