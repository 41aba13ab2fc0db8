import { describe, expect, it } from "vitest";
import { errorMessage } from "./api";

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
