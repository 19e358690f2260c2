"""The reports' charts as Vega-Lite specs (plain dicts), each with its data inline under a name a test or a user
can read back from the drawn view (`window.icflowCharts.<chart>.data("<name>")`).

Field names of the data are plain words: Vega-Lite reads dots and brackets in a field name as paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from icflow.reports.batch_report import GroundTruth
from icflow.reports.epoch_metrics import EpochMetrics
from icflow.reports.run_report import VALIDATION_ACCURACY, StatusTiming, Trial

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
WIDTH = 720
# Past this many classes a bar per class is unreadable; the tables beside the charts list them all.
MAX_BARS = 60


def metric_title(metric: str) -> str:
    """`validation:top_k_accuracy_5` as "validation top-5 accuracy"."""
    channel, _, name = metric.partition(":")
    if name.startswith("top_k_accuracy_"):
        name = f"top-{name.removeprefix('top_k_accuracy_')} accuracy"
    return f"{channel} {name.replace('_', ' ')}".strip()


def _base(data_name: str, rows: Sequence[Mapping[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"$schema": SCHEMA, "data": {"name": data_name, "values": list(rows)}, **spec}


def _bars(data_name: str, rows: Sequence[Mapping[str, Any]], encoding: dict[str, Any]) -> dict[str, Any]:
    """A bar chart of the page's width, each bar's values shown on hover."""
    return _base(data_name, rows, width=WIDTH, mark={"type": "bar", "tooltip": True}, encoding=encoding)


def accuracy_chart(
    epochs: Sequence[EpochMetrics], quality_gate: float | None, best_epoch: int | None
) -> dict[str, Any] | None:
    """Accuracy per epoch, train and validation (and top-k), one row per epoch in data "epochs"; the quality gate
    a dashed line, the best epoch a diamond. None when the log had no accuracy."""
    metrics = sorted({name for epoch in epochs for name in epoch.metrics if "accuracy" in name})
    if not metrics:
        return None
    titles = [metric_title(name) for name in metrics]
    rows = [
        {"epoch": epoch.epoch, **{metric_title(name): epoch.metrics[name] for name in metrics if name in epoch.metrics}}
        for epoch in epochs
    ]
    lines = {
        "transform": [{"fold": titles, "as": ["metric", "value"]}, {"filter": "isValid(datum.value)"}],
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative", "axis": {"tickMinStep": 1}, "title": "epoch"},
            "y": {"field": "value", "type": "quantitative", "title": "accuracy", "scale": {"domain": [0, 1]}},
            "color": {"field": "metric", "type": "nominal", "title": None, "legend": {"orient": "bottom"}},
        },
    }
    layers: list[dict[str, Any]] = [lines]
    if quality_gate is not None:
        layers.append(
            {
                "data": {"values": [{"gate": quality_gate, "label": f"quality gate {quality_gate:g}"}]},
                "layer": [
                    {
                        "mark": {"type": "rule", "color": "#b91c1c", "strokeDash": [6, 4]},
                        "encoding": {"y": {"field": "gate", "type": "quantitative"}},
                    },
                    {
                        "mark": {"type": "text", "align": "left", "dx": 4, "dy": -6, "color": "#b91c1c"},
                        "encoding": {
                            "y": {"field": "gate", "type": "quantitative"},
                            "x": {"datum": 0},
                            "text": {"field": "label"},
                        },
                    },
                ],
            }
        )
    best = next((epoch for epoch in epochs if epoch.epoch == best_epoch), None)
    if best is not None:
        layers.append(
            {
                "data": {
                    "values": [{"epoch": best.epoch, "value": best.metrics[VALIDATION_ACCURACY], "label": "best"}]
                },
                "mark": {
                    "type": "point",
                    "shape": "diamond",
                    "size": 220,
                    "filled": True,
                    "color": "#0f172a",
                    "tooltip": True,
                },
                "encoding": {
                    "x": {"field": "epoch", "type": "quantitative"},
                    "y": {"field": "value", "type": "quantitative"},
                },
            }
        )
    return _base("epochs", rows, width=WIDTH, height=300, layer=layers)


def loss_chart(epochs: Sequence[EpochMetrics]) -> dict[str, Any] | None:
    """Loss per epoch, where the algorithm reports it (data "losses"); None otherwise."""
    metrics = sorted({name for epoch in epochs for name in epoch.metrics if "loss" in name})
    if not metrics:
        return None
    rows = [
        {"epoch": epoch.epoch, "metric": metric_title(name), "value": epoch.metrics[name]}
        for epoch in epochs
        for name in metrics
        if name in epoch.metrics
    ]
    return _base(
        "losses",
        rows,
        width=WIDTH,
        height=220,
        mark={"type": "line", "point": True, "tooltip": True},
        encoding={
            "x": {"field": "epoch", "type": "quantitative", "axis": {"tickMinStep": 1}},
            "y": {"field": "value", "type": "quantitative", "title": "loss"},
            "color": {"field": "metric", "type": "nominal", "title": None, "legend": {"orient": "bottom"}},
        },
    )


def timings_chart(timings: Sequence[StatusTiming]) -> dict[str, Any] | None:
    """Seconds in each secondary status, in their order (data "timings")."""
    if not timings:
        return None
    rows = [
        {"step": f"{index + 1}. {timing.status}", "seconds": timing.seconds} for index, timing in enumerate(timings)
    ]
    return _bars(
        "timings",
        rows,
        {
            "y": {"field": "step", "type": "nominal", "sort": None, "title": None},
            "x": {"field": "seconds", "type": "quantitative", "title": "seconds"},
        },
    )


def class_counts_chart(counts: Sequence[tuple[str, str, int]]) -> dict[str, Any] | None:
    """Images per class and channel, from (class, channel, count) rows (data "classes"); None past MAX_BARS."""
    classes = {name for name, _, _ in counts}
    if not counts or len(classes) > MAX_BARS:
        return None
    rows = [{"class": name, "channel": channel, "images": count} for name, channel, count in counts]
    return _bars(
        "classes",
        rows,
        {
            "x": {"field": "class", "type": "nominal", "sort": None, "title": None},
            "xOffset": {"field": "channel"},
            "y": {"field": "images", "type": "quantitative"},
            "color": {"field": "channel", "type": "nominal", "legend": {"orient": "bottom"}},
        },
    )


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def trials_chart(trials: Sequence[Trial], objective: str) -> dict[str, Any] | None:
    """Each tuned hyperparameter against the objective, one small scatter plot each, every trial a point and the
    best one a diamond (data "trials": one row per trial)."""
    names = sorted({name for trial in trials for name in trial.hyperparameters})
    scored = [trial for trial in trials if trial.objective is not None]
    if not names or not scored:
        return None
    numeric = {
        name: all(
            _number(value) is not None for trial in scored if (value := trial.hyperparameters.get(name)) is not None
        )
        for name in names
    }

    def value(trial: Trial, name: str) -> str | float | None:
        raw = trial.hyperparameters.get(name)
        return _number(raw) if raw is not None and numeric[name] else raw

    rows = [
        {
            "trial": trial.name,
            "objective": trial.objective,
            "best": "best trial" if trial.best else "trial",
            **{name: value(trial, name) for name in names},
        }
        for trial in scored
    ]
    plots = []
    for name in names:
        x: dict[str, Any] = {"field": name, "type": "quantitative" if numeric[name] else "nominal", "title": name}
        values = [row[name] for row in rows if isinstance(row[name], float)]
        if numeric[name] and values and min(values) > 0 and max(values) / min(values) >= 100:
            x["scale"] = {"type": "log"}
        plots.append(
            {
                "width": 220,
                "height": 180,
                "mark": {"type": "point", "filled": True, "tooltip": {"content": "data"}},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "objective",
                        "type": "quantitative",
                        "title": metric_title(objective),
                        "scale": {"zero": False},
                    },
                    "shape": {
                        "field": "best",
                        "type": "nominal",
                        "title": None,
                        "scale": {"range": ["diamond", "circle"]},
                    },
                    "size": {"field": "best", "type": "nominal", "legend": None, "scale": {"range": [200, 60]}},
                    "color": {
                        "field": "best",
                        "type": "nominal",
                        "title": None,
                        "scale": {"range": ["#b45309", "#2563eb"]},
                    },
                },
            }
        )
    return _base("trials", rows, concat=plots, columns=3)


def histogram_chart(count_per_label: Mapping[str, int]) -> dict[str, Any] | None:
    """Images per predicted label, most frequent first (data "labels"); None past MAX_BARS labels."""
    if not count_per_label or len(count_per_label) > MAX_BARS:
        return None
    rows = [{"label": label, "images": count} for label, count in count_per_label.items()]
    return _bars(
        "labels",
        rows,
        {
            "x": {"field": "label", "type": "nominal", "sort": "-y", "title": "predicted label"},
            "y": {"field": "images", "type": "quantitative"},
        },
    )


def confusion_chart(truth: GroundTruth) -> dict[str, Any] | None:
    """The confusion matrix, true class by row and predicted by column, counts written in each cell (data
    "confusion": one row per cell, zeros included, so its counts sum to the images evaluated)."""
    if len(truth.classes) > MAX_BARS:
        return None
    rows = [
        {"true": true, "predicted": predicted, "images": truth.matrix[row][column]}
        for row, true in enumerate(truth.classes)
        for column, predicted in enumerate(truth.classes)
    ]
    side = max(240, min(WIDTH, 36 * len(truth.classes)))
    # White on the darker half of the blues, dark on the lighter.
    dark_from = max(max(row) for row in truth.matrix) / 2
    order = list(truth.classes)
    axis = {"type": "nominal", "sort": order}
    return _base(
        "confusion",
        rows,
        width=side,
        height=side,
        encoding={
            "x": {"field": "predicted", **axis, "title": "predicted label"},
            "y": {"field": "true", **axis, "title": "true label (folder)"},
        },
        layer=[
            {
                "mark": {"type": "rect", "tooltip": True},
                "encoding": {
                    "color": {"field": "images", "type": "quantitative", "scale": {"scheme": "blues"}, "legend": None}
                },
            },
            {
                "mark": {"type": "text", "fontSize": 11},
                "encoding": {
                    "text": {"field": "images", "type": "quantitative"},
                    "color": {
                        "condition": {
                            "test": f"datum.images > 0 && datum.images >= {dark_from}",
                            "value": "white",
                        },
                        "value": "#0f172a",
                    },
                },
            },
        ],
    )
