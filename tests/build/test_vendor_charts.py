"""`make vendor` (src/icflow_tools/vendor_charts.py): only the pinned tarballs, whole or nothing, once.

A registry on 127.0.0.1 serves tarballs made here; the tests never reach the network. The last tests read what
`make vendor` put in the tree.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from icflow_tools import vendor_charts
from icflow_tools.vendor_charts import PACKAGES, Package, VendorError, vendor

TREE_VENDOR = Path(__file__).resolve().parents[2] / "layers" / "icflow" / "icflow" / "reports" / "vendor"
SCRIPT = b'!function(t,e){"object"==typeof exports?e(exports):e((t=globalThis).chart={})}(this,function(t){});'
LICENSE = "Copyright (c) the chart authors. BSD-3-Clause."


@dataclass
class Registry:
    """Tarballs by URL path; `failures` answers that many 503s before the first good answer."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    failures: int = 0

    def publish(self, name: str, version: str, tarball: bytes, integrity: str | None = None) -> Package:
        self.files[f"/{name}/-/{name}-{version}.tgz"] = tarball
        return Package(name, version, integrity or _integrity(tarball), "package/build/chart.min.js", f"{name}.min.js")


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _chart_tarball(script: bytes = SCRIPT) -> bytes:
    return _tarball(
        {
            "package/package.json": b"{}",
            "package/LICENSE": LICENSE.encode(),
            "package/build/chart.min.js": script,
            "package/build/chart.js": b"// the unminified build, not kept",
        }
    )


@pytest.fixture
def registry() -> Iterator[Registry]:
    state = Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if state.failures:
                state.failures -= 1
                self.send_error(503)
                return
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _vendor(dest: Path, packages: list[Package], registry: Registry) -> bool:
    return vendor(dest, packages, registry=registry.url, retry_delay=0)


def test_a_good_tarball_gives_its_one_file_its_license_and_the_versions(registry: Registry, tmp_path: Path) -> None:
    package = registry.publish("chart", "1.2.3", _chart_tarball())
    dest = tmp_path / "vendor"

    assert _vendor(dest, [package], registry) is True

    assert sorted(path.name for path in dest.iterdir()) == ["LICENSES.txt", "chart.min.js", "versions.json"]
    assert (dest / "chart.min.js").read_bytes() == SCRIPT
    assert LICENSE in (dest / "LICENSES.txt").read_text()
    assert "chart 1.2.3" in (dest / "LICENSES.txt").read_text()
    assert json.loads((dest / "versions.json").read_text()) == {"chart": "1.2.3"}
    assert [path.name for path in tmp_path.iterdir()] == ["vendor"], "a staging folder was left behind"


def test_a_tarball_not_the_one_pinned_is_refused_and_nothing_is_written(registry: Registry, tmp_path: Path) -> None:
    pinned = _integrity(_chart_tarball())
    package = registry.publish("chart", "1.2.3", _chart_tarball(b"alert('tampered')"), integrity=pinned)
    dest = tmp_path / "vendor"

    with pytest.raises(VendorError, match=r"integrity mismatch for http://127\.0\.0\.1:\d+/chart/-/chart-1\.2\.3\.tgz"):
        _vendor(dest, [package], registry)

    assert list(tmp_path.iterdir()) == []


def test_a_refused_upgrade_leaves_the_vendored_version_in_place(registry: Registry, tmp_path: Path) -> None:
    dest = tmp_path / "vendor"
    _vendor(dest, [registry.publish("chart", "1.2.3", _chart_tarball())], registry)
    upgrade = registry.publish("chart", "2.0.0", _chart_tarball(b"// 2.0.0"), integrity=_integrity(b"another"))

    with pytest.raises(VendorError, match="integrity mismatch"):
        _vendor(dest, [upgrade], registry)

    assert json.loads((dest / "versions.json").read_text()) == {"chart": "1.2.3"}
    assert (dest / "chart.min.js").read_bytes() == SCRIPT
    assert [path.name for path in tmp_path.iterdir()] == ["vendor"]


def test_a_second_run_downloads_nothing(registry: Registry, tmp_path: Path) -> None:
    package = registry.publish("chart", "1.2.3", _chart_tarball())
    dest = tmp_path / "vendor"
    _vendor(dest, [package], registry)
    downloads = len(registry.requests)

    assert _vendor(dest, [package], registry) is False
    assert len(registry.requests) == downloads == 1


def test_a_missing_file_is_downloaded_again(registry: Registry, tmp_path: Path) -> None:
    package = registry.publish("chart", "1.2.3", _chart_tarball())
    dest = tmp_path / "vendor"
    _vendor(dest, [package], registry)
    (dest / "chart.min.js").unlink()

    assert _vendor(dest, [package], registry) is True
    assert (dest / "chart.min.js").read_bytes() == SCRIPT


def test_the_registry_failing_twice_is_tried_a_third_time(registry: Registry, tmp_path: Path) -> None:
    package = registry.publish("chart", "1.2.3", _chart_tarball())
    registry.failures = 2

    assert _vendor(tmp_path / "vendor", [package], registry) is True
    assert len(registry.requests) == 3


def test_an_unreachable_registry_is_an_error_naming_the_url(registry: Registry, tmp_path: Path) -> None:
    package = registry.publish("chart", "1.2.3", _chart_tarball())
    registry.failures = 3

    with pytest.raises(
        VendorError, match=r"cannot download http://127\.0\.0\.1:\d+/chart/-/chart-1\.2\.3\.tgz after 3"
    ):
        _vendor(tmp_path / "vendor", [package], registry)
    assert len(registry.requests) == 3
    assert list(tmp_path.iterdir()) == []


def test_a_tarball_without_the_file_is_an_error_naming_it(registry: Registry, tmp_path: Path) -> None:
    tarball = _tarball({"package/LICENSE": LICENSE.encode()})
    package = registry.publish("chart", "1.2.3", tarball)

    with pytest.raises(VendorError, match="chart 1.2.3's tarball has no file package/build/chart.min.js"):
        _vendor(tmp_path / "vendor", [package], registry)


def test_the_command_reports_a_refusal_and_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(dest: Path) -> bool:
        raise VendorError("integrity mismatch for https://registry.example/x.tgz")

    monkeypatch.setattr(vendor_charts, "vendor", refuse)
    assert vendor_charts.main([str(tmp_path / "vendor")]) == 1


def _tree_vendor() -> Path:
    if not (TREE_VENDOR / "versions.json").is_file():
        pytest.fail("the charting library is not vendored: run `make vendor` (part of `make test`)")
    return TREE_VENDOR


def test_the_tree_holds_the_pinned_versions() -> None:
    versions = json.loads((_tree_vendor() / "versions.json").read_text())
    assert versions == {"vega": "6.4.0", "vega-lite": "6.5.0"}
    assert versions == {package.name: package.version for package in PACKAGES}


# The browser global each UMD build defines, which the pages' inline code calls.
GLOBALS = {"vega": "vega", "vega-lite": "vegaLite"}


@pytest.mark.parametrize("package", PACKAGES, ids=lambda package: package.name)
def test_the_vendored_scripts_are_the_pinned_umd_builds(package: Package) -> None:
    script = (_tree_vendor() / package.target).read_text(encoding="utf-8")
    # The UMD wrapper: CommonJS, else AMD, else a browser global.
    header = script[:400]
    assert header.startswith("!function(") and '"object"==typeof exports' in header, header
    assert f").{GLOBALS[package.name]}={{}}" in header, header
    # Each build carries its version as a string literal (vega.version, vegaLite.version).
    assert f'"{package.version}"' in script
