"""GatewaySpec: what the front door listens on, where it sends traffic, and its timeouts.

The three profiles are the only places that know the deployment shapes: `local` puts Envoy
beside `nexon serve` on loopback, `compose` and `kubernetes` discover every replica by DNS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

SECONDS = 1.0
#: Hypercorn closes an idle keep-alive connection after this long; Envoy must give up first.
HYPERCORN_KEEP_ALIVE_S = 5 * SECONDS
GRPC_HEALTH_SERVICE = "nexon.grpc.inference.v1.InferenceService"
PROFILES = ("local", "compose", "kubernetes")


class SpecError(ValueError):
    """A gateway setting cannot be used; the message names it."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __post_init__(self) -> None:
        if not self.host:
            raise SpecError(f"endpoint {self.host}:{self.port}: empty host")
        if not 0 <= self.port <= 65535:
            raise SpecError(f"endpoint {self.host}:{self.port}: port out of range")

    @classmethod
    def parse(cls, name: str, value: str) -> Endpoint:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise SpecError(f"{name}: expected HOST:PORT, got {value!r}")
        try:
            return cls(host.strip("[]"), int(port))
        except SpecError as exc:
            raise SpecError(f"{name}: {exc}") from None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class GatewaySpec:
    listen: Endpoint = Endpoint("127.0.0.1", 8080)
    admin: Endpoint = Endpoint("127.0.0.1", 9901)
    rest: tuple[Endpoint, ...] = (Endpoint("127.0.0.1", 8000),)
    grpc: tuple[Endpoint, ...] = (Endpoint("127.0.0.1", 50051),)
    #: "static": the endpoints are addresses; "dns": each is a name whose every A record is a replica
    discovery: Literal["static", "dns"] = "static"
    route_timeout_s: float = 60 * SECONDS
    connect_timeout_s: float = 2 * SECONDS
    health_interval_s: float = 2 * SECONDS
    health_timeout_s: float = 1 * SECONDS
    unhealthy_threshold: int = 2
    healthy_threshold: int = 1
    upstream_idle_timeout_s: float = 4 * SECONDS
    dns_refresh_s: float = 5 * SECONDS
    log_health: bool = False
    grpc_health_service: str = GRPC_HEALTH_SERVICE
    retries: int = 2

    def __post_init__(self) -> None:
        if not self.rest or not self.grpc:
            raise SpecError("at least one REST and one gRPC backend are needed")
        for name in ("route_timeout_s", "connect_timeout_s", "health_interval_s", "health_timeout_s",
                     "upstream_idle_timeout_s", "dns_refresh_s"):
            if getattr(self, name) <= 0:
                raise SpecError(f"{name}: must be > 0, got {getattr(self, name)}")
        if self.upstream_idle_timeout_s >= HYPERCORN_KEEP_ALIVE_S:
            raise SpecError(
                f"upstream_idle_timeout_s: must be below Hypercorn's {HYPERCORN_KEEP_ALIVE_S:g}s keep-alive, "
                f"got {self.upstream_idle_timeout_s:g} (a longer one gives sporadic 503s)"
            )
        if self.health_timeout_s > self.health_interval_s:
            raise SpecError("health_timeout_s: must not exceed health_interval_s")
        for name in ("unhealthy_threshold", "healthy_threshold"):
            if getattr(self, name) < 1:
                raise SpecError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.retries < 0:
            raise SpecError(f"retries: must be >= 0, got {self.retries}")


def profile(name: str, **overrides: object) -> GatewaySpec:
    """The spec of one deployment shape, with any field overridden."""
    if name == "local":
        base = GatewaySpec()
    elif name == "compose":
        base = GatewaySpec(
            listen=Endpoint("0.0.0.0", 8080), admin=Endpoint("0.0.0.0", 9901),
            rest=(Endpoint("nexon", 8000),), grpc=(Endpoint("nexon", 50051),), discovery="dns",
        )
    elif name == "kubernetes":
        # nexon-pods is a headless Service: its name resolves to every ready pod.
        base = GatewaySpec(
            listen=Endpoint("0.0.0.0", 8080), admin=Endpoint("0.0.0.0", 9901),
            rest=(Endpoint("nexon-pods", 8000),), grpc=(Endpoint("nexon-pods", 50051),), discovery="dns",
        )
    else:
        raise SpecError(f"profile: expected one of {', '.join(PROFILES)}, got {name!r}")
    try:
        return replace(base, **overrides)  # type: ignore[arg-type]
    except TypeError as exc:
        raise SpecError(str(exc)) from None
