import { describe, expect, it } from "vitest";
import { curlSnippet, grpcurlSnippet, inferUrl, predictRequest, pythonLiteral, pythonSnippet, shellQuote } from "./snippets";

describe("shellQuote", () => {
  it("keeps a word with single quotes one shell word", () => {
    expect(shellQuote("plain")).toBe("'plain'");
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
  });
});

describe("pythonLiteral", () => {
  it("maps JSON to Python", () => {
    expect(pythonLiteral([true, false, null, 1.5, "a\"b"])).toBe('[True, False, None, 1.5, "a\\"b"]');
    expect(pythonLiteral({ k: [1] })).toBe('{"k": [1]}');
  });
});

describe("snippets", () => {
  const url = "http://localhost:8080/inference/infer/scale.onnx";

  it("curl posts the input as the original API expects", () => {
    expect(curlSnippet(url, [[1, 2, 3]])).toBe(
      [
        `curl -sS -X POST 'http://localhost:8080/inference/infer/scale.onnx' \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -d '{"input":[[1,2,3]]}'`,
      ].join("\n"),
    );
  });

  it("python uses only the standard library", () => {
    const code = pythonSnippet(url, [[true]]);
    expect(code).toContain("import urllib.request");
    expect(code).toContain('data=json.dumps({"input": [[True]]}).encode(),');
    expect(code).toContain(`"${url}"`);
    expect(code).not.toMatch(/requests|httpx/);
  });

  it("grpcurl sends a Predict request with base64 tensor bytes", () => {
    const body = predictRequest("scale.onnx", [[1, 2, 3]], "float32");
    expect(body).toEqual({
      model_name: "scale.onnx",
      input: { dims: [1, 3], data_type: "DT_FLOAT32", tensor_content: "AACAPwAAAEAAAEBA" },
    });
    const code = grpcurlSnippet("localhost:8080", "nexon.grpc.inference.v1.InferenceService/Predict", body);
    expect(code.split("\n")[0]).toBe("grpcurl -plaintext -proto protos/nexon_inference.proto \\");
    expect(code.split("\n")[2]).toBe("  localhost:8080 nexon.grpc.inference.v1.InferenceService/Predict");
  });

  it("has no Predict body for dtypes Predict cannot carry", () => {
    expect(predictRequest("s.onnx", ["x"], "string")).toBeNull();
  });
});

describe("inferUrl", () => {
  const encoded = "http://h:8000/inference/infer/my%20model%3F%23.onnx";

  it("makes the name one percent-encoded path segment, whatever the server wrote", () => {
    expect(inferUrl("http://h:8000/inference/infer/my model?#.onnx", "my model?#.onnx")).toBe(encoded);
    expect(inferUrl(encoded, "my model?#.onnx")).toBe(encoded);
    expect(inferUrl("http://h:8000/inference/infer/a%2Fb.onnx", "a%2Fb.onnx")).toBe(
      "http://h:8000/inference/infer/a%252Fb.onnx",
    );
    expect(inferUrl("http://h:8000/inference/infer/..onnx", "..onnx")).toBe("http://h:8000/inference/infer/..onnx");
  });

  it("keeps a path prefix in front of the API (Envoy behind a route)", () => {
    expect(inferUrl("https://gw.example/nexon/inference/infer/x.onnx", "a b.onnx")).toBe(
      "https://gw.example/nexon/inference/infer/a%20b.onnx",
    );
    expect(inferUrl("https://gw.example/nexon/", "a.onnx")).toBe("https://gw.example/nexon/inference/infer/a.onnx");
  });

  it("gives snippets a URL curl and urllib accept as it is", () => {
    const url = inferUrl("http://h:8000/inference/infer/x", "it's my model?#.onnx");
    expect(url).toBe("http://h:8000/inference/infer/it's%20my%20model%3F%23.onnx");
    expect(curlSnippet(url, [1]).split("\n")[0]).toBe(
      `curl -sS -X POST 'http://h:8000/inference/infer/it'\\''s%20my%20model%3F%23.onnx' \\`,
    );
    expect(pythonSnippet(url, [1])).toContain(`    "http://h:8000/inference/infer/it's%20my%20model%3F%23.onnx",`);
    expect(new URL(url).pathname).toBe("/inference/infer/it's%20my%20model%3F%23.onnx");
  });
});
