"""Small httpx helpers shared by the REST tests."""

from __future__ import annotations

from typing import Any

import httpx


def upload(client: httpx.Client, filename: str, data: bytes, deploy: bool = False) -> httpx.Response:
    path = "/deployment/deploy-file/" if deploy else "/upload/"
    return client.post(path, files={"file": (filename, data, "application/octet-stream")})


def upload_ok(client: httpx.Client, filename: str, data: bytes, deploy: bool = False) -> dict[str, Any]:
    response = upload(client, filename, data, deploy)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def record(client: httpx.Client, name: str, version: int) -> dict[str, Any]:
    response = client.get(f"/models/{name}", params={"version": version})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def deploy(client: httpx.Client, name: str, model_id: str) -> httpx.Response:
    return client.post("/deployment/deploy-model/", json={"model_name": name, "model_id": model_id})


def infer(client: httpx.Client, name: str, value: Any, dtype: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"input": value}
    if dtype:
        body["dtype"] = dtype
    return client.post(f"/inference/infer/{name}", json=body)
