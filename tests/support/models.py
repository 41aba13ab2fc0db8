"""Small real ONNX models built with onnx.helper, and paths to models that pip packages ship."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(graph: onnx.GraphProto, opset: int = OPSET, check: bool = True) -> bytes:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    if check:  # onnx's checker insists on a shape; ONNX Runtime does not
        onnx.checker.check_model(model)
    return model.SerializeToString()


def scale(factor: float = 2.0, dtype: int = TensorProto.FLOAT, width: int | str = 3) -> bytes:
    """y = x * factor, x of shape [N, width]."""
    x = helper.make_tensor_value_info("x", dtype, ["N", width])
    y = helper.make_tensor_value_info("y", dtype, ["N", width])
    np_dtype = helper.tensor_dtype_to_np_dtype(dtype)
    k = helper.make_tensor("k", dtype, [1], np.array([factor], dtype=np_dtype).tolist())
    graph = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["y"])], "scale", [x], [y], [k])
    return _model(graph)


def two_in_two_out() -> bytes:
    """sum = a + b, prod = a * b over float32 [2]; a second output for gRPC's repeated outputs."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2])
    s = helper.make_tensor_value_info("sum", TensorProto.FLOAT, [2])
    p = helper.make_tensor_value_info("prod", TensorProto.FLOAT, [2])
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Mul", ["a", "b"], ["prod"])],
        "two", [a, b], [s, p],
    )
    return _model(graph)


def one_in_two_out() -> bytes:
    """plus = x + 1, twice = x * 2 over float32 [N]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])
    plus = helper.make_tensor_value_info("plus", TensorProto.FLOAT, ["N"])
    twice = helper.make_tensor_value_info("twice", TensorProto.FLOAT, ["N"])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["plus"]), helper.make_node("Mul", ["x", "two"], ["twice"])],
        "fork", [x], [plus, twice], [one, two],
    )
    return _model(graph)


def identity(dtype: int, shape: list[int | str | None] | None) -> bytes:
    """y = x; `shape=None` declares no shape at all (unknown rank)."""
    x = helper.make_tensor_value_info("x", dtype, shape)
    y = helper.make_tensor_value_info("y", dtype, shape)
    return _model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y]),
                  check=shape is not None)


def with_optional_input() -> bytes:
    """y = x + bias, where `bias` is a graph input backed by an initializer (optional)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
    bias_in = helper.make_tensor_value_info("bias", TensorProto.FLOAT, [3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [3], [10.0, 20.0, 30.0])
    graph = helper.make_graph([helper.make_node("Add", ["x", "bias"], ["y"])], "bias", [x, bias_in], [y], [bias])
    return _model(graph)


def slow(iterations: int = 20, size: int = 512) -> bytes:
    """A chain of MatMuls on a [size, size] input: slow enough to overlap a health probe."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [size, size])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [size, size])
    nodes, prev = [], "x"
    for i in range(iterations):
        out = "y" if i == iterations - 1 else f"t{i}"
        nodes.append(helper.make_node("MatMul", [prev, prev], [f"m{i}"]))
        nodes.append(helper.make_node("Tanh", [f"m{i}"], [out]))
        prev = out
    return _model(helper.make_graph(nodes, "slow", [x], [y]))


def external_data(tmp: Path) -> bytes:
    """A model whose initializer points at an external file (which NEXON must refuse to read)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])
    w = numpy_helper.from_array(np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32), "w")  # raw_data
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "ext", [x], [y], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    path = tmp / "ext.onnx"
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=0)
    return path.read_bytes()


def onnx_backend_data() -> Path:
    """The onnx wheel's backend test data: node/simple/pytorch-* cases with inputs and outputs."""
    return Path(onnx.__file__).parent / "backend" / "test" / "data"


def light_model(name: str) -> Path:
    return onnx_backend_data() / "light" / f"light_{name}.onnx"


def zeros() -> bytes:
    """ConstantOfShape: an int64 shape in, a float32 tensor of zeros that shape out (big outputs)."""
    shape = helper.make_tensor_value_info("shape", TensorProto.INT64, [None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    value = helper.make_tensor("value", TensorProto.FLOAT, [1], [0.0])
    node = helper.make_node("ConstantOfShape", ["shape"], ["y"], value=value)
    return _model(helper.make_graph([node], "zeros", [shape], [y]), check=False)
