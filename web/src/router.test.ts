import { describe, expect, it } from "vitest";
import { href, parseRoute } from "./router";

describe("hash routes", () => {
  it("parses every page", () => {
    expect(parseRoute("")).toEqual({ page: "models" });
    expect(parseRoute("#/upload")).toEqual({ page: "upload" });
    expect(parseRoute("#/models/scale.onnx/3")).toEqual({ page: "model", name: "scale.onnx", version: 3 });
    expect(parseRoute("#/models/scale.onnx")).toEqual({ page: "model", name: "scale.onnx", version: null });
    expect(parseRoute("#/playground")).toEqual({ page: "playground", name: null });
    expect(parseRoute("#/nowhere")).toEqual({ page: "models" });
  });

  it("round-trips names that need escaping", () => {
    const route = { page: "model", name: "my model/v#1.onnx", version: 2 } as const;
    expect(href(route)).toBe("#/models/my%20model%2Fv%231.onnx/2");
    expect(parseRoute(href(route))).toEqual(route);
  });
});
