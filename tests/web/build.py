"""The built web UI and the browser the end-to-end tests drive; built here when missing or stale."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST = WEB / "dist"
CHROMIUM = Path("/usr/bin/chromium")


def _newest_source() -> float:
    sources = [*WEB.joinpath("src").rglob("*"), WEB / "index.html", WEB / "package-lock.json", WEB / "vite.config.ts"]
    return max(p.stat().st_mtime for p in sources if p.is_file())


def ensure_built() -> Path:
    """web/dist, after `npm ci` and `npm run build` if the build is missing or older than the sources."""
    npm = shutil.which("npm")
    assert npm, "npm is needed to build the web UI (Node.js 20 + npm)"
    if not (WEB / "node_modules" / ".package-lock.json").is_file():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    index = DIST / "index.html"
    if not index.is_file() or index.stat().st_mtime < _newest_source():
        subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


def chromium() -> Path:
    assert CHROMIUM.is_file(), "Debian's chromium is needed: apt-get update && apt-get install -y chromium"
    return CHROMIUM
