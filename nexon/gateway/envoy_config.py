"""GatewaySpec -> Envoy bootstrap (v3 API). The one source of truth for routes and clusters.

Choices that are traps when left at Envoy's defaults, each tested in tests/envoy/:
- gRPC (content-type application/grpc*) goes to an HTTP/2 cluster; the route sets
  `te: trailers`, which grpclib requires and some Envoy releases and clients drop.
- The upstream idle timeout stays below Hypercorn's 5 s keep-alive, so Envoy never reuses a
  connection the server is closing (the sporadic-503 trap).
- No buffering filter: bodies stream, so large uploads are not capped at 1 MiB. The route
  timeout starts once the request is fully received, so it bounds the model, not the upload.
- Health checks: HTTP GET /readyz on the REST cluster, the gRPC health protocol with the
  service name NEXON registers on the HTTP/2 cluster, also when there is no traffic.
"""

from __future__ import annotations

from typing import Any

from nexon.gateway.spec import Endpoint, GatewaySpec

REST_CLUSTER = "nexon_rest"
GRPC_CLUSTER = "nexon_grpc"
LISTENER = "ingress"
INFER_PATHS_REGEX = r"^/inference/infer/[^/?]+$|^/v2/models/[^/?]+(/versions/[^/?]+)?/infer$"
HEALTH_PATHS_REGEX = r"^/(healthz|readyz)$|^/grpc\.health\.v1\.Health/"

_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_STDOUT_LOG = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
_HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_PREVIOUS_HOSTS = "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"

ACCESS_LOG_FIELDS = {
    "time": "%START_TIME%",
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "grpc_status": "%GRPC_STATUS%",
    "flags": "%RESPONSE_FLAGS%",
    "bytes_in": "%BYTES_RECEIVED%",
    "bytes_out": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
    "cluster": "%UPSTREAM_CLUSTER%",
    "upstream": "%UPSTREAM_HOST%",
    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "user_agent": "%REQ(USER-AGENT)%",
}


def _duration(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def _address(endpoint: Endpoint) -> dict[str, Any]:
    return {"socket_address": {"address": endpoint.host, "port_value": endpoint.port}}


def _access_log(spec: GatewaySpec) -> list[dict[str, Any]]:
    log: dict[str, Any] = {
        "name": "envoy.access_loggers.stdout",
        "typed_config": {"@type": _STDOUT_LOG, "log_format": {"json_format": ACCESS_LOG_FIELDS}},
    }
    if not spec.log_health:
        log["filter"] = {"header_filter": {"header": {
            "name": ":path", "string_match": {"safe_regex": {"regex": HEALTH_PATHS_REGEX}}, "invert_match": True,
        }}}
    return [log]


def _retry_policy(spec: GatewaySpec, retry_on: str) -> dict[str, Any]:
    # Only failures where the request never reached a server: safe for uploads, too.
    return {
        "retry_on": retry_on,
        "num_retries": spec.retries,
        "retry_host_predicate": [{"name": "envoy.retry_host_predicates.previous_hosts",
                                  "typed_config": {"@type": _PREVIOUS_HOSTS}}],
        "host_selection_retry_max_attempts": 5,
    }


def _rest_route(spec: GatewaySpec, name: str, match: dict[str, Any], retry_on: str) -> dict[str, Any]:
    route = {"cluster": REST_CLUSTER, "timeout": _duration(spec.route_timeout_s),
             "retry_policy": _retry_policy(spec, retry_on)}
    return {"name": name, "match": match, "route": route}


def _routes(spec: GatewaySpec) -> list[dict[str, Any]]:
    timeout = _duration(spec.route_timeout_s)
    before_request = "connect-failure,refused-stream,reset-before-request"
    # Inference and reads change nothing, so a request cut off by a dying replica is retried on
    # another; uploads and deploys are not, once they may have reached a server.
    idempotent = f"{before_request},reset"
    return [
        {
            "name": "grpc",
            "match": {"prefix": "/", "grpc": {}},
            "route": {
                "cluster": GRPC_CLUSTER,
                # The bound is the stream duration: the route timeout without a grpc-timeout
                # header, the client's grpc-timeout when it sends one (a slow model's caller can).
                "timeout": "0s",
                "max_stream_duration": {"max_stream_duration": timeout, "grpc_timeout_header_max": "0s"},
                "retry_policy": _retry_policy(spec, f"{idempotent},unavailable"),
            },
            "request_headers_to_add": [
                {"header": {"key": "te", "value": "trailers"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            ],
        },
        _rest_route(spec, "rest-infer", {"safe_regex": {"regex": INFER_PATHS_REGEX}}, idempotent),
        _rest_route(spec, "rest-read", {"prefix": "/", "headers": [
            {"name": ":method", "string_match": {"exact": "GET"}}]}, idempotent),
        _rest_route(spec, "rest", {"prefix": "/"}, before_request),
    ]


def _listener(spec: GatewaySpec) -> dict[str, Any]:
    hcm = {
        "@type": _HCM,
        "stat_prefix": LISTENER,
        "codec_type": "AUTO",
        "use_remote_address": True,
        "preserve_external_request_id": True,
        "stream_idle_timeout": "300s",
        "common_http_protocol_options": {"idle_timeout": "3600s"},
        "http2_protocol_options": {"max_concurrent_streams": 1000},
        "access_log": _access_log(spec),
        "route_config": {
            "name": "nexon",
            "virtual_hosts": [{"name": "nexon", "domains": ["*"], "routes": _routes(spec)}],
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}],
    }
    return {
        "name": LISTENER,
        "address": _address(spec.listen),
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": hcm}]}],
    }


def _health_check(spec: GatewaySpec, kind: dict[str, Any]) -> dict[str, Any]:
    interval = _duration(spec.health_interval_s)
    return {
        "timeout": _duration(spec.health_timeout_s),
        "interval": interval,
        "no_traffic_interval": interval,
        "unhealthy_interval": interval,
        "unhealthy_threshold": spec.unhealthy_threshold,
        "healthy_threshold": spec.healthy_threshold,
        "always_log_health_check_failures": True,
        **kind,
    }


def _cluster(spec: GatewaySpec, name: str, endpoints: tuple[Endpoint, ...], http2: bool) -> dict[str, Any]:
    protocol = {"http2_protocol_options": {"max_concurrent_streams": 1000}} if http2 else {"http_protocol_options": {}}
    if http2:
        check = {"grpc_health_check": {"service_name": spec.grpc_health_service}}
    else:
        check = {"http_health_check": {"path": "/readyz"}}
    cluster: dict[str, Any] = {
        "name": name,
        "type": "STRICT_DNS" if spec.discovery == "dns" else "STATIC",
        "connect_timeout": _duration(spec.connect_timeout_s),
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _address(e)}} for e in endpoints]}],
        },
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _HTTP_OPTIONS,
                "common_http_protocol_options": {"idle_timeout": _duration(spec.upstream_idle_timeout_s)},
                "explicit_http_config": protocol,
            },
        },
        "health_checks": [_health_check(spec, check)],
        # Passive ejection on connection failures only; a model's 5xx is not the host's fault.
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 2,
            "enforcing_consecutive_local_origin_failure": 100,
            "enforcing_consecutive_5xx": 0,
            "enforcing_success_rate": 0,
            "enforcing_local_origin_success_rate": 0,
            "interval": _duration(spec.health_interval_s),
            "base_ejection_time": _duration(max(spec.health_interval_s * 2, 1.0)),
            "max_ejection_percent": 50,
        },
    }
    if spec.discovery == "dns":
        cluster["dns_lookup_family"] = "V4_ONLY"
        cluster["dns_refresh_rate"] = _duration(spec.dns_refresh_s)
        cluster["respect_dns_ttl"] = False
    return cluster


def render(spec: GatewaySpec) -> dict[str, Any]:
    """The Envoy bootstrap for `spec`, as plain data."""
    return {
        "admin": {"address": _address(spec.admin)},
        "static_resources": {
            "listeners": [_listener(spec)],
            "clusters": [
                _cluster(spec, REST_CLUSTER, spec.rest, http2=False),
                _cluster(spec, GRPC_CLUSTER, spec.grpc, http2=True),
            ],
        },
    }


def to_yaml(spec: GatewaySpec, header: str = "") -> str:
    import yaml  # the gateway extra; `nexon serve` does not need it

    body = yaml.safe_dump(render(spec), sort_keys=False, default_flow_style=False, width=120)
    return "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + body
