"""The frame every report page shares: one self-contained HTML file (styles, the charting library, the charts'
Vega-Lite specs and thumbnails all inline), so it opens the same from S3 through a presigned URL or from disk,
with no network.

Charts are Vega-Lite specs compiled in the page by the vendored library (icflow.reports.chart_library) and drawn
as SVG. Each view is kept on `window.icflowCharts[<name>]`, and `<body data-charts="ready">` says they are all
drawn ("failed" with the error on the console otherwise): what a browser test, or a curious user, can query.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from icflow.reports.chart_library import chart_scripts, inline_script

_STYLE = """
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2563eb; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0;
  background: #f8fafc; }
header { background: #0f172a; color: #f8fafc; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #cbd5e1; }
main { max-width: 1200px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 20px 0; }
h2 { font-size: 18px; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; word-break: break-all; }
.muted { color: var(--muted); }
.tag { display: inline-block; font-size: 12px; padding: 0 6px; border-radius: 4px; background: #e0e7ff;
  color: #3730a3; }
.bad { color: var(--bad); }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
.kpis { display: flex; flex-wrap: wrap; gap: 24px; margin: 4px 0 8px; }
.kpi b { display: block; font-size: 22px; }
.kpi span { color: var(--muted); font-size: 13px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(132px, 1fr)); gap: 10px; }
.gallery figure { margin: 0; padding: 6px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
.gallery figure.wrong { border-color: var(--bad); }
.gallery img, .gallery .noimage { display: block; width: 120px; height: 120px; object-fit: contain; margin: 0 auto;
  background: #f1f5f9; }
.gallery .noimage { font-size: 11px; padding: 6px; overflow: hidden; color: var(--muted); }
.gallery figcaption { font-size: 12px; line-height: 1.3; margin-top: 4px; word-break: break-all; }
.thumbs img { width: 48px; height: 48px; object-fit: cover; margin-right: 4px; border-radius: 3px; }
.controls { margin: 0 0 12px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
"""

# Compiles and draws every spec of the page, one after another; see the module docstring for what it leaves.
_DRAW_CHARTS = """
(async () => {
  const specs = JSON.parse(document.getElementById("icflow-chart-specs").textContent);
  window.icflowCharts = {};
  for (const [name, spec] of Object.entries(specs)) {
    const container = document.getElementById("chart-" + name);
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), {renderer: "svg", container, hover: true});
    await view.runAsync();
    window.icflowCharts[name] = view;
  }
  document.body.dataset.charts = "ready";
})().catch((error) => { document.body.dataset.charts = "failed"; console.error(error); });
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def json_for_script(value: Any) -> str:
    """JSON that cannot end its <script> element early, nor open a comment, whatever strings it holds."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric: frozenset[int] = frozenset()) -> str:
    """A table of already escaped cells; columns in `numeric` are right-aligned."""

    def cells(tag: str, values: Iterable[str]) -> str:
        return "".join(
            f'<{tag} class="num">{value}</{tag}>' if index in numeric else f"<{tag}>{value}</{tag}>"
            for index, value in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', headers)}</tr></thead><tbody>{body}</tbody></table>"


def section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{content}</section>'


def chart(name: str, caption: str = "") -> str:
    """Where the chart `name` of the page's specs is drawn."""
    note = f'<p class="muted">{esc(caption)}</p>' if caption else ""
    return f'<div class="chart" id="chart-{esc(name)}"></div>{note}'


def kpis(items: Iterable[tuple[str, str]]) -> str:
    """Headline figures: (value, what it is), both plain text."""
    return (
        '<div class="kpis">'
        + "".join(f'<div class="kpi"><b>{esc(value)}</b><span>{esc(label)}</span></div>' for value, label in items)
        + "</div>"
    )


def render_page(title: str, subtitle: str, sections: Iterable[str], charts: Mapping[str, Any], footer: str) -> str:
    """The whole page: `sections` are HTML made with the helpers above, `charts` Vega-Lite specs by name."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_STYLE}</style>{chart_scripts()}</head>"
        f'<body data-charts="drawing"><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>'
        f"<main>{''.join(sections)}</main><footer>{esc(footer)}</footer>"
        f'<script type="application/json" id="icflow-chart-specs">{json_for_script(dict(charts))}</script>'
        f"<script>{inline_script(_DRAW_CHARTS)}</script></body></html>"
    )
