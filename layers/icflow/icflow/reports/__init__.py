"""Run and batch reports: self-contained HTML pages with charts (Vega-Lite, vendored at build time under vendor/)
and thumbnails."""
