import { describe, expect, it } from "vitest";
import type { ModelRecord } from "../types";
import { counts, filterModels, formatBytes, isOnnxFile, sameModel } from "./models";

function record(i: number): ModelRecord {
  const name = `model-${i % 50}.onnx`;
  return {
    _id: `id${i}`,
    file_id: `f${i}`,
    name,
    version: Math.floor(i / 50) + 1,
    upload: "01/01/2026",
    deploy: i % 7 === 0 ? "02/01/2026" : "",
    size: "1.00 KB",
    size_bytes: 1024,
    status: i % 7 === 0 ? "Deployed" : "Uploaded",
    sha256: i.toString(16).padStart(64, "0"),
    inputs: [],
    outputs: [],
  };
}

const thousand = Array.from({ length: 1000 }, (_, i) => record(i));

describe("filterModels", () => {
  it("filters by status", () => {
    expect(filterModels(thousand, "deployed", "")).toHaveLength(143);
    expect(filterModels(thousand, "uploaded", "")).toHaveLength(857);
    expect(filterModels(thousand, "all", "")).toHaveLength(1000);
    expect(counts(thousand)).toEqual({ all: 1000, deployed: 143, uploaded: 857 });
  });

  it("searches names case-insensitively and SHA-256 prefixes", () => {
    expect(filterModels(thousand, "all", "MODEL-49.")).toHaveLength(20);
    expect(filterModels(thousand, "all", "00000000000000000000000000000000000000000000000000000000000003e7")
      .map((r) => r._id)).toEqual(["id999"]);
  });

  it("stays quick over 1,000 records", () => {
    const started = performance.now();
    for (let i = 0; i < 100; i++) filterModels(thousand, i % 2 ? "deployed" : "all", `model-${i % 50}`);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("names and sizes", () => {
  it("accepts only .onnx files", () => {
    expect([isOnnxFile("a.onnx"), isOnnxFile("A.ONNX"), isOnnxFile(".onnx"), isOnnxFile("a.txt")]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it("formats", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
    expect(formatBytes(300 * 1024)).toBe("300 KB");
  });
});

describe("sameModel", () => {
  it("matches a route name with or without the suffix, and nothing looser", () => {
    expect(sameModel("scale.onnx", "scale.onnx")).toBe(true);
    expect(sameModel("scale.onnx", "scale")).toBe(true);
    expect(sameModel("..onnx", ".")).toBe(true);
    expect(sameModel("..onnx", "..onnx")).toBe(true);
    expect(sameModel("scale.onnx", "scale.onnx.onnx")).toBe(false);
    expect(sameModel("my model?#.onnx", "my model")).toBe(false);
  });
});
