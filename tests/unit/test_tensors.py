"""JSON and raw-byte payloads become arrays of the model's dtype, or a named InvalidInput."""

from __future__ import annotations

import numpy as np
import pytest

from nexon.core import dtypes, tensors
from nexon.core.signature import TensorSpec
from nexon.errors import InvalidInput, Unsupported

F32 = TensorSpec("x", "tensor(float)", ("N", 2))
I64 = TensorSpec("ids", "tensor(int64)", (None,))
B = TensorSpec("mask", "tensor(bool)", (2,))
SEQ = TensorSpec("s", "seq(tensor(float))", None)


def test_json_float_from_ints_and_floats() -> None:
    out = tensors.from_json([[1, 2.5]], F32, None)
    assert out.dtype == np.float32 and out.tolist() == [[1.0, 2.5]]


def test_json_int64_keeps_values_beyond_2_pow_53() -> None:
    out = tensors.from_json([2**53 + 1], I64, "int64")
    assert out.dtype == np.int64 and int(out[0]) == 2**53 + 1


@pytest.mark.parametrize(
    ("value", "spec", "dtype", "message"),
    [
        ([[1, 2]], F32, "int64", "model expects float32, received int64"),
        ([[1, 2, 3]], F32, None, "model expects [N, 2], received [1, 3]"),
        ([1.5], I64, None, "non-integer"),
        ([2**63], I64, None, "out of range"),
        ([1, 0], B, None, "model expects bool"),
        ([[True, False]], F32, None, "received booleans"),
        ([[1], [1, 2]], F32, None, "not a rectangular array"),
        (None, F32, None, "no data"),
        ([float("nan")], I64, None, "non-integer"),
    ],
)
def test_json_errors_name_the_problem(value: object, spec: TensorSpec, dtype: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        tensors.from_json(value, spec, dtype)
    assert message in err.value.message


def test_non_tensor_inputs_are_unsupported() -> None:
    with pytest.raises(Unsupported):
        tensors.from_json([1.0], SEQ, None)


def test_raw_bytes_are_little_endian_row_major() -> None:
    x = np.arange(4, dtype="<f4").reshape(2, 2)
    out = tensors.from_bytes(x.tobytes(), [2, 2], dtypes.BY_NAME["float32"], F32)
    np.testing.assert_array_equal(out, x)
    big_endian = x.astype(">f4").tobytes()
    assert not np.array_equal(tensors.from_bytes(big_endian, [2, 2], None, F32), x)


@pytest.mark.parametrize(
    ("content", "dims", "message"),
    [
        (b"\0" * 8, [], "dims are required"),
        (b"\0" * 8, [-1, 2], "must not be negative"),
        (b"\0" * 7, [1, 2], "has 7 bytes, expected 8"),
        (b"\0" * 12, [1, 3], "received [1, 3]"),
    ],
)
def test_raw_bytes_errors(content: bytes, dims: list[int], message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        tensors.from_bytes(content, dims, None, F32)
    assert message in err.value.message


def test_dtype_names_and_aliases() -> None:
    assert dtypes.by_name("float").name == "float32"
    assert dtypes.by_name("INT64").name == "int64"
    with pytest.raises(InvalidInput, match="unknown dtype"):
        dtypes.by_name("complex64")
