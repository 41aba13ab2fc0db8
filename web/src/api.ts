import type { Json, ModelDetail, ModelRecord, UploadReply } from "./types";

/** A refusal from the server (its `detail`, verbatim) or a failure to reach it. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The server's reason from an error body: `detail` when it is JSON, else the text itself. */
export function errorMessage(status: number, statusText: string, body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && "detail" in parsed) {
      const detail = (parsed as { detail: unknown }).detail;
      return typeof detail === "string" ? detail : JSON.stringify(detail);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  const text = body.trim();
  return text ? `${status} ${statusText}: ${text}` : `${status} ${statusText}`.trim();
}

async function request<T>(method: string, path: string, body?: Json): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new ApiError(`cannot reach the server: ${(exc as Error).message}`, 0);
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(errorMessage(response.status, response.statusText, text), response.status);
  return JSON.parse(text) as T;
}

const seg = encodeURIComponent;

export const api = {
  listModels: () => request<ModelRecord[]>("GET", "/allModels"),
  listDeployed: () => request<ModelRecord[]>("GET", "/deployedModels"),
  model: (name: string, version?: number) =>
    request<ModelDetail>("GET", `/models/${seg(name)}${version === undefined ? "" : `?version=${version}`}`),
  deploy: (record: ModelRecord) =>
    request<UploadReply>("POST", "/deployment/deploy-model/", { model_name: record.name, model_id: record._id }),
  undeploy: (record: ModelRecord) =>
    request<{ message: string }>("PUT", `/deployment/undeploy/${seg(record.name)}`, {
      model_name: record.name,
      model_version: record.version,
    }),
  remove: (record: ModelRecord) =>
    request<{ message: string }>("DELETE", `/deleteModel/${seg(record.name)}/${record.version}`),
  infer: (name: string, input: Json, dtype?: string) =>
    request<{ results: Json[] }>("POST", `/inference/infer/${seg(name)}`, dtype ? { input, dtype } : { input }),
};

export interface UploadHandle {
  promise: Promise<UploadReply>;
  abort: () => void;
}

/**
 * Upload a file as multipart field `file`, reporting real upload progress (XMLHttpRequest's
 * upload events; fetch has none). With `deploy` it goes to /deployment/deploy-file/.
 */
export function uploadModel(
  file: File,
  deploy: boolean,
  onProgress: (sent: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const promise = new Promise<UploadReply>((resolve, reject) => {
    xhr.open("POST", deploy ? "/deployment/deploy-file/" : "/upload/");
    // The request body is the file plus a little multipart framing: report it as bytes of the file.
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(Math.round((event.loaded / event.total) * file.size), file.size);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(file.size, file.size);
        resolve(JSON.parse(xhr.responseText) as UploadReply);
      } else {
        reject(new ApiError(errorMessage(xhr.status, xhr.statusText, xhr.responseText), xhr.status));
      }
    };
    xhr.onerror = () => reject(new ApiError("cannot reach the server: the upload was interrupted", 0));
    xhr.onabort = () => reject(new ApiError("upload cancelled", 0));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
  return { promise, abort: () => xhr.abort() };
}
