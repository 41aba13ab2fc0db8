import type { Json } from "../types";
import { base64, grpcDataType, shapeOf, tensorBytes } from "./tensor";

/** A string as one POSIX shell word: single-quoted, with embedded quotes closed and escaped. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A JSON value as the Python literal that means the same (True/False/None, escaped strings). */
export function pythonLiteral(value: Json): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(", ")}]`;
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`);
  return `{${entries.join(", ")}}`;
}

const INFER_PATH = "/inference/infer/";

/**
 * The REST inference URL of a model at the server's endpoint: whatever the server wrote after
 * `/inference/infer/` (raw or percent-encoded), the name becomes one encoded path segment here.
 */
export function inferUrl(endpoint: string, name: string): string {
  const at = endpoint.lastIndexOf(INFER_PATH);
  const base = at < 0 ? endpoint.replace(/\/+$/, "") : endpoint.slice(0, at);
  return `${base}${INFER_PATH}${encodeURIComponent(name)}`;
}

export function curlSnippet(url: string, input: Json): string {
  return [
    `curl -sS -X POST ${shellQuote(url)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(JSON.stringify({ input }))}`,
  ].join("\n");
}

export function pythonSnippet(url: string, input: Json): string {
  return [
    "import json",
    "import urllib.request",
    "",
    "request = urllib.request.Request(",
    `    ${JSON.stringify(url)},`,
    `    data=json.dumps({"input": ${pythonLiteral(input)}}).encode(),`,
    '    headers={"Content-Type": "application/json"},',
    ")",
    "with urllib.request.urlopen(request) as response:",
    '    print(json.load(response)["results"][0])',
  ].join("\n");
}

/** The Predict request body (protobuf JSON mapping, as grpcurl -d takes it); null if the dtype can't travel. */
export function predictRequest(modelName: string, input: Json, dtype: string): Json | null {
  const code = grpcDataType(dtype);
  if (code === null) return null;
  return {
    model_name: modelName,
    input: { dims: shapeOf(input), data_type: code, tensor_content: base64(tensorBytes(input, dtype)) },
  };
}

export const PROTO_PATH = "protos/nexon_inference.proto";

export function grpcurlSnippet(target: string, method: string, body: Json): string {
  return [
    `grpcurl -plaintext -proto ${PROTO_PATH} \\`,
    `  -d ${shellQuote(JSON.stringify(body))} \\`,
    `  ${target} ${method}`,
  ].join("\n");
}
