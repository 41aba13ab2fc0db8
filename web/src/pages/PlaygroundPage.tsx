import { useEffect, useMemo, useState } from "react";
import { api } from "../api";
import { Notice } from "../components/Notice";
import { sameModel } from "../lib/models";
import { compactJson, exampleInput, formatShape, preview, shapeOf } from "../lib/tensor";
import { href, navigate } from "../router";
import type { Json, ModelRecord } from "../types";

/** Characters of output shown before the view is cut (the download has everything). */
export const PREVIEW_CHARS = 20_000;

interface Result {
  value: Json;
  ms: number;
  json: string;
}

function initialText(model: ModelRecord | undefined): string {
  const first = model?.inputs[0];
  return first ? compactJson(exampleInput(first)) : "";
}

export function PlaygroundPage({ name }: { name: string | null }) {
  const [models, setModels] = useState<ModelRecord[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [text, setText] = useState("");
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.listDeployed().then(setModels, (exc: Error) => setLoadError(exc.message));
  }, []);

  const selected = useMemo(() => {
    if (!models || models.length === 0) return undefined;
    return models.find((m) => name !== null && sameModel(m.name, name)) ?? (name ? undefined : models[0]);
  }, [models, name]);

  useEffect(() => {
    setText(initialText(selected));
    setResult(null);
    setError(null);
  }, [selected]);

  const download = useMemo(() => {
    if (!result) return null;
    return URL.createObjectURL(new Blob([result.json], { type: "application/json" }));
  }, [result]);
  useEffect(() => () => void (download && URL.revokeObjectURL(download)), [download]);

  const run = async () => {
    if (!selected) return;
    let input: Json;
    try {
      input = JSON.parse(text) as Json;
    } catch (exc) {
      setResult(null);
      setError(`The input is not valid JSON: ${(exc as Error).message}`);
      return;
    }
    setRunning(true);
    setError(null);
    const started = performance.now();
    try {
      const reply = await api.infer(selected.name, input);
      const ms = performance.now() - started;
      const value = reply.results[0];
      setResult({ value, ms, json: JSON.stringify(value) });
    } catch (exc) {
      setResult(null);
      setError((exc as Error).message);
    } finally {
      setRunning(false);
    }
  };

  const view = result ? preview(result.value, PREVIEW_CHARS) : null;
  const first = selected?.inputs[0];
  const output = selected?.outputs[0];

  return (
    <section aria-labelledby="playground-title">
      <div className="page-head">
        <h1 id="playground-title">Playground</h1>
      </div>
      {loadError && <Notice kind="error">Could not load the deployed models: {loadError}</Notice>}
      {models && models.length === 0 && (
        <div className="empty">
          <p>
            No model is deployed. <a href={href({ page: "models" })}>Deploy one</a> from the models table, or{" "}
            <a href={href({ page: "upload" })}>upload</a> with “Deploy right away”.
          </p>
        </div>
      )}
      {models && models.length > 0 && (
        <div className="grid-2 playground">
          <form
            className="card"
            onSubmit={(event) => {
              event.preventDefault();
              void run();
            }}
          >
            <label className="field">
              <span>Model</span>
              <select
                value={selected?.name ?? ""}
                onChange={(event) => navigate({ page: "playground", name: event.target.value })}
              >
                {!selected && <option value="">Choose a deployed model</option>}
                {models.map((m) => (
                  <option key={m._id} value={m.name}>
                    {m.name} (v{m.version})
                  </option>
                ))}
              </select>
            </label>
            {name && !selected && <Notice kind="error">{name} is not deployed.</Notice>}
            {first && (
              <p className="muted small" data-testid="input-spec">
                Input <code>{first.name}</code>: {first.dtype} {formatShape(first.shape)}
                {selected && selected.inputs.length > 1 && ` (the REST API feeds the first of ${selected.inputs.length} inputs)`}
              </p>
            )}
            <label className="field">
              <span>Input (JSON)</span>
              <textarea
                className="editor"
                spellCheck={false}
                rows={12}
                value={text}
                aria-describedby="editor-hint"
                onChange={(event) => setText(event.target.value)}
                onKeyDown={(event) => {
                  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
                    event.preventDefault();
                    void run();
                  }
                }}
              />
              <span id="editor-hint" className="muted small">
                A nested list of the input’s shape. Ctrl+Enter runs it.
              </span>
            </label>
            <div className="form-actions">
              <button type="submit" className="button primary" disabled={!selected || running}>
                {running ? "Running…" : "Run"}
              </button>
              <button type="button" className="button" onClick={() => setText(initialText(selected))}>
                Reset input
              </button>
            </div>
          </form>

          <div className="card output" aria-live="polite">
            <h2>Output{output ? <code className="muted"> {output.name}</code> : null}</h2>
            {error && (
              <Notice kind="error" testId="infer-error">
                {error}
              </Notice>
            )}
            {result && view && (
              <>
                <dl className="facts inline">
                  <div>
                    <dt>Shape</dt>
                    <dd data-testid="output-shape">[{shapeOf(result.value).join(", ")}]</dd>
                  </div>
                  <div>
                    <dt>Round trip</dt>
                    <dd data-testid="output-ms">{result.ms.toFixed(1)} ms</dd>
                  </div>
                </dl>
                <pre className="result" data-testid="output" tabIndex={0}>
                  {view.text}
                  {view.truncated && "\n…"}
                </pre>
                {view.truncated && (
                  <Notice kind="info" testId="output-truncated">
                    Showing the first {PREVIEW_CHARS.toLocaleString("en")} of {view.fullLength.toLocaleString("en")}{" "}
                    characters.
                  </Notice>
                )}
                {download && (
                  <a className="button small" href={download} download={`${(selected?.name ?? "output").replace(/\.onnx$/, "")}-output.json`}>
                    Download full JSON
                  </a>
                )}
              </>
            )}
            {!result && !error && <p className="muted">Run the model to see its output here.</p>}
          </div>
        </div>
      )}
    </section>
  );
}
