"""Domain errors to gRPC statuses, through the one table in nexon.errors."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import DecodeError
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from nexon.errors import NexonError, is_internal

log = logging.getLogger("nexon.grpc")

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def grpc_status(error: NexonError) -> Status:
    return Status[error.grpc_code]


def translate_errors(method: F) -> F:
    """Wrap a grpclib handler: NexonError → its status; anything else → INTERNAL with a request id."""

    @functools.wraps(method)
    async def wrapper(self: Any, stream: Any) -> None:
        try:
            await method(self, stream)
        except GRPCError:
            raise
        except (DecodeError, UnicodeDecodeError) as exc:
            # grpclib decodes the request inside the handler's recv_message()
            raise GRPCError(Status.INVALID_ARGUMENT, f"the request is not a valid message: {exc}") from None
        except NexonError as exc:
            if not is_internal(exc):
                raise GRPCError(grpc_status(exc), exc.message) from None
            request_id = secrets.token_hex(8)
            log.error("internal error in %s (request id %s): %s", method.__qualname__, request_id, exc.message)
            raise GRPCError(Status.INTERNAL, f"internal error (request id {request_id})") from None
        except Exception:
            request_id = secrets.token_hex(8)
            log.exception("unhandled error in %s (request id %s)", method.__qualname__, request_id)
            raise GRPCError(Status.INTERNAL, f"internal error (request id {request_id})") from None

    return wrapper  # type: ignore[return-value]
