import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, errorMessage } from "./api";
import type { ModelRecord } from "./types";

describe("errorMessage", () => {
  it("shows the server's detail verbatim", () => {
    expect(errorMessage(409, "Conflict", '{"detail": "scale.onnx version 1 is already deployed"}')).toBe(
      "scale.onnx version 1 is already deployed",
    );
  });

  it("falls back to the status and text when the body is not NEXON's JSON", () => {
    expect(errorMessage(502, "Bad Gateway", "upstream connect error")).toBe("502 Bad Gateway: upstream connect error");
    expect(errorMessage(503, "Service Unavailable", "")).toBe("503 Service Unavailable");
    expect(errorMessage(400, "Bad Request", '{"detail": {"field": "input"}}')).toBe('{"field":"input"}');
  });
});

describe("api paths", () => {
  const seen: string[] = [];
  const fakeFetch = async (path: RequestInfo | URL, init?: RequestInit) => {
    seen.push(`${init?.method ?? "GET"} ${String(path)}`);
    return new Response("{}", { status: 200, headers: { "Content-Type": "application/json" } });
  };

  beforeEach(() => {
    seen.length = 0;
    vi.stubGlobal("fetch", fakeFetch);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("percent-encodes a model name as one path segment in every call", async () => {
    const record = { name: "my model?#.onnx", version: 2, _id: "i" } as ModelRecord;
    await api.model("my model?#.onnx", 2);
    await api.model("a%2Fb.onnx");
    await api.undeploy(record);
    await api.remove(record);
    await api.infer("..onnx", [1]);
    expect(seen).toEqual([
      "GET /models/my%20model%3F%23.onnx?version=2",
      "GET /models/a%252Fb.onnx",
      "PUT /deployment/undeploy/my%20model%3F%23.onnx",
      "DELETE /deleteModel/my%20model%3F%23.onnx/2",
      "POST /inference/infer/..onnx",
    ]);
  });
});
