"""The `nexon` command: `serve` runs the server; the other commands are a REST client."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from nexon.config import Settings, SettingsError
from nexon.gateway.command import add_parser as add_gateway_parser
from nexon.gateway.launcher import GatewayError
from nexon.store.command import add_store_parser

DEFAULT_URL = "http://127.0.0.1:8000"


class CliError(Exception):
    """Printed plainly; the command exits 1."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nexon", description="ONNX model serving over REST and gRPC")
    p.add_argument("--url", default=os.environ.get("NEXON_URL", DEFAULT_URL),
                   help="server for client commands (env NEXON_URL; default %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the REST + gRPC server")
    serve.add_argument("--http", help="REST bind HOST:PORT (env NEXON_HTTP_BIND; default 127.0.0.1:8000)")
    serve.add_argument("--grpc", help="gRPC bind HOST:PORT (env GRPC_BIND; default 127.0.0.1:50051)")
    serve.add_argument("--store", help="model store URI (env NEXON_STORE; default file://./nexon-data)")
    serve.add_argument("--web-dir", help="serve a built web UI from this folder at /")
    serve.add_argument("--port-file", type=Path, help="write the bound ports as JSON here once serving")

    models = sub.add_parser("models", help="manage models").add_subparsers(dest="action", required=True)
    up = models.add_parser("upload", help="upload an .onnx file as a new version")
    up.add_argument("file", type=Path)
    up.add_argument("--deploy", action="store_true", help="deploy it right away")
    ls = models.add_parser("list", help="list models")
    ls.add_argument("--status", choices=["all", "deployed", "uploaded"], default="all")
    ls.add_argument("--json", action="store_true", help="print the records as JSON")
    dep = models.add_parser("deploy", help="deploy an uploaded version")
    dep.add_argument("name")
    which = dep.add_mutually_exclusive_group(required=True)
    which.add_argument("--version", type=int)
    which.add_argument("--id", dest="model_id")
    for action in ("undeploy", "delete"):
        cmd = models.add_parser(action, help=f"{action} a version")
        cmd.add_argument("name")
        cmd.add_argument("--version", type=int, required=True)

    add_gateway_parser(sub)
    add_store_parser(sub)

    infer = sub.add_parser("infer", help="run a deployed model on one input (its first)")
    infer.add_argument("name")
    src = infer.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="the input as JSON (nested list)")
    src.add_argument("--npy", type=Path, help="the input as a .npy file")
    infer.add_argument("--dtype", help="input dtype (default: the model's)")
    return p


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            _serve(args)
        elif args.command == "store":
            from nexon.store.command import run_store_command

            sys.exit(run_store_command(args))
        elif args.command == "gateway":
            from nexon.gateway.command import run_gateway

            sys.exit(run_gateway(args))
        else:
            _client_command(args)
    except (CliError, SettingsError, GatewayError) as exc:
        print(f"nexon: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `nexon models list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    sys.exit(0)


def _serve(args: argparse.Namespace) -> None:
    from nexon.server import run

    settings = Settings.from_env(http_bind=args.http, grpc_bind=args.grpc, store_uri=args.store,
                                 web_dir=args.web_dir)
    try:
        run(settings, port_file=args.port_file)
    except OSError as exc:  # a port in use, an address this host does not have
        raise CliError(f"cannot serve on REST {settings.http_bind} / gRPC {settings.grpc_bind}: {exc}") from None


def _client_command(args: argparse.Namespace) -> None:
    import httpx

    try:
        with httpx.Client(base_url=args.url, timeout=httpx.Timeout(30.0, read=600.0)) as client:
            if args.command == "infer":
                _infer(client, args)
            else:
                _models(client, args)
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach {args.url}: {exc}") from None


def _segment(name: str) -> str:
    """A model name as one URL path segment (names may hold spaces, '?', '#', '%')."""
    return quote(name, safe="")


def _check(response: Any) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400:
        detail = body.get("detail") or body.get("error") if isinstance(body, dict) else response.text
        raise CliError(f"{response.status_code}: {detail}")
    return body


class _Progress:
    """A file object whose reads draw a progress bar on stderr."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._total = path.stat().st_size
        self._sent = 0
        self._tty = sys.stderr.isatty()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self._sent += len(data)
        self._draw(done=not data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk

    def _draw(self, done: bool) -> None:
        fraction = self._sent / self._total if self._total else 1.0
        bar = "#" * int(fraction * 30)
        line = f"\ruploading [{bar:<30}] {fraction:6.1%} {self._sent / 1e6:.1f}/{self._total / 1e6:.1f} MB"
        if self._tty or done:
            sys.stderr.write(line + ("\n" if done else ""))
            sys.stderr.flush()

    def close(self) -> None:
        self._file.close()


def _models(client: Any, args: argparse.Namespace) -> None:
    if args.action == "upload":
        if not args.file.is_file():
            raise CliError(f"no such file: {args.file}")
        path = "/deployment/deploy-file/" if args.deploy else "/upload/"
        progress = _Progress(args.file)
        try:
            body = _check(client.post(path, files={"file": (args.file.name, progress, "application/octet-stream")}))
        finally:
            progress.close()
        print(body["message"])
        if args.deploy:
            for key, value in body["endpoints"].items():
                print(f"  {key}: {value}")
        else:
            print(f"  model_id: {body['model_id']}")
    elif args.action == "list":
        path = {"all": "/allModels", "deployed": "/deployedModels", "uploaded": "/uploadedModels"}[args.status]
        records = _check(client.get(path))
        if args.json:
            print(json.dumps(records, indent=2))
        else:
            _print_table(records)
    elif args.action == "deploy":
        model_id = args.model_id or _find_id(client, args.name, args.version)
        body = _check(client.post("/deployment/deploy-model/", json={"model_name": args.name, "model_id": model_id}))
        print(body["message"])
    elif args.action == "undeploy":
        body = _check(client.put(f"/deployment/undeploy/{_segment(args.name)}",
                                 json={"model_name": args.name, "model_version": args.version}))
        print(body["message"])
    elif args.action == "delete":
        print(_check(client.delete(f"/deleteModel/{_segment(args.name)}/{args.version}"))["message"])


def _find_id(client: Any, name: str, version: int) -> str:
    record = _check(client.get(f"/models/{_segment(name)}", params={"version": version}))
    return str(record["_id"])


def _clip(text: str, width: int = 48) -> str:
    """Keep the table readable; `--json` has the full values."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(records: list[dict[str, Any]]) -> None:
    columns = ("name", "version", "status", "size", "upload", "deploy", "_id")
    rows = [[_clip(str(r.get(c, ""))) for c in columns] for r in records]
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if not rows:
        print("(no models)")


def _infer(client: Any, args: argparse.Namespace) -> None:
    if args.npy is not None:
        import numpy as np

        try:
            array = np.load(args.npy, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read {args.npy}: {exc}") from None
        payload: dict[str, Any] = {"input": array.tolist(), "dtype": args.dtype or str(array.dtype)}
    else:
        try:
            payload = {"input": json.loads(args.input)}
        except json.JSONDecodeError as exc:
            raise CliError(f"--input is not valid JSON: {exc}") from None
        if args.dtype:
            payload["dtype"] = args.dtype
    body = _check(client.post(f"/inference/infer/{_segment(args.name)}", json=payload))
    print(json.dumps(body))
