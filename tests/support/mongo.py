"""A MongoDB for the tests: the server NEXON_TEST_MONGO_URI names, else a mongoeco wire server.

mongoeco needs Python 3.13, so it runs as a child process from its own venv (.venv-mongoeco,
built by `make mongoeco-venv`). With `sqlite=PATH` its data survives a stop and start on the
same port, which the fault tests use.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.support.server import ROOT

MONGOECO_VENV = ROOT / ".venv-mongoeco"
MONGOECO_PYTHON = MONGOECO_VENV / "bin" / "python"
LAUNCHER = Path(__file__).with_name("mongoeco_server.py")


class MongoUnavailable(RuntimeError):
    """Neither NEXON_TEST_MONGO_URI nor a working mongoeco: the message says what is missing."""


def ensure_mongoeco() -> Path:
    """The mongoeco venv's python, building the venv (`make mongoeco-venv`) if it is not there."""
    stamp = MONGOECO_VENV / ".installed"
    if stamp.exists() and MONGOECO_PYTHON.exists():
        return MONGOECO_PYTHON
    if shutil.which("make") is None:
        raise MongoUnavailable("no MongoDB for the tests: set NEXON_TEST_MONGO_URI, or install make "
                               "so the fixture can build .venv-mongoeco (`make mongoeco-venv`)")
    done = subprocess.run(["make", "-C", str(ROOT), "mongoeco-venv"], capture_output=True, text=True)
    if done.returncode != 0 or not stamp.exists():
        raise MongoUnavailable(
            "no MongoDB for the tests: NEXON_TEST_MONGO_URI is not set and `make mongoeco-venv` failed "
            "(mongoeco[wire] needs Python 3.13: `pyenv install 3.13.0` or PYTHON313=/path/to/python3.13).\n"
            f"{done.stdout}\n{done.stderr}"
        )
    return MONGOECO_PYTHON


class MongoecoServer:
    """One mongoeco wire server child; `stop()` and `start()` again keep its port (and data, with sqlite)."""

    def __init__(self, workdir: Path, sqlite: Path | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.sqlite = sqlite
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mongoeco.log"

    def uri(self, db: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{db}?directConnection=true"

    def start(self, timeout: float = 60.0) -> MongoecoServer:
        python = ensure_mongoeco()
        port_file = self.workdir / "mongoeco-port.json"
        port_file.unlink(missing_ok=True)
        cmd = [str(python), str(LAUNCHER), str(port_file), "--port", str(self.port)]
        if self.sqlite is not None:
            cmd += ["--sqlite", str(self.sqlite)]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": ""})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MongoUnavailable(f"mongoeco exited with {self.proc.returncode}:\n{self.log()}")
            if port_file.exists():
                self.port = json.loads(port_file.read_text())["port"]
                return self
            time.sleep(0.05)
        self.kill()
        raise MongoUnavailable(f"mongoeco did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def external_uri() -> str | None:
    return os.environ.get("NEXON_TEST_MONGO_URI") or None


def with_database(uri: str, db: str) -> str:
    """`uri` naming database `db` (replacing any path the URI has)."""
    scheme, rest = uri.split("://", 1)
    hosts, _, tail = rest.partition("/")
    _, _, query = tail.partition("?")
    return f"{scheme}://{hosts}/{db}" + (f"?{query}" if query else "")
