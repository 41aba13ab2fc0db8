"""Streams the file part of a multipart/form-data upload without holding it in memory.

Starlette's `request.form()` spools a file to disk before the endpoint sees it; this parser
hands the file part's bytes on as they arrive, so they are hashed, size-checked and staged
in one pass, and a non-.onnx name is refused before the body is read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from nexon.errors import InvalidInput

_MAX_PARTS_BEFORE_FILE = 1024  # body chunks read before the file part starts (other fields are small)


@dataclass
class _Part:
    headers: dict[bytes, bytes]
    field: bytes = b""
    filename: str | None = None


class FileUpload:
    """The named file field of a multipart request: `filename`, then `chunks()`."""

    def __init__(self, request: Request, field: str = "file") -> None:
        content_type, params = parse_options_header(request.headers.get("content-type", ""))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise InvalidInput(f"expected a multipart/form-data body with a {field!r} file field")
        self._field = field.encode()
        self._events: deque[tuple[str, bytes]] = deque()
        self._header_field = b""
        self._header_value = b""
        self._body = request.stream()
        self._parser = MultipartParser(
            boundary,
            callbacks={
                "on_part_begin": lambda: self._events.append(("begin", b"")),
                "on_header_field": lambda d, s, e: self._on_header("field", d[s:e]),
                "on_header_value": lambda d, s, e: self._on_header("value", d[s:e]),
                "on_header_end": lambda: self._on_header("end", b""),
                "on_headers_finished": lambda: self._events.append(("headers", b"")),
                "on_part_data": lambda d, s, e: self._events.append(("data", bytes(d[s:e]))),
                "on_part_end": lambda: self._events.append(("end", b"")),
            },
        )
        self._part: _Part | None = None
        self._parts_seen = 0
        self._in_file = False
        self._done = False
        self.filename = ""

    def _on_header(self, kind: str, data: bytes) -> None:
        if kind == "field":
            self._header_field += data
        elif kind == "value":
            self._header_value += data
        else:
            self._events.append(("header", self._header_field.lower() + b"\0" + self._header_value))
            self._header_field = self._header_value = b""

    async def _feed(self) -> bool:
        """Parse the next body chunk into events; False at the end of the body."""
        try:
            chunk = await anext(self._body)
        except StopAsyncIteration:
            return False
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise InvalidInput(f"malformed multipart body: {exc}") from None
        return True

    async def open(self) -> str:
        """Read up to the file part's headers; its filename."""
        while True:
            while self._events:
                kind, data = self._events.popleft()
                if kind == "begin":
                    self._part = _Part(headers={})
                elif kind == "header" and self._part is not None:
                    key, _, value = data.partition(b"\0")
                    self._part.headers[key] = value
                elif kind == "headers" and self._part is not None:
                    _, options = parse_options_header(self._part.headers.get(b"content-disposition", b""))
                    if options.get(b"name") == self._field and b"filename" in options:
                        self.filename = options[b"filename"].decode("utf-8", "replace")
                        self._in_file = True
                        return self.filename
            if not await self._feed():
                raise InvalidInput(f"multipart field {self._field.decode()!r} with a file is missing")
            self._parts_seen += 1
            if self._parts_seen > _MAX_PARTS_BEFORE_FILE:
                raise InvalidInput(f"no {self._field.decode()!r} file within the first {_MAX_PARTS_BEFORE_FILE} chunks")

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file part's bytes as they arrive; stops at the end of the part."""
        if not self._in_file:
            raise RuntimeError("open() first")
        while True:
            while self._events:
                kind, data = self._events.popleft()
                if kind == "data":
                    if data:
                        yield data
                elif kind == "end":
                    self._in_file = False
                    return
            if not await self._feed():
                raise InvalidInput("multipart body ended inside the file part")
