import { describe, expect, it } from "vitest";
import {
  base64,
  compactJson,
  exampleInput,
  exampleShape,
  flatten,
  formatShape,
  isDynamic,
  preview,
  shapeOf,
  tensorBytes,
} from "./tensor";

describe("shapes", () => {
  it("marks symbolic and unknown dims as dynamic", () => {
    expect([isDynamic("N"), isDynamic(null), isDynamic(3)]).toEqual([true, true, false]);
    expect(formatShape(["N", 3, null])).toBe("[N, 3, ?]");
    expect(formatShape([])).toBe("scalar");
    expect(formatShape(null)).toBe("any");
  });

  it("turns dynamic dims into 1 for an example", () => {
    expect(exampleShape(["batch", 2, null, 4])).toEqual([1, 2, 1, 4]);
    expect(exampleShape(null)).toEqual([1]);
  });

  it("reads the shape of nested lists", () => {
    expect(shapeOf([[1, 2, 3]])).toEqual([1, 3]);
    expect(shapeOf([[[1], [2]], [[3], [4]]])).toEqual([2, 2, 1]);
    expect(shapeOf(5)).toEqual([]);
    expect(shapeOf([])).toEqual([0]);
  });
});

describe("exampleInput", () => {
  it("fills a float input of the right shape with 1, 2, 3, ...", () => {
    expect(exampleInput({ name: "x", dtype: "float32", shape: ["N", 3] })).toEqual([[1, 2, 3]]);
    expect(exampleInput({ name: "x", dtype: "float64", shape: [2, 2] })).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("follows the dtype", () => {
    expect(exampleInput({ name: "b", dtype: "bool", shape: [3] })).toEqual([true, false, true]);
    expect(exampleInput({ name: "s", dtype: "string", shape: [2] })).toEqual(["text 1", "text 2"]);
    expect(exampleInput({ name: "i", dtype: "int64", shape: [] })).toBe(1);
  });

  it("makes an input whose shape is the concrete example shape", () => {
    const spec = { name: "img", dtype: "float32", shape: ["N", 3, 4, 5] };
    const value = exampleInput(spec);
    expect(shapeOf(value)).toEqual([1, 3, 4, 5]);
    expect(flatten(value)).toHaveLength(60);
    expect(flatten(value).at(-1)).toBe(60);
  });
});

describe("output view", () => {
  it("prints one innermost row per line", () => {
    expect(compactJson([[1, 2], [3, 4]])).toBe("[\n  [1, 2],\n  [3, 4]\n]");
    expect(compactJson([1.5, 3])).toBe("[1.5, 3]");
  });

  it("truncates long output but reports the full length", () => {
    const big = Array.from({ length: 10_000 }, (_, i) => i);
    const view = preview(big, 1000);
    expect(view.truncated).toBe(true);
    expect(view.text).toHaveLength(1000);
    expect(view.fullLength).toBe(compactJson(big).length);
    expect(preview([1, 2], 1000)).toEqual({ text: "[1, 2]", truncated: false, fullLength: 6 });
  });
});

describe("tensor bytes for Predict", () => {
  it("encodes float32 row-major little-endian", () => {
    const bytes = tensorBytes([[1, 2, 3]], "float32");
    expect(Array.from(bytes)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40]);
    expect(base64(bytes)).toBe("AACAPwAAAEAAAEBA");
  });

  it("encodes int64 and bool", () => {
    expect(Array.from(tensorBytes([258], "int64"))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(tensorBytes([true, false], "bool"))).toEqual([1, 0]);
  });

  it("refuses a dtype Predict cannot carry", () => {
    expect(() => tensorBytes(["a"], "string")).toThrow(/cannot be sent/);
  });
});
