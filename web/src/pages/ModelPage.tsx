import { useEffect, useMemo, useState } from "react";
import { api } from "../api";
import { CopyBlock } from "../components/CopyBlock";
import { Notice, StatusBadge } from "../components/Notice";
import { formatBytes } from "../lib/models";
import { curlSnippet, grpcurlSnippet, inferUrl, predictRequest, PROTO_PATH, pythonSnippet } from "../lib/snippets";
import { exampleInput, formatShape, isDynamic } from "../lib/tensor";
import { href } from "../router";
import type { Dim, ModelDetail, TensorSpec } from "../types";

function ShapeView({ shape }: { shape: Dim[] | null }) {
  if (shape === null) return <span className="muted">any</span>;
  if (shape.length === 0) return <span>scalar</span>;
  return (
    <span className="shape" aria-label={`shape ${formatShape(shape)}`}>
      [
      {shape.map((dim, i) => (
        <span key={i}>
          {i > 0 && ", "}
          {isDynamic(dim) ? (
            <span className="dim-dynamic" title="dynamic dimension: any size">
              {dim === null ? "?" : dim}
            </span>
          ) : (
            dim
          )}
        </span>
      ))}
      ]
    </span>
  );
}

function SpecTable({ title, specs }: { title: string; specs: TensorSpec[] }) {
  return (
    <div className="table-wrap">
      <table className="specs">
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Shape</th>
          </tr>
        </thead>
        <tbody>
          {specs.map((spec) => (
            <tr key={spec.name} data-testid={`spec-${title.toLowerCase()}`}>
              <td data-label="Name">
                <code>{spec.name}</code>
              </td>
              <td data-label="Type">{spec.dtype}</td>
              <td data-label="Shape">
                <span>
                  <ShapeView shape={spec.shape} />
                  {spec.shape?.some(isDynamic) && (
                    <>
                      {" "}
                      <span className="badge dynamic">dynamic</span>
                    </>
                  )}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type Via = "envoy" | "direct";

export function ModelPage({ name, version }: { name: string; version: number | null }) {
  const [model, setModel] = useState<ModelDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [via, setVia] = useState<Via>("envoy");

  useEffect(() => {
    let live = true;
    setModel(null);
    setError(null);
    api.model(name, version ?? undefined).then(
      (detail) => live && setModel(detail),
      (exc: Error) => live && setError(exc.message),
    );
    return () => {
      live = false;
    };
  }, [name, version]);

  const snippets = useMemo(() => {
    if (!model) return null;
    const first = model.inputs[0];
    const input = first ? exampleInput(first) : [];
    const rest = inferUrl(via === "envoy" ? model.endpoints.rest_envoy : model.endpoints.rest_direct, model.name);
    const target = via === "envoy" ? model.endpoints.grpc_envoy : model.endpoints.grpc_direct;
    const body = first ? predictRequest(model.name, input, first.dtype) : null;
    return {
      curl: curlSnippet(rest, input),
      python: pythonSnippet(rest, input),
      grpcurl: body ? grpcurlSnippet(target, model.endpoints.grpc_service, body) : null,
    };
  }, [model, via]);

  if (error) {
    return (
      <section className="narrow">
        <p>
          <a href={href({ page: "models" })}>← Models</a>
        </p>
        <Notice kind="error" testId="model-error">
          {error}
        </Notice>
      </section>
    );
  }
  if (!model || !snippets) return <p className="muted">Loading…</p>;

  const e = model.endpoints;
  return (
    <section aria-labelledby="model-title">
      <p className="crumbs">
        <a href={href({ page: "models" })}>← Models</a>
      </p>
      <div className="page-head">
        <h1 id="model-title">
          {model.name} <span className="muted">v{model.version}</span>
        </h1>
        <StatusBadge status={model.status} />
        {model.status === "Deployed" && (
          <a className="button primary" href={href({ page: "playground", name: model.name })}>
            Open in playground
          </a>
        )}
      </div>

      <dl className="facts card">
        <div>
          <dt>File</dt>
          <dd>{model.name}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>
            {model.size} <span className="muted">({formatBytes(model.size_bytes)})</span>
          </dd>
        </div>
        <div>
          <dt>Uploaded</dt>
          <dd>{model.upload}</dd>
        </div>
        <div>
          <dt>Deployed</dt>
          <dd>{model.deploy || "—"}</dd>
        </div>
        <div className="wide">
          <dt>SHA-256</dt>
          <dd>
            <code className="break">{model.sha256}</code>
          </dd>
        </div>
      </dl>

      <h2>Signature</h2>
      <div className="grid-2">
        <SpecTable title="Inputs" specs={model.inputs} />
        <SpecTable title="Outputs" specs={model.outputs} />
      </div>
      <p className="muted small">
        <span className="dim-dynamic">N</span> marks a dynamic dimension: any size is accepted there.
        The REST endpoint feeds the first input and returns the first output.
      </p>

      <h2>Endpoints</h2>
      <div className="table-wrap">
        <table className="endpoints" data-testid="endpoints">
          <tbody>
            <tr>
              <th scope="row">REST via Envoy</th>
              <td>
                <code className="break">POST {inferUrl(e.rest_envoy, model.name)}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">REST direct</th>
              <td>
                <code className="break">POST {inferUrl(e.rest_direct, model.name)}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">gRPC via Envoy</th>
              <td>
                <code>{e.grpc_envoy}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">gRPC direct</th>
              <td>
                <code>{e.grpc_direct}</code>
              </td>
            </tr>
            <tr>
              <th scope="row">gRPC method</th>
              <td>
                <code className="break">{e.grpc_service}</code>
              </td>
            </tr>
          </tbody>
        </table>
      </div>

      <div className="snippets-head">
        <h2>Try it</h2>
        <div className="segmented" role="radiogroup" aria-label="Connect">
          {(["envoy", "direct"] as Via[]).map((v) => (
            <label key={v} className={via === v ? "active" : ""}>
              <input type="radio" name="via" value={v} checked={via === v} onChange={() => setVia(v)} />
              {v === "envoy" ? "Via Envoy" : "Direct"}
            </label>
          ))}
        </div>
      </div>
      {model.status !== "Deployed" && (
        <Notice kind="info">
          This version is not deployed: the endpoints answer once a version of {model.name} is deployed, and always
          serve the deployed version.
        </Notice>
      )}
      <CopyBlock label="curl" code={snippets.curl} testId="snippet-curl" />
      {snippets.grpcurl ? (
        <CopyBlock label={`grpcurl (run from the repository root, for ${PROTO_PATH})`} code={snippets.grpcurl} testId="snippet-grpcurl" />
      ) : (
        <Notice kind="info">Predict over gRPC carries float32, float64, int32, int64 and bool inputs only.</Notice>
      )}
      <CopyBlock label="Python (standard library)" code={snippets.python} testId="snippet-python" />
    </section>
  );
}
