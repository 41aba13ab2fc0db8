"""NEXON protobuf messages to and from arrays. One function per direction."""

from __future__ import annotations

from typing import Any

import numpy as np

from nexon.core import dtypes, tensors
from nexon.core.dtypes import ElementType
from nexon.core.orchestrator import Output, Prediction
from nexon.core.signature import TensorSpec
from nexon.errors import InvalidInput, Unsupported
from nexon.stubs import nexon_inference_pb2 as pb

_TO_ELEMENT: dict[int, str] = {
    pb.DT_FLOAT32: "float32",
    pb.DT_FLOAT64: "float64",
    pb.DT_INT32: "int32",
    pb.DT_INT64: "int64",
    pb.DT_BOOL: "bool",
}
_FROM_ELEMENT: dict[str, Any] = {name: code for code, name in _TO_ELEMENT.items()}


def input_array(tensor: pb.RequestTensor, spec: TensorSpec) -> np.ndarray:
    if tensor.name and tensor.name != spec.name:
        raise InvalidInput(f"input name {tensor.name!r} does not match the model's first input {spec.name!r}")
    if tensor.data_type == pb.DT_STRING:
        raise InvalidInput("DT_STRING tensors are not supported by Predict")
    element: ElementType | None = None
    if tensor.data_type != pb.DT_UNSPECIFIED:
        name = _TO_ELEMENT.get(tensor.data_type)
        if name is None:
            raise InvalidInput(f"unknown data_type {tensor.data_type}")
        element = dtypes.BY_NAME[name]
    return tensors.from_bytes(tensor.tensor_content, list(tensor.dims), element, spec)


def output_tensor(output: Output) -> pb.ResponseTensor:
    value = output.value
    if not isinstance(value, np.ndarray):
        raise Unsupported(f"output {output.name!r} is a {type(value).__name__}, which Predict cannot return")
    element = dtypes.of_array(value)
    code = _FROM_ELEMENT.get(element.name)
    if code is None:
        raise Unsupported(
            f"output {output.name!r} has dtype {element.name}, which Predict cannot carry; "
            "use the V2 ModelInfer endpoint"
        )
    return pb.ResponseTensor(
        dims=list(value.shape),
        name=output.name,
        tensor_content=np.ascontiguousarray(value, dtype=element.wire).tobytes(),
        data_type=code,
    )


def reply(prediction: Prediction) -> pb.PredictReply:
    return pb.PredictReply(outputs=[output_tensor(o) for o in prediction.outputs])
