"""The domain error table: every error a client can cause, with its HTTP status and gRPC code.

    NexonError                      500  INTERNAL            (base; also "unexpected")
    ├── InvalidInput                400  INVALID_ARGUMENT    bad tensor, dtype, shape, request body
    ├── InvalidModel                400  INVALID_ARGUMENT    upload is not a loadable ONNX model
    ├── ModelNotFound               404  NOT_FOUND           no such name / version / id
    ├── NotDeployed                 400  FAILED_PRECONDITION model exists, no version is deployed
    ├── AlreadyDeployed             400  FAILED_PRECONDITION a version of this name is deployed
    ├── Unsupported                 400  FAILED_PRECONDITION valid request NEXON cannot serve
    ├── PayloadTooLarge             413  RESOURCE_EXHAUSTED  upload or message over the limit
    └── StoreUnavailable            503  UNAVAILABLE         model store cannot be reached

REST and gRPC both map through `http_status` / `grpc_code`; nothing else decides a status.
`grpc_code` is the gRPC status *name* so this module needs no gRPC library.
"""

from __future__ import annotations

from typing import ClassVar


class NexonError(Exception):
    http_status: ClassVar[int] = 500
    grpc_code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_internal(error: NexonError) -> bool:
    """A bare NexonError is the server's own fault: logged with a request id, never shown as is."""
    return type(error) is NexonError


class InvalidInput(NexonError):
    http_status = 400
    grpc_code = "INVALID_ARGUMENT"


class InvalidModel(NexonError):
    http_status = 400
    grpc_code = "INVALID_ARGUMENT"


class ModelNotFound(NexonError):
    http_status = 404
    grpc_code = "NOT_FOUND"


class NotDeployed(NexonError):
    http_status = 400
    grpc_code = "FAILED_PRECONDITION"


class AlreadyDeployed(NexonError):
    http_status = 400
    grpc_code = "FAILED_PRECONDITION"


class Unsupported(NexonError):
    http_status = 400
    grpc_code = "FAILED_PRECONDITION"


class PayloadTooLarge(NexonError):
    http_status = 413
    grpc_code = "RESOURCE_EXHAUSTED"


class StoreUnavailable(NexonError):
    http_status = 503
    grpc_code = "UNAVAILABLE"


ERROR_TABLE: tuple[type[NexonError], ...] = (
    InvalidInput,
    InvalidModel,
    ModelNotFound,
    NotDeployed,
    AlreadyDeployed,
    Unsupported,
    PayloadTooLarge,
    StoreUnavailable,
)
