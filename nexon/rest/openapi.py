"""The OpenAPI description of the REST API, and a /docs page that renders it."""

from __future__ import annotations

import html
from typing import Any

_ERR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "required": ["file"],
                       "properties": {"file": {"type": "string", "format": "binary"}}}
        }
    },
}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(summary: str, codes: tuple[int, ...] = (), body: dict[str, Any] | None = None,
        params: tuple[str, ...] = (), ok: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK", **({"content": {"application/json": {"schema": ok}}} if ok else {})},
                      **{str(c): _ERR for c in codes}},
    }
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    if body:
        op["requestBody"] = body
    return op


_RECORDS = {"type": "array", "items": {"$ref": "#/components/schemas/Model"}}


def spec(extra_paths: dict[str, Any] | None = None) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/upload/": {"post": _op("Upload a model (new version, status Uploaded)", (400, 413, 503), _UPLOAD_BODY)},
        "/deployment/deploy-file/": {"post": _op("Upload a new version and deploy it", (400, 413, 503), _UPLOAD_BODY)},
        "/deployment/deploy-model/": {"post": _op(
            "Deploy an uploaded version", (400, 404, 503),
            _json_body({"type": "object", "required": ["model_name", "model_id"],
                        "properties": {"model_name": {"type": "string"}, "model_id": {"type": "string"}}}))},
        "/deployment/undeploy/{model_name}": {"put": _op(
            "Undeploy a version", (400, 404, 503),
            _json_body({"type": "object", "required": ["model_version"],
                        "properties": {"model_name": {"type": "string"}, "model_version": {"type": "integer"}}}),
            ("model_name",))},
        "/allModels": {"get": _op("Every model record", (503,), ok=_RECORDS)},
        "/deployedModels": {"get": _op("Deployed model records", (503,), ok=_RECORDS)},
        "/uploadedModels": {"get": _op("Uploaded (not deployed) model records", (503,), ok=_RECORDS)},
        "/models/{model_name}": {"get": _op(
            "One record (?version=N; default the deployed, else the newest) with its endpoints",
            (404, 503), params=("model_name",), ok={"$ref": "#/components/schemas/Model"})},
        "/deleteModel/{model_name}/{model_version}": {"delete": _op(
            "Delete a version", (400, 404, 503), params=("model_name", "model_version"))},
        "/inference/infer/{model_name}": {"post": _op(
            "Run the deployed version on its first input; returns its first output", (400, 404, 503),
            _json_body({"type": "object", "required": ["input"],
                        "properties": {"input": {"description": "nested list or scalar"},
                                       "dtype": {"type": "string",
                                                 "enum": ["float32", "float64", "int32", "int64", "bool"]}}}),
            ("model_name",),
            ok={"type": "object", "properties": {"results": {"type": "array"}}})},
        "/healthz": {"get": _op("Liveness")},
        "/readyz": {"get": _op("Readiness: the model store answers", (503,))},
        "/metrics": {"get": _op("Prometheus metrics")},
    }
    paths.update(extra_paths or {})
    tensor = {"type": "object", "properties": {"name": {"type": "string"}, "dtype": {"type": "string"},
                                                "shape": {"type": "array", "items": {}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "NEXON", "version": "1", "description": "ONNX model serving over REST and gRPC"},
        "paths": paths,
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"detail": {"type": "string"}}},
            "Model": {"type": "object", "properties": {
                "_id": {"type": "string"}, "file_id": {"type": "string"}, "name": {"type": "string"},
                "upload": {"type": "string", "description": "DD/MM/YYYY"},
                "deploy": {"type": "string", "description": "DD/MM/YYYY, empty until deployed"},
                "version": {"type": "integer"}, "size": {"type": "string"},
                "status": {"type": "string", "enum": ["Uploaded", "Deployed"]},
                "sha256": {"type": "string"}, "size_bytes": {"type": "integer"},
                "inputs": {"type": "array", "items": tensor}, "outputs": {"type": "array", "items": tensor}}},
        }},
    }


def docs_html(spec: dict[str, Any]) -> str:
    """A self-contained page listing every route: it needs no script or network access."""
    rows = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            codes = ", ".join(op.get("responses", {}))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op.get('summary', ''))}</td><td>{codes}</td></tr>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NEXON API</title>
<style>body{{font:15px system-ui,sans-serif;margin:2rem;color:#222}}table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:.35rem .7rem;text-align:left;vertical-align:top}}</style></head>
<body><h1>NEXON API</h1>
<p>The machine-readable description is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1):
load it into any OpenAPI viewer for request and response schemas.</p>
<table><thead><tr><th>method</th><th>path</th><th>what it does</th><th>statuses</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
