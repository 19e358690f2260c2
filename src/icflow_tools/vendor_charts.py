"""Vendors the reports' charting library, Vega and Vega-Lite, from the npm registry at build time (`make vendor`).

The reports are self-contained pages that must draw their charts with no network, so each inlines the library's
JavaScript (icflow/reports/chart_library.py). The library is not committed: this downloads the pinned npm
tarballs, refuses any whose sha512 differs from its pinned integrity (npm's own `dist.integrity`), and keeps one
UMD build of each plus its licence. No Node is needed, and nothing but the standard library, so it runs with plain
python3 before the venv exists:

    python3 src/icflow_tools/vendor_charts.py layers/icflow/icflow/reports/vendor
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
TRIES = 3
TIMEOUT_SECONDS = 60
VERSIONS_FILE = "versions.json"
LICENSES_FILE = "LICENSES.txt"


class VendorError(Exception):
    """The library could not be vendored: the registry is unreachable, or a tarball is not the one pinned."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    # Subresource Integrity of the .tgz, as the registry publishes it in the version's dist.integrity.
    integrity: str
    # The one file kept from the tarball, and the name it gets in the vendor folder.
    member: str
    target: str
    license_member: str = "package/LICENSE"

    def tarball_url(self, registry: str) -> str:
        return f"{registry}/{self.name}/-/{self.name}-{self.version}.tgz"


# vega-lite's UMD build reads the global `vega`, so the pages load them in this order.
PACKAGES = (
    Package(
        "vega",
        "6.4.0",
        "sha512-rHXCq2LpEWCLMjXBEj7hocY9G0/i5TGYRayGGSj06VTF4+l2IG2Z7oeZKCjWbUh/7hTE/mVhbaOPB72wCElh6g==",
        "package/build/vega.min.js",
        "vega.min.js",
    ),
    Package(
        "vega-lite",
        "6.5.0",
        "sha512-fMXF6s0MrIg0UTWnLIfeFtgSLzVhyzSKobzGrh5rhS+mL6FOYFG3m7ouJ4U23gj65EK+gl9FIIT5w7wLNaAzkA==",
        "package/build/vega-lite.min.js",
        "vega-lite.min.js",
    ),
)


def vendor(
    dest: Path, packages: Sequence[Package] = PACKAGES, registry: str = REGISTRY, retry_delay: float = 2.0
) -> bool:
    """Writes the packages' files into dest, whole or not at all; False when dest already holds these versions."""
    versions = {package.name: package.version for package in packages}
    if _holds(dest, versions, packages):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Built beside dest, so the renames below stay on one file system and an interrupted run leaves dest as it was.
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        # mkdtemp's folder is private (0700): the layer's readers (Lambda's runtime user) must be able to list it.
        staging.chmod(0o755)
        licenses: list[str] = []
        for package in packages:
            tarball = download(package.tarball_url(registry), retries=TRIES, retry_delay=retry_delay)
            verify(tarball, package.integrity, package.tarball_url(registry))
            script, license_text = _extract(tarball, package)
            (staging / package.target).write_bytes(script)
            licenses.append(f"{package.name} {package.version}\n{'=' * 72}\n{license_text.strip()}\n")
        (staging / LICENSES_FILE).write_text("\n\n".join(licenses), encoding="utf-8")
        (staging / VERSIONS_FILE).write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
        _replace(dest, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def download(url: str, retries: int = TRIES, retry_delay: float = 2.0) -> bytes:
    """The body at url; network errors and 5xx answers are tried again, up to `retries` tries in all."""
    failure = ""
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            # A 404 or 403 will not change on a second try; a registry's 5xx may.
            if error.code < 500:
                raise VendorError(f"cannot download {url}: HTTP {error.code} {error.reason}") from error
            failure = f"HTTP {error.code} {error.reason}"
        except (urllib.error.URLError, OSError) as error:
            failure = str(getattr(error, "reason", error))
        if attempt < retries:
            time.sleep(retry_delay * attempt)
    raise VendorError(f"cannot download {url} after {retries} tries (is the npm registry reachable?): {failure}")


def verify(data: bytes, integrity: str, url: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"{url}: pinned integrity {integrity!r} is not a sha512 one")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise VendorError(
            f"integrity mismatch for {url}: expected sha512-{expected}, got sha512-{actual}; refusing to vendor it"
        )


def _extract(tarball: bytes, package: Package) -> tuple[bytes, str]:
    """The package's one kept file and its licence text, read from the tarball without unpacking it to disk."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        script = _member(archive, package.member, package)
        return script, _member(archive, package.license_member, package).decode("utf-8")


def _member(archive: tarfile.TarFile, name: str, package: Package) -> bytes:
    try:
        source = archive.extractfile(name)
    except KeyError:
        source = None
    if source is None:
        raise VendorError(f"{package.name} {package.version}'s tarball has no file {name}")
    return source.read()


def _holds(dest: Path, versions: dict[str, str], packages: Sequence[Package]) -> bool:
    try:
        recorded = json.loads((dest / VERSIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == versions and all((dest / name).is_file() for name in _files(packages))


def _files(packages: Sequence[Package]) -> list[str]:
    return [package.target for package in packages] + [LICENSES_FILE, VERSIONS_FILE]


def _replace(dest: Path, staging: Path) -> None:
    """Puts staging in dest's place; an older vendor folder is moved aside first, then removed."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}-old-", dir=dest.parent))
    os.rename(dest, retired / dest.name)
    os.rename(staging, dest)
    shutil.rmtree(retired, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="the vendor folder, e.g. layers/icflow/icflow/reports/vendor")
    arguments = parser.parse_args(argv)
    try:
        written = vendor(arguments.dest)
    except VendorError as error:
        print(f"vendor_charts: {error}", file=sys.stderr)
        return 1
    pinned = ", ".join(f"{package.name} {package.version}" for package in PACKAGES)
    print(f"vendor_charts: {arguments.dest} {'now holds' if written else 'already holds'} {pinned}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
