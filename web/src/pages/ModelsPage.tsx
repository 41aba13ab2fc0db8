import { memo, useCallback, useDeferredValue, useEffect, useMemo, useState } from "react";
import { api, ApiError } from "../api";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { Notice, StatusBadge } from "../components/Notice";
import { counts, filterModels, type StatusFilter } from "../lib/models";
import { href } from "../router";
import type { ModelRecord } from "../types";

export const PAGE_SIZE = 100;

type Action = "deploy" | "undeploy" | "delete";

interface Pending {
  action: Action;
  record: ModelRecord;
}

const FILTERS: StatusFilter[] = ["all", "deployed", "uploaded"];

const Row = memo(function Row({
  record,
  busy,
  onAction,
}: {
  record: ModelRecord;
  busy: boolean;
  onAction: (action: Action, record: ModelRecord) => void;
}) {
  const label = `${record.name} v${record.version}`;
  return (
    <tr data-testid="model-row" data-name={record.name} data-version={record.version} data-status={record.status}>
      <td data-label="Name">
        <a href={href({ page: "model", name: record.name, version: record.version })}>{record.name}</a>
      </td>
      <td data-label="Version" className="num">
        {record.version}
      </td>
      <td data-label="Status">
        <StatusBadge status={record.status} />
      </td>
      <td data-label="Size" className="num">
        {record.size}
      </td>
      <td data-label="Uploaded">{record.upload}</td>
      <td data-label="Deployed">{record.deploy || "—"}</td>
      <td data-label="SHA-256">
        <code title={record.sha256}>{record.sha256.slice(0, 12)}</code>
      </td>
      <td data-label="Actions" className="actions">
        {record.status === "Deployed" ? (
          <>
            <a className="button small" href={href({ page: "playground", name: record.name })}>
              Try
            </a>
            <button
              type="button"
              className="button small"
              disabled={busy}
              aria-label={`Undeploy ${label}`}
              onClick={() => onAction("undeploy", record)}
            >
              Undeploy
            </button>
          </>
        ) : (
          <button
            type="button"
            className="button small primary"
            disabled={busy}
            aria-label={`Deploy ${label}`}
            onClick={() => onAction("deploy", record)}
          >
            Deploy
          </button>
        )}
        <button
          type="button"
          className="button small danger"
          disabled={busy}
          aria-label={`Delete ${label}`}
          onClick={() => onAction("delete", record)}
        >
          Delete
        </button>
      </td>
    </tr>
  );
});

export function ModelsPage() {
  const [records, setRecords] = useState<ModelRecord[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [filter, setFilter] = useState<StatusFilter>("all");
  const [query, setQuery] = useState("");
  const [page, setPage] = useState(0);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [result, setResult] = useState<{ kind: "ok" | "error"; text: string } | null>(null);
  const deferredQuery = useDeferredValue(query);

  const load = useCallback(async () => {
    try {
      setRecords(await api.listModels());
      setLoadError(null);
    } catch (exc) {
      setLoadError((exc as Error).message);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const visible = useMemo(
    () => filterModels(records ?? [], filter, deferredQuery),
    [records, filter, deferredQuery],
  );
  const totals = useMemo(() => counts(records ?? []), [records]);
  const pages = Math.max(1, Math.ceil(visible.length / PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = visible.slice(current * PAGE_SIZE, (current + 1) * PAGE_SIZE);

  const run = useCallback(
    async (action: Action, record: ModelRecord) => {
      setBusyId(record._id);
      setResult(null);
      try {
        const reply =
          action === "deploy"
            ? await api.deploy(record)
            : action === "undeploy"
              ? await api.undeploy(record)
              : await api.remove(record);
        setResult({ kind: "ok", text: reply.message });
      } catch (exc) {
        setResult({ kind: "error", text: exc instanceof ApiError ? exc.message : String(exc) });
      } finally {
        setBusyId(null);
        await load();
      }
    },
    [load],
  );

  const onAction = useCallback(
    (action: Action, record: ModelRecord) => {
      if (action === "deploy") void run(action, record);
      else setPending({ action, record });
    },
    [run],
  );

  return (
    <section aria-labelledby="models-title">
      <div className="page-head">
        <h1 id="models-title">Models</h1>
        <a className="button primary" href={href({ page: "upload" })}>
          Upload a model
        </a>
      </div>

      <div className="toolbar">
        <div className="segmented" role="radiogroup" aria-label="Show">
          {FILTERS.map((f) => (
            <label key={f} className={filter === f ? "active" : ""}>
              <input
                type="radio"
                name="status-filter"
                value={f}
                checked={filter === f}
                onChange={() => {
                  setFilter(f);
                  setPage(0);
                }}
              />
              {f[0].toUpperCase() + f.slice(1)} <span className="count">{totals[f]}</span>
            </label>
          ))}
        </div>
        <label className="search">
          <span className="visually-hidden">Search models</span>
          <input
            type="search"
            placeholder="Search by name or SHA-256"
            value={query}
            onChange={(event) => {
              setQuery(event.target.value);
              setPage(0);
            }}
          />
        </label>
      </div>

      {result && (
        <Notice kind={result.kind} testId="action-result">
          {result.text}
        </Notice>
      )}
      {loadError && (
        <Notice kind="error" testId="load-error">
          Could not load the models: {loadError}
        </Notice>
      )}

      {records === null && !loadError ? (
        <p className="muted">Loading…</p>
      ) : visible.length === 0 ? (
        <div className="empty">
          {records && records.length === 0 ? (
            <p>
              No models yet. <a href={href({ page: "upload" })}>Upload one</a> to get started.
            </p>
          ) : (
            <p>No model matches this filter.</p>
          )}
        </div>
      ) : (
        <>
          <div className="table-wrap">
            <table className="models" data-testid="models-table">
              <caption className="visually-hidden">Models and their versions</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col" className="num">
                    Version
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Size
                  </th>
                  <th scope="col">Uploaded</th>
                  <th scope="col">Deployed</th>
                  <th scope="col">SHA-256</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((record) => (
                  <Row key={record._id} record={record} busy={busyId === record._id} onAction={onAction} />
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <span data-testid="showing">
              {current * PAGE_SIZE + 1}–{current * PAGE_SIZE + shown.length} of {visible.length}
            </span>
            {pages > 1 && (
              <span className="pager-buttons">
                <button type="button" className="button small" disabled={current === 0} onClick={() => setPage(current - 1)}>
                  Previous
                </button>
                <span>
                  Page {current + 1} of {pages}
                </span>
                <button
                  type="button"
                  className="button small"
                  disabled={current >= pages - 1}
                  onClick={() => setPage(current + 1)}
                >
                  Next
                </button>
              </span>
            )}
          </nav>
        </>
      )}

      {pending && (
        <ConfirmDialog
          title={pending.action === "delete" ? "Delete this version?" : "Undeploy this version?"}
          message={
            pending.action === "delete"
              ? `${pending.record.name} version ${pending.record.version} will be removed from the store. This cannot be undone.`
              : `${pending.record.name} version ${pending.record.version} will stop serving inference requests.`
          }
          confirmLabel={pending.action === "delete" ? "Delete" : "Undeploy"}
          danger={pending.action === "delete"}
          onCancel={() => setPending(null)}
          onConfirm={() => {
            const { action, record } = pending;
            setPending(null);
            void run(action, record);
          }}
        />
      )}
    </section>
  );
}
