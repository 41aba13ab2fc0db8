"""Checks an uploaded file is a self-contained ONNX model before anything is stored."""

from __future__ import annotations

import onnx
from google.protobuf.message import DecodeError
from onnx.external_data_helper import _get_all_tensors  # walks graph, subgraphs and attributes

from nexon.errors import InvalidModel


def check_onnx(data: bytes) -> None:
    """Raise InvalidModel unless `data` parses as an ONNX model with all tensor data inline.

    External-data models are refused outright: the server never opens a path named in a model.
    """
    if not data:
        raise InvalidModel("the file is empty")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InvalidModel(f"not an ONNX model: {str(exc)[:300] or 'cannot parse protobuf'}") from None
    if not model.HasField("graph"):
        raise InvalidModel("not an ONNX model: it has no graph")
    for tensor in _get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise InvalidModel(
                f"model references external data (tensor {tensor.name!r}); "
                "upload a self-contained model (onnx.save with save_as_external_data=False)"
            )
