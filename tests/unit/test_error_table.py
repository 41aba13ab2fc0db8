"""Walk the one error table on both protocols: each domain error gets its HTTP status and gRPC code."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.testing import ChannelFor
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route

from nexon import errors
from nexon.grpc.errors import translate_errors
from nexon.rest.errors import CatchAll, nexon_error
from nexon.stubs import nexon_inference_pb2 as pb
from nexon.stubs.nexon_inference_grpc import InferenceServiceBase, InferenceServiceStub

EXPECTED = {
    errors.InvalidInput: (400, Status.INVALID_ARGUMENT),
    errors.InvalidModel: (400, Status.INVALID_ARGUMENT),
    errors.ModelNotFound: (404, Status.NOT_FOUND),
    errors.NotDeployed: (400, Status.FAILED_PRECONDITION),
    errors.AlreadyDeployed: (400, Status.FAILED_PRECONDITION),
    errors.Unsupported: (400, Status.FAILED_PRECONDITION),
    errors.PayloadTooLarge: (413, Status.RESOURCE_EXHAUSTED),
    errors.StoreUnavailable: (503, Status.UNAVAILABLE),
}
BY_NAME: dict[str, type[Exception]] = {cls.__name__: cls for cls in errors.ERROR_TABLE}
BY_NAME["ZeroDivisionError"] = ZeroDivisionError


def test_table_is_complete() -> None:
    assert set(errors.ERROR_TABLE) == set(EXPECTED)


async def raising(request: Request) -> Any:
    raise BY_NAME[request.path_params["name"]]("the reason")


def rest_client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[Route("/raise/{name}", raising), Route("/v2/raise/{name}", raising)],
        middleware=[Middleware(CatchAll)],
        exception_handlers={errors.NexonError: nexon_error},
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


class Raiser(InferenceServiceBase):
    @translate_errors
    async def Predict(self, stream: Any) -> None:
        request = await stream.recv_message()
        raise BY_NAME[request.model_name]("the reason")


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
async def test_each_error_maps_the_same_on_rest_and_grpc(cls: type[errors.NexonError]) -> None:
    http_status, grpc_status = EXPECTED[cls]
    async with rest_client() as client:
        response = await client.get(f"/raise/{cls.__name__}")
        assert response.status_code == http_status and response.json() == {"detail": "the reason"}
        v2 = await client.get(f"/v2/raise/{cls.__name__}")
        assert v2.status_code == http_status and v2.json() == {"error": "the reason"}
    async with ChannelFor([Raiser()]) as channel:
        with pytest.raises(GRPCError) as err:
            await InferenceServiceStub(channel).Predict(pb.PredictRequest(model_name=cls.__name__))
    assert err.value.status == grpc_status and err.value.message == "the reason"


async def test_unexpected_errors_are_generic_with_a_request_id(caplog: pytest.LogCaptureFixture) -> None:
    async with rest_client() as client:
        response = await client.get("/raise/ZeroDivisionError")
    assert response.status_code == 500
    detail = response.json()["detail"]
    assert detail.startswith("internal error (request id ") and "the reason" not in detail
    async with ChannelFor([Raiser()]) as channel:
        with pytest.raises(GRPCError) as err:
            await InferenceServiceStub(channel).Predict(pb.PredictRequest(model_name="ZeroDivisionError"))
    assert err.value.status == Status.INTERNAL
    assert str(err.value.message).startswith("internal error (request id ")
    assert "ZeroDivisionError" in caplog.text  # the traceback goes to the log only


async def test_a_bare_nexon_error_is_internal_on_both_protocols(caplog: pytest.LogCaptureFixture) -> None:
    BY_NAME["NexonError"] = errors.NexonError
    async with rest_client() as client:
        response = await client.get("/raise/NexonError")
    assert response.status_code == 500 and response.json()["detail"].startswith("internal error (request id ")
    async with ChannelFor([Raiser()]) as channel:
        with pytest.raises(GRPCError) as err:
            await InferenceServiceStub(channel).Predict(pb.PredictRequest(model_name="NexonError"))
    assert err.value.status == Status.INTERNAL and "the reason" not in str(err.value.message)
    assert caplog.text.count("the reason") == 2  # the detail is in the log only
