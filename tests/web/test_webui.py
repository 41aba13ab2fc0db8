"""Serving the built UI: where `nexon serve` finds it, and API routes keeping precedence over it."""

from __future__ import annotations

from pathlib import Path

import httpx

from nexon.rest.webui import DEFAULT_CANDIDATES, web_root
from tests.support.server import NexonProcess
from tests.web.build import DIST, ensure_built


def _build(folder: Path, marker: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(f"<!doctype html><title>{marker}</title>")
    return folder


def test_configured_folder_wins(tmp_path: Path) -> None:
    configured = _build(tmp_path / "mine", "mine")
    fallback = _build(tmp_path / "fallback", "fallback")
    assert web_root(str(configured), [fallback]) == configured


def test_configured_folder_without_index_serves_nothing(tmp_path: Path) -> None:
    fallback = _build(tmp_path / "fallback", "fallback")
    assert web_root(str(tmp_path / "empty"), [fallback]) is None


def test_default_is_the_first_candidate_with_a_build(tmp_path: Path) -> None:
    (tmp_path / "package").mkdir()  # no index.html: skipped
    repo = _build(tmp_path / "repo", "repo")
    assert web_root("", [tmp_path / "package", repo]) == repo
    assert web_root("", [tmp_path / "package"]) is None


def test_default_candidates_are_the_package_copy_then_web_dist() -> None:
    assert [p.parts[-2:] for p in DEFAULT_CANDIDATES] == [("nexon", "webui"), ("web", "dist")]
    assert DEFAULT_CANDIDATES[1] == DIST


def test_serve_finds_the_built_ui_by_default(tmp_path: Path) -> None:
    index = (ensure_built() / "index.html").read_text()
    proc = NexonProcess(tmp_path / "srv").start()  # no --web-dir, no NEXON_WEB_DIR
    try:
        page = httpx.get(f"{proc.http_url}/", timeout=10)
        assert page.status_code == 200 and page.text == index
        assert page.headers["content-type"].startswith("text/html")
        script = index.split('src="', 1)[1].split('"', 1)[0]
        asset = httpx.get(f"{proc.http_url}{script}", timeout=10)
        assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        listing = httpx.get(f"{proc.http_url}/allModels", timeout=10)
        assert listing.status_code == 200 and listing.json() == []
        missing = httpx.get(f"{proc.http_url}/no-such-page.js", timeout=10)
        assert missing.status_code == 404
    finally:
        proc.stop()


def test_web_dir_flag_serves_another_build(tmp_path: Path) -> None:
    other = _build(tmp_path / "other", "other-build")
    proc = NexonProcess(tmp_path / "srv", args=("--web-dir", str(other))).start()
    try:
        assert "other-build" in httpx.get(f"{proc.http_url}/", timeout=10).text
        assert httpx.get(f"{proc.http_url}/healthz", timeout=10).json() == {"status": "ok"}
    finally:
        proc.stop()
