"""A batch's report page: every image with its label and probability (lowest confidence first, filtered by label),
the label histogram, what was skipped or failed and why, the model; and when the images sit in folders named
after classes, accuracy, the confusion matrix and the misclassified images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from icflow.reports import charts
from icflow.reports.batch_report import BatchReportData, GalleryImage
from icflow.reports.chart_library import chart_library_versions, inline_script
from icflow.reports.page import chart, esc, kpis, percent, render_page, section, table
from icflow.reports.thumbnails import Thumbnail

# Shows the figures of one label (or all); with ground truth, only the misclassified ones when asked.
_FILTER = """
(() => {
  const label = document.getElementById("label-filter");
  const wrong = document.getElementById("wrong-only");
  const figures = Array.from(document.querySelectorAll("#gallery figure"));
  const count = document.getElementById("shown");
  function apply() {
    let shown = 0;
    for (const figure of figures) {
      const hidden = (label.value !== "" && figure.dataset.label !== label.value)
        || (wrong !== null && wrong.checked && !figure.classList.contains("wrong"));
      figure.hidden = hidden;
      shown += hidden ? 0 : 1;
    }
    count.textContent = shown;
  }
  label.addEventListener("change", apply);
  if (wrong !== null) wrong.addEventListener("change", apply);
})();
"""


def _figure(image: GalleryImage, thumb: Thumbnail | None) -> str:
    wrong = image.true_label is not None and image.true_label != image.label
    if thumb is not None and thumb.data_uri is not None:
        picture = (
            f'<img src="{esc(thumb.data_uri)}" width="{thumb.width}" height="{thumb.height}" alt="{esc(image.name)}">'
        )
    else:
        picture = f'<div class="noimage">{esc(thumb.problem if thumb else "no thumbnail")}</div>'
    truth = f'<br><span class="bad">folder: {esc(image.true_label)}</span>' if wrong else ""
    others = " · ".join(f"{esc(label)} {percent(probability)}" for label, probability in image.top_k[1:])
    title = f' title="{others}"' if others else ""
    css = ' class="wrong"' if wrong else ""
    return (
        f'<figure data-label="{esc(image.label)}"{title}{css}>'
        f"{picture}<figcaption><b>{esc(image.label)}</b> {percent(image.probability)}{truth}"
        f'<br><span class="muted">{esc(image.name)}</span></figcaption></figure>'
    )


def _gallery(data: BatchReportData, thumbnails: Mapping[str, Thumbnail]) -> str:
    options = "".join(
        f'<option value="{esc(label)}">{esc(label)} ({count})</option>' for label, count in data.count_per_label.items()
    )
    wrong = '<label><input type="checkbox" id="wrong-only"> misclassified only</label>' if data.ground_truth else ""
    controls = (
        f'<div class="controls"><label>Label <select id="label-filter"><option value="">all</option>{options}'
        f'</select></label>{wrong}<span class="muted"><span id="shown">{len(data.images)}</span> shown, lowest '
        "confidence first</span></div>"
    )
    figures = "".join(_figure(image, thumbnails.get(image.key)) for image in data.images)
    return section(
        "gallery",
        f"Every image ({len(data.images):,})",
        f'{controls}<div class="gallery">{figures}</div><script>{inline_script(_FILTER)}</script>',
    )


def _accuracy(data: BatchReportData, specs: dict[str, Any], thumbnails: Mapping[str, Thumbnail]) -> str:
    truth = data.ground_truth
    if truth is None:
        return ""
    content = kpis(
        [
            (percent(truth.accuracy), "accuracy"),
            (f"{truth.correct:,} / {truth.evaluated:,}", "right, of the images in class folders"),
            (f"{len(truth.misclassified):,}", "misclassified"),
        ]
    )
    if truth.outside_class_folders:
        content += (
            f'<p class="muted">{truth.outside_class_folders:,} images sit in no folder named after a class and are '
            "not counted.</p>"
        )
    spec = charts.confusion_chart(truth)
    if spec is not None:
        specs["confusion"] = spec
        content += chart("confusion", "Rows: the folder an image sits in; columns: the label the model gave.")
    else:
        rows = [[esc(true), *(f"{count:,}" for count in truth.matrix[row])] for row, true in enumerate(truth.classes)]
        headers = ["true \\ predicted", *map(esc, truth.classes)]
        content += table(headers, rows, frozenset(range(1, len(headers))))
    if truth.misclassified:
        figures = "".join(_figure(image, thumbnails.get(image.key)) for image in truth.misclassified)
        content += f'<h3>Misclassified</h3><div class="gallery">{figures}</div>'
    return section("accuracy", "Accuracy against the class folders", content)


def _labels(data: BatchReportData, specs: dict[str, Any]) -> str:
    spec = charts.histogram_chart(data.count_per_label)
    content = ""
    if spec is not None:
        specs["labels"] = spec
        content += chart("labels")
    rows = [[esc(label), f"{count:,}"] for label, count in data.count_per_label.items()]
    return section("labels", "Labels", content + table(["label", "images"], rows, frozenset({1})))


def _left_out(data: BatchReportData) -> str:
    if not data.skipped and not data.failed_per_reason:
        return ""
    content = ""
    if data.skipped:
        rows = [[f"<code>{esc(uri)}</code>", esc(why)] for uri, why in data.skipped]
        content += f"<h3>Skipped: not images ({len(data.skipped):,})</h3>" + table(["object", "why"], rows)
    if data.failed_per_reason:
        content += f"<h3>Not labeled ({sum(data.failed_per_reason.values()):,})</h3>" + table(
            ["reason", "images"], [[esc(r), f"{n:,}"] for r, n in data.failed_per_reason.items()], frozenset({1})
        )
        if data.failed:
            rows = [[f"<code>{esc(uri)}</code>", esc(why)] for uri, why in data.failed]
            content += table(["image", "why"], rows)
    return section("left-out", "Skipped and failed", content)


def batch_page(data: BatchReportData, thumbnails: Mapping[str, Thumbnail]) -> str:
    """The page; `thumbnails` by S3 key, a missing one shown as a box saying so."""
    specs: dict[str, Any] = {}
    by = ", ".join(f"{kind.replace('_', ' ')} {name}" for kind, name in data.labeled_by.items() if name)
    headline = section(
        "summary",
        "Batch",
        kpis(
            [
                (f"{len(data.images):,}", "images labeled"),
                (f"{len(data.skipped):,}", "skipped"),
                (f"{sum(data.failed_per_reason.values()):,}", "not labeled"),
                (f"{len(data.count_per_label):,}", "labels given"),
            ]
        )
        + table(["", ""], [["model", f"<code>{esc(data.model_name)}</code>"], ["labeled by", esc(by)]]),
    )
    sections = [
        headline,
        _accuracy(data, specs, thumbnails),
        _labels(data, specs),
        _gallery(data, thumbnails),
        _left_out(data),
    ]
    versions = ", ".join(f"{name} {version}" for name, version in chart_library_versions().items())
    return render_page(
        f"{data.dataset}: batch {data.batch_id}",
        f"labeled by model {data.model_name}",
        [part for part in sections if part],
        specs,
        f"icflow batch report · charts drawn by {versions}",
    )
