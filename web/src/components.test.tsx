import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { UploadPage } from "./pages/UploadPage";

afterEach(cleanup);

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
