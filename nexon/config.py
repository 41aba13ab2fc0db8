"""Settings: one frozen object built from defaults, then the environment, then CLI flags.

The environment accepts the original NEXON variable names (GRPC_BIND, MODEL_CACHE_MAX, ...).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
SECONDS = 1.0

GRAPH_OPT_LEVELS = ("disable", "basic", "extended", "all")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


def _parse_bind(name: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SettingsError(f"{name}: expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name}: expected 0 or 1, got {value!r}")


def redact_uri(uri: str) -> str:
    """The URI with any password replaced, safe to log."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    http_bind: str = "127.0.0.1:8000"
    grpc_bind: str = "127.0.0.1:50051"
    store_uri: str = "file://./nexon-data"
    mongo_db: str = "onnx_platform"
    mongo_timeout_s: float = 5 * SECONDS
    grpc_max_recv_bytes: int = 256 * MIB
    grpc_max_send_bytes: int = 256 * MIB
    enable_reflection: bool = False
    log_health: bool = False
    cache_max_models: int = 16
    cache_max_bytes: int = 8 * GIB
    cache_ttl_s: float = 3600 * SECONDS
    ort_intra_op_threads: int = 0
    ort_inter_op_threads: int = 0
    ort_graph_opt_level: str = "all"
    max_upload_bytes: int = 1 * GIB
    max_request_bytes: int = 256 * MIB
    blocking_threads: int = 8
    shutdown_grace_s: float = 10 * SECONDS
    shutdown_delay_s: float = 0 * SECONDS
    readiness_interval_s: float = 1 * SECONDS
    public_envoy_url: str = "http://localhost:8080"
    public_envoy_grpc: str = "localhost:8080"
    web_dir: str = ""

    def __post_init__(self) -> None:
        _parse_bind("http_bind", self.http_bind)
        _parse_bind("grpc_bind", self.grpc_bind)
        if self.ort_graph_opt_level not in GRAPH_OPT_LEVELS:
            raise SettingsError(
                f"ort_graph_opt_level: expected one of {', '.join(GRAPH_OPT_LEVELS)}, "
                f"got {self.ort_graph_opt_level!r}"
            )
        positive = ("cache_max_models", "cache_max_bytes", "max_upload_bytes", "max_request_bytes", "blocking_threads")
        for name in positive:
            if getattr(self, name) < 1:
                raise SettingsError(f"{name}: must be at least 1, got {getattr(self, name)}")
        for name in ("grpc_max_recv_bytes", "grpc_max_send_bytes"):
            if getattr(self, name) < 1024:
                raise SettingsError(f"{name}: must be at least 1024, got {getattr(self, name)}")
        for name in ("readiness_interval_s", "mongo_timeout_s"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name}: must be more than 0, got {getattr(self, name)}")
        for name in ("shutdown_grace_s", "shutdown_delay_s"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name}: must be 0 or more, got {getattr(self, name)}")
        if self.cache_ttl_s < 0:
            raise SettingsError(f"cache_ttl_s: must be >= 0 (0 disables expiry), got {self.cache_ttl_s}")

    @property
    def http_address(self) -> tuple[str, int]:
        return _parse_bind("http_bind", self.http_bind)

    @property
    def grpc_address(self) -> tuple[str, int]:
        return _parse_bind("grpc_bind", self.grpc_bind)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}

        def take(var: str, key: str, convert: Any = str) -> None:
            raw = env.get(var)
            if raw is None or raw == "":
                return
            try:
                values[key] = convert(var, raw) if convert is _parse_bool else convert(raw)
            except (TypeError, ValueError) as exc:
                if isinstance(exc, SettingsError):
                    raise
                raise SettingsError(f"{var}: cannot use {raw!r} ({exc})") from None

        take("NEXON_HTTP_BIND", "http_bind")
        take("GRPC_BIND", "grpc_bind")
        take("NEXON_STORE", "store_uri")
        take("NEXON_MONGO_DB", "mongo_db")
        take("NEXON_MONGO_TIMEOUT", "mongo_timeout_s", float)
        take("GRPC_MAX_RECV_BYTES", "grpc_max_recv_bytes", int)
        take("GRPC_MAX_SEND_BYTES", "grpc_max_send_bytes", int)
        take("ENABLE_REFLECTION", "enable_reflection", _parse_bool)
        take("LOG_HEALTH", "log_health", _parse_bool)
        take("MODEL_CACHE_MAX", "cache_max_models", int)
        take("MODEL_CACHE_MAX_BYTES", "cache_max_bytes", int)
        take("MODEL_CACHE_TTL", "cache_ttl_s", float)
        take("ORT_INTRA_OP_THREADS", "ort_intra_op_threads", int)
        take("ORT_INTER_OP_THREADS", "ort_inter_op_threads", int)
        take("ORT_GRAPH_OPT_LEVEL", "ort_graph_opt_level", _graph_opt_level)
        take("NEXON_MAX_UPLOAD_BYTES", "max_upload_bytes", int)
        take("NEXON_MAX_REQUEST_BYTES", "max_request_bytes", int)
        take("NEXON_BLOCKING_THREADS", "blocking_threads", int)
        take("NEXON_SHUTDOWN_GRACE", "shutdown_grace_s", float)
        take("NEXON_SHUTDOWN_DELAY", "shutdown_delay_s", float)
        take("NEXON_ENVOY_URL", "public_envoy_url")
        take("NEXON_ENVOY_GRPC", "public_envoy_grpc")
        take("NEXON_WEB_DIR", "web_dir")
        # The original deployment names Mongo by NEXON_MONGO_URI; NEXON_STORE wins when both are set.
        mongo_uri = env.get("NEXON_MONGO_URI")
        if mongo_uri and not env.get("NEXON_STORE"):
            values["store_uri"] = mongo_uri
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _graph_opt_level(raw: str) -> str:
    numeric = {"0": "disable", "1": "basic", "2": "extended", "99": "all"}
    return numeric.get(raw.strip(), raw.strip().lower())
