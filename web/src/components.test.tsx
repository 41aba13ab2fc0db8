import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { ModelPage } from "./pages/ModelPage";
import { ModelsPage } from "./pages/ModelsPage";
import { UploadPage } from "./pages/UploadPage";
import type { ModelDetail, ModelRecord } from "./types";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function record(name: string, status: ModelRecord["status"] = "Deployed"): ModelRecord {
  return {
    _id: `id-${name}`,
    file_id: "f",
    name,
    upload: "01/01/2026",
    deploy: status === "Deployed" ? "01/01/2026" : "",
    version: 1,
    size: "1.00 KB",
    size_bytes: 1024,
    status,
    sha256: "ab".repeat(32),
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 3] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 3] }],
  };
}

/** A fetch that answers each path from a table, as the server would, and records what was asked. */
function serve(routes: Record<string, unknown>): string[] {
  const asked: string[] = [];
  vi.stubGlobal("fetch", async (path: RequestInfo | URL) => {
    asked.push(String(path));
    const body = routes[String(path)];
    return body === undefined
      ? new Response('{"detail": "not found"}', { status: 404 })
      : new Response(JSON.stringify(body), { status: 200 });
  });
  return asked;
}

const ODD = ["..onnx", "my model?#.onnx", "a%2Fb.onnx"];

describe("model names", () => {
  it("are shown verbatim in the models table, linked by encoded routes", async () => {
    serve({ "/allModels": ODD.map((n) => record(n)) });
    render(<ModelsPage />);
    for (const name of ODD) {
      const link = await screen.findByRole("link", { name });
      expect(link.getAttribute("href")).toBe(`#/models/${encodeURIComponent(name)}/1`);
      expect(screen.getByRole("button", { name: `Undeploy ${name} v1` })).toBeTruthy();
    }
    expect(screen.getByRole("link", { name: "..onnx" }).textContent).toBe("..onnx");
  });

  it("are encoded in the model page's API call, endpoints and snippets", async () => {
    const name = "my model?#.onnx";
    const raw = `http://10.0.0.1:8000/inference/infer/${name}`; // what an older server writes
    const detail: ModelDetail = {
      ...record(name),
      endpoints: {
        rest_envoy: "http://gw:8080/inference/infer/my%20model%3F%23.onnx",
        rest_direct: raw,
        grpc_envoy: "gw:8080",
        grpc_direct: "10.0.0.1:50051",
        grpc_service: "nexon.grpc.inference.v1.InferenceService/Predict",
      },
    };
    const asked = serve({ "/models/my%20model%3F%23.onnx?version=1": detail });
    render(<ModelPage name={name} version={1} />);
    const title = await screen.findByRole("heading", { level: 1 });
    expect(title.textContent).toBe(`${name} v1`);
    expect(asked).toEqual(["/models/my%20model%3F%23.onnx?version=1"]);
    const endpoints = screen.getByTestId("endpoints").textContent ?? "";
    expect(endpoints).toContain("POST http://gw:8080/inference/infer/my%20model%3F%23.onnx");
    expect(endpoints).toContain("POST http://10.0.0.1:8000/inference/infer/my%20model%3F%23.onnx");
    expect(endpoints).not.toContain(raw);
    const curl = screen.getByTestId("snippet-curl").textContent ?? "";
    expect(curl).toContain("curl -sS -X POST 'http://gw:8080/inference/infer/my%20model%3F%23.onnx'");
    fireEvent.click(screen.getByRole("radio", { name: "Direct" }));
    expect(screen.getByTestId("snippet-python").textContent).toContain(
      '"http://10.0.0.1:8000/inference/infer/my%20model%3F%23.onnx"',
    );
    expect(screen.getByRole("link", { name: "Open in playground" }).getAttribute("href")).toBe(
      "#/playground/my%20model%3F%23.onnx",
    );
  });
});

describe("UploadPage", () => {
  it("refuses a file that is not .onnx before sending anything", () => {
    render(<UploadPage />);
    const picker = screen.getByLabelText(/Drop an \.onnx file here/);
    fireEvent.change(picker, { target: { files: [new File(["x"], "notes.txt")] } });
    expect(screen.getByRole("alert").textContent).toBe("Only .onnx files can be uploaded; notes.txt is not one.");
    expect(screen.getByRole("button", { name: "Upload" })).toHaveProperty("disabled", true);
  });

  it("takes an .onnx file and offers to deploy it right away", () => {
    render(<UploadPage />);
    const picker = screen.getByLabelText(/Drop an \.onnx file here/);
    fireEvent.change(picker, { target: { files: [new File([new Uint8Array(2048)], "model.onnx")] } });
    expect(screen.getByText("model.onnx")).toBeTruthy();
    expect(screen.getByText("2.0 KB")).toBeTruthy();
    fireEvent.click(screen.getByLabelText("Deploy right away"));
    expect(screen.getByRole("button", { name: "Upload and deploy" })).toHaveProperty("disabled", false);
  });
});

describe("ConfirmDialog", () => {
  it("is labelled by its title, focuses Cancel first, and reports the choice", () => {
    const calls: string[] = [];
    render(
      <ConfirmDialog
        title="Delete this version?"
        message="m.onnx version 1 will be removed"
        confirmLabel="Delete"
        danger
        onConfirm={() => calls.push("confirm")}
        onCancel={() => calls.push("cancel")}
      />,
    );
    const dialog = screen.getByRole("dialog", { hidden: true });
    expect(dialog.getAttribute("aria-labelledby")).toBe("confirm-title");
    expect(document.getElementById("confirm-title")?.textContent).toBe("Delete this version?");
    expect(document.activeElement?.textContent).toBe("Cancel");
    act(() => fireEvent.click(screen.getByRole("button", { name: "Delete", hidden: true })));
    act(() => fireEvent(dialog, new Event("cancel")));
    expect(calls).toEqual(["confirm", "cancel"]);
  });
});
