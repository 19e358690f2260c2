"""A run's report page: how training went, what was trained on what, what it took, and for tuning every trial."""

from __future__ import annotations

from typing import Any

from icflow.reports import charts
from icflow.reports.chart_library import chart_library_versions
from icflow.reports.epoch_metrics import EPOCH_SECONDS
from icflow.reports.page import chart, esc, kpis, percent, render_page, section, table
from icflow.reports.run_report import VALIDATION_ACCURACY, RunReportData


def _usd(value: float | None) -> str:
    return "–" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _value(value: float | None, name: str) -> str:
    """A metric in the table of epochs: seconds to the millisecond, accuracies to four places."""
    if value is None:
        return "–"
    return f"{value:.3f}" if name == EPOCH_SECONDS else f"{value:.4f}"


def _training(data: RunReportData, specs: dict[str, Any]) -> str:
    headline = [(percent(data.final_metrics.get(VALIDATION_ACCURACY)), "final validation accuracy")]
    if data.best_epoch is not None:
        headline.append((str(data.best_epoch), "best epoch (highest validation accuracy)"))
    if data.quality_gate is not None:
        headline.append((percent(data.quality_gate), "quality gate"))
    headline.append((str(len(data.epochs)), "epochs logged"))
    content = kpis(headline)
    accuracy = charts.accuracy_chart(data.epochs, data.quality_gate, data.best_epoch)
    if not data.job_name:
        content += '<p class="muted">No training job of this run completed: there is no accuracy to show.</p>'
    elif accuracy is None:
        content += (
            '<p class="muted">The job\'s log holds no accuracy per epoch (CloudWatch Logs, '
            f"<code>/aws/sagemaker/TrainingJobs</code>, streams <code>{esc(data.job_name)}/algo-1-*</code>): "
            "it may have expired, or the role that renders reports may not read it. Final metrics below.</p>"
        )
    else:
        specs["accuracy"] = accuracy
        content += chart("accuracy", "Accuracy per epoch, from the training job's log. Dashed: the quality gate.")
    loss = charts.loss_chart(data.epochs)
    if loss is not None:
        specs["loss"] = loss
        content += chart("loss")
    if data.epochs:
        names = sorted({name for epoch in data.epochs for name in epoch.metrics})
        rows = [
            [esc(epoch.epoch) + (' <span class="tag">best</span>' if epoch.epoch == data.best_epoch else "")]
            + [_value(epoch.metrics.get(name), name) for name in names]
            for epoch in data.epochs
        ]
        titles = ["epoch", *(("seconds" if name == EPOCH_SECONDS else charts.metric_title(name)) for name in names)]
        every = table(map(esc, titles), rows, frozenset(range(1, len(titles))))
        content += f"<details><summary>Every epoch</summary>{every}</details>"
    final = [[esc(charts.metric_title(name)), f"{value:.4f}"] for name, value in sorted(data.final_metrics.items())]
    content += "<h3>Final metrics</h3>" + table(["metric", "value"], final, frozenset({1}))
    return section("training", "How training went", content)


def _what_was_trained(data: RunReportData) -> str:
    rows = [
        [
            f"<code>{esc(name)}</code>",
            f"<code>{esc(value)}</code>",
            '<span class="tag">inferred by icflow</span>' if name in data.inferred else "pipeline.json",
        ]
        for name, value in sorted(data.hyperparameters.items())
    ]
    facts = table(
        ["", ""],
        [
            ["input format", esc(data.input_format)],
            ["model", f"<code>{esc(data.model_name)}</code>" if data.model_name else "none"],
            ["model artifacts", f"<code>{esc(data.model_data_url)}</code>" if data.model_data_url else "none"],
            ["training job", f"<code>{esc(data.job_name)}</code>"],
            *([["tuning job", f"<code>{esc(data.tuning_job_name)}</code>"]] if data.tuning_job_name else []),
        ],
    )
    note = (
        '<p class="muted">Hyperparameters the algorithm received; those marked were filled in by icflow from the '
        "data. Any other takes the algorithm's default.</p>"
    )
    return section(
        "model", "What was trained", facts + "<h3>Hyperparameters</h3>" + note + table(["name", "value", "from"], rows)
    )


def _dataset(data: RunReportData, specs: dict[str, Any]) -> str:
    if not data.classes:
        return section("dataset", f"Dataset {data.dataset}", f'<p class="muted">{esc(data.classes_left_out)}</p>')
    channels = sorted({channel for row in data.classes for channel in row.counts})
    counts = [
        (f"{row.index}: {row.name}", channel, row.counts[channel]) for row in data.classes for channel in channels
    ]
    content = kpis(
        [(f"{len(data.classes)}", "classes")]
        + [(f"{sum(row.counts.get(channel, 0) for row in data.classes):,}", f"in {channel}/") for channel in channels]
    )
    spec = charts.class_counts_chart(counts)
    if spec is not None:
        specs["classes"] = spec
        content += chart("classes", "Images (or records) per class in each channel.")
    rows = [
        [
            esc(row.index),
            esc(row.name),
            *(f"{row.counts.get(channel, 0):,}" for channel in channels),
            '<div class="thumbs">'
            + "".join(f'<img src="{esc(uri)}" alt="{esc(row.name)}">' for uri in row.thumbnails)
            + "</div>",
        ]
        for row in data.classes
    ]
    headers = ["index", "class", *(f"{channel}/" for channel in channels), "examples"]
    content += table(map(esc, headers), rows, frozenset(range(2, 2 + len(channels))))
    return section("dataset", f"Dataset {data.dataset}", content)


def _cost(data: RunReportData, specs: dict[str, Any]) -> str:
    cost = data.cost
    figures = [
        (f"{cost.billable_seconds:,} s" if cost.billable_seconds is not None else "–", "billable"),
        (f"{cost.training_seconds:,} s" if cost.training_seconds is not None else "–", "training time"),
        (f"{cost.instance_count} × {cost.instance_type}", "instances"),
        (_usd(cost.estimated_usd), f"estimated cost (on-demand, {cost.price_region})"),
    ]
    if cost.managed_spot:
        figures.append((percent(cost.spot_savings), "managed spot savings"))
    if data.trials_estimated_usd is not None:
        figures.append((_usd(data.trials_estimated_usd), f"all {len(data.trials)} trials, estimated"))
    content = kpis(figures)
    if cost.price_per_hour is None:
        content += (
            f'<p class="muted">No price is known for {esc(cost.instance_type)}: '
            "add it to icflow/core/instance_types.py (TRAINING_PRICE_PER_HOUR).</p>"
        )
    else:
        content += (
            f'<p class="muted">At {_usd(cost.price_per_hour)} per instance-hour, the on-demand training price in '
            f"{esc(cost.price_region)}; other regions, savings plans and spot differ.</p>"
        )
    spec = charts.timings_chart(data.timings)
    if spec is not None:
        specs["timings"] = spec
        content += chart("timings", "Seconds in each of the job's secondary statuses.")
        content += table(
            ["status", "seconds", "message"],
            [[esc(t.status), f"{t.seconds:,.1f}", esc(t.message)] for t in data.timings],
            frozenset({1}),
        )
    return section("timings", "What it took", content)


def _tuning(data: RunReportData, specs: dict[str, Any]) -> str:
    objective = data.objective_metric or VALIDATION_ACCURACY
    spec = charts.trials_chart(data.trials, objective)
    content = ""
    if spec is not None:
        specs["trials"] = spec
        content += chart(
            "trials",
            f"Each tuned hyperparameter against {charts.metric_title(objective)}; the best trial is the diamond.",
        )
    names = sorted({name for trial in data.trials for name in trial.hyperparameters})
    rows = [
        [
            f"<code>{esc(trial.name)}</code>" + (' <span class="tag">best</span>' if trial.best else ""),
            esc(trial.status),
            "–" if trial.objective is None else f"{trial.objective:.4f}",
            *(esc(trial.hyperparameters.get(name, "")) for name in names),
            f'<span class="bad">{esc(trial.reason)}</span>' if trial.reason else "",
        ]
        for trial in data.trials
    ]
    content += table(
        ["trial", "status", esc(charts.metric_title(objective)), *map(esc, names), "why it ended"], rows, frozenset({2})
    )
    return section("tuning", f"Tuning: {len(data.trials)} trials", content)


def _no_model(data: RunReportData) -> str:
    return section(
        "outcome",
        f"No model: run {data.status}",
        f'<p class="bad">{esc(data.reason or "")}</p><p class="muted">What the job did before it ended is below; '
        "`icflow status` has the run's history.</p>",
    )


def run_page(data: RunReportData) -> str:
    specs: dict[str, Any] = {}
    sections = [_training(data, specs), _what_was_trained(data), _dataset(data, specs), _cost(data, specs)]
    if data.status != "model_ready":
        sections.insert(0, _no_model(data))
    if data.trials:
        sections.append(_tuning(data, specs))
    versions = ", ".join(f"{name} {version}" for name, version in chart_library_versions().items())
    return render_page(
        f"{data.dataset}: run {data.run_id}",
        f"{data.kind} run · "
        + (f"model {data.model_name}" if data.model_name else f"{data.status}, no model")
        + (f" · started {data.created_at}" if data.created_at else ""),
        sections,
        specs,
        f"icflow run report · charts drawn by {versions}",
    )
