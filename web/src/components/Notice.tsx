import type { ReactNode } from "react";

/** A status line: errors are announced assertively, the rest politely. */
export function Notice({ kind, children, testId }: { kind: "error" | "ok" | "info"; children: ReactNode; testId?: string }) {
  return (
    <div className={`notice ${kind}`} role={kind === "error" ? "alert" : "status"} data-testid={testId}>
      {children}
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge ${status === "Deployed" ? "deployed" : "uploaded"}`}>{status}</span>;
}
