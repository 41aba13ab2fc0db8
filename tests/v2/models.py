"""Small models for the V2 flow tests, beyond tests/support/models.py."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from tests.support.models import _model


def identities() -> bytes:
    """One Identity per V2 datatype but BF16: input `<dt>_in` [N] -> output `<dt>_out`."""
    types = {"bool": TensorProto.BOOL, "uint8": TensorProto.UINT8, "uint16": TensorProto.UINT16,
             "uint32": TensorProto.UINT32, "uint64": TensorProto.UINT64, "int8": TensorProto.INT8,
             "int16": TensorProto.INT16, "int32": TensorProto.INT32, "int64": TensorProto.INT64,
             "fp16": TensorProto.FLOAT16, "fp32": TensorProto.FLOAT, "fp64": TensorProto.DOUBLE,
             "bytes": TensorProto.STRING}
    inputs = [helper.make_tensor_value_info(f"{n}_in", t, ["N"]) for n, t in types.items()]
    outputs = [helper.make_tensor_value_info(f"{n}_out", t, ["N"]) for n, t in types.items()]
    nodes = [helper.make_node("Identity", [f"{n}_in"], [f"{n}_out"]) for n in types]
    return _model(helper.make_graph(nodes, "identities", inputs, outputs))


def half_affine() -> bytes:
    """FP16 y = x * 2 + 1 over [2, 3] and a BYTES passthrough: two inputs, two outputs."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, [2, 3])
    s = helper.make_tensor_value_info("s", TensorProto.STRING, [-1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 3])
    t = helper.make_tensor_value_info("t", TensorProto.STRING, [-1])
    two = numpy_helper.from_array(np.array([2], np.float16), "two")
    one = numpy_helper.from_array(np.array([1], np.float16), "one")
    nodes = [helper.make_node("Mul", ["x", "two"], ["m"]), helper.make_node("Add", ["m", "one"], ["y"]),
             helper.make_node("Identity", ["s"], ["t"])]
    return _model(helper.make_graph(nodes, "half", [x, s], [y, t], [two, one]))


def bf16_cast() -> bytes:
    """BF16 in, BF16 out (y = x) and FP32 out (z = float(x)); ORT's CPU kernels have no BF16 Add."""
    x = helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [-1])
    y = helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [-1])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [-1])
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Cast", ["x"], ["z"], to=TensorProto.FLOAT)]
    return _model(helper.make_graph(nodes, "bf16", [x], [y, z]))
