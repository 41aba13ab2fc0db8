"""inference.GRPCInferenceService (Open Inference Protocol): thin adapters over the DataPlane."""

from __future__ import annotations

from typing import Any

from nexon.errors import PayloadTooLarge
from nexon.grpc import v2_converters as convert
from nexon.grpc.errors import translate_errors
from nexon.stubs import grpc_service_pb2 as pb
from nexon.stubs.grpc_service_grpc import GRPCInferenceServiceBase
from nexon.v2.dataplane import DataPlane


class GRPCInferenceService(GRPCInferenceServiceBase):
    def __init__(self, dataplane: DataPlane, max_send_bytes: int) -> None:
        self._plane = dataplane
        self._max_send_bytes = max_send_bytes

    @translate_errors
    async def ServerLive(self, stream: Any) -> None:
        await stream.recv_message()
        await stream.send_message(pb.ServerLiveResponse(live=self._plane.live()))

    @translate_errors
    async def ServerReady(self, stream: Any) -> None:
        await stream.recv_message()
        await stream.send_message(pb.ServerReadyResponse(ready=await self._plane.ready()))

    @translate_errors
    async def ModelReady(self, stream: Any) -> None:
        request = await stream.recv_message()
        ready = await self._plane.model_ready(request.name, request.version)
        await stream.send_message(pb.ModelReadyResponse(ready=ready))

    @translate_errors
    async def ServerMetadata(self, stream: Any) -> None:
        await stream.recv_message()
        await stream.send_message(convert.server_metadata_to_pb(self._plane.server_metadata()))

    @translate_errors
    async def ModelMetadata(self, stream: Any) -> None:
        request = await stream.recv_message()
        meta = await self._plane.model_metadata(request.name, request.version)
        await stream.send_message(convert.model_metadata_to_pb(meta))

    @translate_errors
    async def ModelInfer(self, stream: Any) -> None:
        request = await stream.recv_message()
        reply = convert.infer_response_to_pb(await self._plane.infer(convert.infer_request_from_pb(request)))
        if reply.ByteSize() > self._max_send_bytes:
            raise PayloadTooLarge(
                f"reply of {reply.ByteSize()} bytes exceeds GRPC_MAX_SEND_BYTES={self._max_send_bytes}"
            )
        await stream.send_message(reply)
