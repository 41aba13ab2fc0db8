import { useRef, useState, type DragEvent } from "react";
import { uploadModel, type UploadHandle } from "../api";
import { Notice } from "../components/Notice";
import { formatBytes, isOnnxFile } from "../lib/models";
import { href } from "../router";
import type { ModelRecord } from "../types";

interface Done {
  message: string;
  name: string;
  version: number | null;
  deployed: boolean;
}

export function UploadPage() {
  const [file, setFile] = useState<File | null>(null);
  const [deploy, setDeploy] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const handle = useRef<UploadHandle | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const [uploading, setUploading] = useState(false);

  const choose = (chosen: File | null | undefined) => {
    setDone(null);
    setProgress(null);
    if (!chosen) return;
    if (!isOnnxFile(chosen.name)) {
      setFile(null);
      setError(`Only .onnx files can be uploaded; ${chosen.name} is not one.`);
      return;
    }
    setError(null);
    setFile(chosen);
  };

  const onDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    setDragging(false);
    if (!uploading) choose(event.dataTransfer.files[0]);
  };

  const start = async () => {
    if (!file) return;
    setError(null);
    setDone(null);
    setProgress({ sent: 0, total: file.size });
    const current = uploadModel(file, deploy, (sent, total) => setProgress({ sent, total }));
    handle.current = current;
    setUploading(true);
    try {
      const reply = await current.promise;
      const model = (reply as { model?: ModelRecord }).model;
      setDone({
        message: reply.message,
        name: model?.name ?? file.name,
        version: model?.version ?? reply.version ?? null,
        deployed: deploy,
      });
      setFile(null);
      if (input.current) input.current.value = "";
    } catch (exc) {
      setError((exc as Error).message);
      setProgress(null);
    } finally {
      handle.current = null;
      setUploading(false);
    }
  };

  const percent = progress && progress.total > 0 ? Math.floor((progress.sent / progress.total) * 100) : 0;

  return (
    <section aria-labelledby="upload-title" className="narrow">
      <div className="page-head">
        <h1 id="upload-title">Upload a model</h1>
      </div>

      <form
        className="card"
        onSubmit={(event) => {
          event.preventDefault();
          void start();
        }}
      >
        <label
          className={`dropzone${dragging ? " dragging" : ""}`}
          data-testid="dropzone"
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <input
            ref={input}
            type="file"
            accept=".onnx"
            className="file-input"
            aria-describedby="dropzone-hint"
            disabled={uploading}
            onChange={(event) => choose(event.target.files?.[0])}
          />
          <span className="dropzone-title">{file ? file.name : "Drop an .onnx file here"}</span>
          <span id="dropzone-hint" className="muted">
            {file ? formatBytes(file.size) : "or press to choose one from your computer"}
          </span>
        </label>

        <label className="checkbox">
          <input type="checkbox" checked={deploy} disabled={uploading} onChange={(e) => setDeploy(e.target.checked)} />
          Deploy right away
        </label>

        {progress && (
          <div className="progress" data-testid="progress">
            <progress max={100} value={percent} aria-label="Upload progress" />
            <span className="muted">
              {percent}% · {formatBytes(progress.sent)} of {formatBytes(progress.total)}
              {uploading && percent === 100 ? " · checking the model…" : ""}
            </span>
          </div>
        )}

        <div className="form-actions">
          <button type="submit" className="button primary" disabled={!file || uploading}>
            {deploy ? "Upload and deploy" : "Upload"}
          </button>
          {uploading && (
            <button type="button" className="button" onClick={() => handle.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      </form>

      {error && (
        <Notice kind="error" testId="upload-error">
          {error}
        </Notice>
      )}
      {done && (
        <Notice kind="ok" testId="upload-done">
          {done.message}.{" "}
          <a href={href({ page: "model", name: done.name, version: done.version })}>View the model</a>
          {done.deployed && (
            <>
              {" · "}
              <a href={href({ page: "playground", name: done.name })}>Try it in the playground</a>
            </>
          )}
        </Notice>
      )}
    </section>
  );
}
