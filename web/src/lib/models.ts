import type { ModelRecord, Status } from "../types";

export type StatusFilter = "all" | "deployed" | "uploaded";

const STATUS_OF: Record<Exclude<StatusFilter, "all">, Status> = { deployed: "Deployed", uploaded: "Uploaded" };

/** Records passing the status filter whose name or SHA-256 contains the query (case-insensitive). */
export function filterModels(records: ModelRecord[], filter: StatusFilter, query: string): ModelRecord[] {
  const needle = query.trim().toLowerCase();
  const status = filter === "all" ? null : STATUS_OF[filter];
  return records.filter(
    (r) =>
      (status === null || r.status === status) &&
      (needle === "" || r.name.toLowerCase().includes(needle) || r.sha256.startsWith(needle)),
  );
}

export function counts(records: ModelRecord[]): Record<StatusFilter, number> {
  let deployed = 0;
  for (const r of records) if (r.status === "Deployed") deployed++;
  return { all: records.length, deployed, uploaded: records.length - deployed };
}

/** Whether a route's name means this model: names may leave out ".onnx", as the server allows. */
export function sameModel(modelName: string, routeName: string): boolean {
  return modelName === routeName || modelName === `${routeName}.onnx`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let size = n / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size.toFixed(size < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Client-side check mirroring the server's: only *.onnx files (the server still decides). */
export function isOnnxFile(name: string): boolean {
  return name.toLowerCase().endsWith(".onnx") && name.length > ".onnx".length;
}
