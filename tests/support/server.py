"""Real `nexon serve` processes on ephemeral loopback ports, for integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


class NexonProcess:
    """One `python -m nexon serve` child. `http_url`, `grpc_port` once started."""

    def __init__(self, workdir: Path, store_uri: str | None = None, env: Mapping[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.store_uri = store_uri or f"file://{workdir / 'store'}"
        self.port_file = workdir / "ports.json"
        self.log_path = workdir / "server.log"
        self.extra_env = dict(env or {})
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self.grpc_port = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 60.0) -> NexonProcess:
        self.port_file.unlink(missing_ok=True)
        env = {**os.environ, "NEXON_SHUTDOWN_GRACE": "5", **self.extra_env}
        cmd = [sys.executable, "-m", "nexon", "serve", "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
               "--store", self.store_uri, "--port-file", str(self.port_file), *self.args]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nexon serve exited with {self.proc.returncode}:\n{self.log()}")
            if self.port_file.exists() and self.port_file.read_text():
                ports = json.loads(self.port_file.read_text())
                self.http_port, self.grpc_port = ports["http"], ports["grpc"]
                try:
                    if httpx.get(f"{self.http_url}/healthz", timeout=2).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"nexon serve did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
