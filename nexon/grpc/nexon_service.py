"""nexon.grpc.inference.v1.InferenceService: Predict as a thin adapter over the orchestrator."""

from __future__ import annotations

from typing import Any

from nexon.core.orchestrator import Orchestrator
from nexon.errors import InvalidInput, PayloadTooLarge
from nexon.grpc import converters
from nexon.grpc.errors import translate_errors
from nexon.stubs.nexon_inference_grpc import InferenceServiceBase


class InferenceService(InferenceServiceBase):
    def __init__(self, orchestrator: Orchestrator, max_send_bytes: int) -> None:
        self._core = orchestrator
        self._max_send_bytes = max_send_bytes

    @translate_errors
    async def Predict(self, stream: Any) -> None:
        request = await stream.recv_message()
        if not request.model_name:
            raise InvalidInput("model_name is required")
        if not request.HasField("input"):
            raise InvalidInput("input is required")
        prediction = await self._core.infer_first(
            request.model_name, lambda spec: converters.input_array(request.input, spec)
        )
        message = converters.reply(prediction)
        if message.ByteSize() > self._max_send_bytes:
            raise PayloadTooLarge(
                f"reply of {message.ByteSize()} bytes exceeds GRPC_MAX_SEND_BYTES={self._max_send_bytes}"
            )
        await stream.send_message(message)
