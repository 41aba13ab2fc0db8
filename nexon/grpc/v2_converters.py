"""V2 protobuf messages to and from nexon.v2 messages. One function per message and direction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nexon.errors import InvalidInput
from nexon.stubs import grpc_service_pb2 as pb
from nexon.v2 import codec
from nexon.v2.messages import (
    InferRequest,
    InferResponse,
    InputTensor,
    ModelMetadata,
    Payload,
    RawData,
    ServerMetadata,
    TensorMetadata,
    TypedData,
)

# The InferTensorContents field each datatype travels in (FP16 and BF16 have none: raw only).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents", "INT16": "int_contents", "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents", "UINT16": "uint_contents", "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_ALL_FIELDS = frozenset(CONTENTS_FIELD.values())
# Each numeric field's element type: its values are read straight into an array of it, never a list.
FIELD_DTYPE = {
    "bool_contents": np.dtype(np.bool_),
    "int_contents": np.dtype(np.int32), "int64_contents": np.dtype(np.int64),
    "uint_contents": np.dtype(np.uint32), "uint64_contents": np.dtype(np.uint64),
    "fp32_contents": np.dtype(np.float32), "fp64_contents": np.dtype(np.float64),
}


def _parameters(params: Mapping[str, pb.InferParameter]) -> dict[str, Any]:
    return {key: getattr(value, value.WhichOneof("parameter_choice") or "bool_param") for key, value in params.items()}


def _typed(tensor: pb.ModelInferRequest.InferInputTensor) -> Payload:
    filled = [f.name for f, _ in tensor.contents.ListFields()]
    expected = CONTENTS_FIELD.get(tensor.datatype)
    stray = [f for f in filled if f != expected and f in _ALL_FIELDS]
    if stray:
        where = f"contents.{expected}" if expected else "raw_input_contents"
        raise InvalidInput(f"input {tensor.name!r}: {tensor.datatype} data goes in {where}, received {stray[0]}")
    if expected is None:  # FP16/BF16 (or an unknown datatype, which decode names)
        return TypedData(())
    values = getattr(tensor.contents, expected)
    dtype = FIELD_DTYPE.get(expected)
    if dtype is None:  # bytes_contents: one bytes object per element either way
        return TypedData(list(values))
    return TypedData(np.fromiter(values, dtype=dtype, count=len(values)))


def infer_request_from_pb(message: pb.ModelInferRequest) -> InferRequest:
    codec.check_parameters(_parameters(message.parameters), "request")
    raw = message.raw_input_contents  # each entry becomes one bytes object, read in place by np.frombuffer
    if raw and len(raw) != len(message.inputs):
        raise InvalidInput(f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs")
    inputs: list[InputTensor] = []
    for i, tensor in enumerate(message.inputs):
        if not tensor.name:
            raise InvalidInput(f"inputs[{i}].name is required")
        codec.check_parameters(_parameters(tensor.parameters), f"input {tensor.name!r}")
        if raw and tensor.HasField("contents"):
            raise InvalidInput(f"input {tensor.name!r}: contents must not be set when raw_input_contents is used")
        data: Payload = RawData(raw[i]) if raw else _typed(tensor)
        inputs.append(InputTensor(tensor.name, tensor.datatype, tuple(tensor.shape), data))
    outputs: list[str] = []
    for output in message.outputs:
        codec.check_parameters(_parameters(output.parameters), f"output {output.name!r}")
        outputs.append(output.name)
    return InferRequest(message.model_name, message.model_version, message.id, tuple(inputs), tuple(outputs))


def infer_response_to_pb(reply: InferResponse) -> pb.ModelInferResponse:
    return pb.ModelInferResponse(
        model_name=reply.model_name,
        model_version=reply.model_version,
        id=reply.id,
        outputs=[pb.ModelInferResponse.InferOutputTensor(name=o.name, datatype=o.datatype, shape=list(o.shape))
                 for o in reply.outputs],
        raw_output_contents=[codec.raw_content(o) for o in reply.outputs],
    )


def _tensor_metadata(t: TensorMetadata) -> pb.ModelMetadataResponse.TensorMetadata:
    return pb.ModelMetadataResponse.TensorMetadata(name=t.name, datatype=t.datatype, shape=list(t.shape))


def model_metadata_to_pb(meta: ModelMetadata) -> pb.ModelMetadataResponse:
    return pb.ModelMetadataResponse(
        name=meta.name,
        versions=list(meta.versions),
        platform=meta.platform,
        inputs=[_tensor_metadata(t) for t in meta.inputs],
        outputs=[_tensor_metadata(t) for t in meta.outputs],
    )


def server_metadata_to_pb(meta: ServerMetadata) -> pb.ServerMetadataResponse:
    return pb.ServerMetadataResponse(name=meta.name, version=meta.version, extensions=list(meta.extensions))
