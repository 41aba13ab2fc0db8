import type { Dim, Json, TensorSpec } from "../types";

/** A dimension the model leaves open: a symbolic name or unknown. */
export function isDynamic(dim: Dim): boolean {
  return typeof dim !== "number";
}

/** "[N, 3]" with dynamic dims by name, "?" when unknown; "scalar" for []; "any" when no shape. */
export function formatShape(shape: Dim[] | null): string {
  if (shape === null) return "any";
  if (shape.length === 0) return "scalar";
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/** The concrete shape an example input takes: each dynamic dim becomes 1. */
export function exampleShape(shape: Dim[] | null): number[] {
  if (shape === null) return [1];
  return shape.map((d) => (typeof d === "number" ? d : 1));
}

function exampleValue(dtype: string, index: number): Json {
  if (dtype === "bool") return index % 2 === 0;
  if (dtype === "string") return `text ${index + 1}`;
  if (dtype.startsWith("uint")) return (index % 250) + 1;
  if (dtype.startsWith("int")) return (index % 100) + 1;
  return index + 1; // floats: 1, 2, 3, ... keep the expected output easy to check by hand
}

/** A nested-list input of the spec's shape and dtype, filled with 1, 2, 3, ... */
export function exampleInput(spec: TensorSpec): Json {
  const shape = exampleShape(spec.shape);
  let counter = 0;
  const build = (depth: number): Json => {
    if (depth === shape.length) return exampleValue(spec.dtype, counter++);
    return Array.from({ length: shape[depth] }, () => build(depth + 1));
  };
  return build(0);
}

/** The shape of a nested list (first element's lengths; ragged lists are the server's to refuse). */
export function shapeOf(value: Json): number[] {
  const shape: number[] = [];
  let cursor: Json = value;
  while (Array.isArray(cursor)) {
    shape.push(cursor.length);
    if (cursor.length === 0) break;
    cursor = cursor[0];
  }
  return shape;
}

export function flatten(value: Json): Json[] {
  if (!Array.isArray(value)) return [value];
  return value.flatMap((item) => flatten(item));
}

export interface Preview {
  text: string;
  truncated: boolean;
  fullLength: number;
}

/** JSON text for the view, cut at `limit` characters (the whole text stays downloadable). */
export function preview(value: Json, limit: number): Preview {
  const text = compactJson(value);
  if (text.length <= limit) return { text, truncated: false, fullLength: text.length };
  return { text: text.slice(0, limit), truncated: true, fullLength: text.length };
}

/** JSON with one innermost row per line: readable for matrices, compact for long vectors. */
export function compactJson(value: Json, indent = ""): string {
  if (!Array.isArray(value)) return JSON.stringify(value);
  if (value.every((item) => !Array.isArray(item))) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
  const inner = indent + "  ";
  return `[\n${value.map((item) => inner + compactJson(item, inner)).join(",\n")}\n${indent}]`;
}

const GRPC_TYPES: Record<string, { code: string; bytes: number }> = {
  float32: { code: "DT_FLOAT32", bytes: 4 },
  float64: { code: "DT_FLOAT64", bytes: 8 },
  int32: { code: "DT_INT32", bytes: 4 },
  int64: { code: "DT_INT64", bytes: 8 },
  bool: { code: "DT_BOOL", bytes: 1 },
};

export function grpcDataType(dtype: string): string | null {
  return GRPC_TYPES[dtype]?.code ?? null;
}

/** Row-major little-endian bytes of a nested list, as Predict's `tensor_content` carries them. */
export function tensorBytes(value: Json, dtype: string): Uint8Array {
  const kind = GRPC_TYPES[dtype];
  if (!kind) throw new Error(`dtype ${dtype} cannot be sent with Predict`);
  const items = flatten(value);
  const view = new DataView(new ArrayBuffer(items.length * kind.bytes));
  items.forEach((item, i) => {
    const offset = i * kind.bytes;
    if (dtype === "float32") view.setFloat32(offset, Number(item), true);
    else if (dtype === "float64") view.setFloat64(offset, Number(item), true);
    else if (dtype === "int32") view.setInt32(offset, Number(item), true);
    else if (dtype === "int64") view.setBigInt64(offset, BigInt(Math.trunc(Number(item))), true);
    else view.setUint8(offset, item ? 1 : 0);
  });
  return new Uint8Array(view.buffer);
}

export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
