"""Where the built web UI is served from: the configured folder, else a build found beside the code.

A build found by default is the package's copy (nexon/webui, for installed wheels) or the
repository's `web/dist` after `npm run build`; with neither, `/` is not served.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
DEFAULT_CANDIDATES: tuple[Path, ...] = (_PACKAGE / "webui", _PACKAGE.parent / "web" / "dist")


def web_root(configured: str, candidates: Sequence[Path] = DEFAULT_CANDIDATES) -> Path | None:
    """The folder holding index.html to serve at `/`, or None when there is no build to serve."""
    folders = [Path(configured)] if configured else candidates
    return next((folder for folder in folders if (folder / "index.html").is_file()), None)
