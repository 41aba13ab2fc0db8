/** A dimension: a fixed size, a symbolic name (dynamic), or null (unknown, dynamic). */
export type Dim = number | string | null;

export interface TensorSpec {
  name: string;
  dtype: string;
  shape: Dim[] | null;
}

export type Status = "Uploaded" | "Deployed";

/** A model record as GET /allModels returns it. */
export interface ModelRecord {
  _id: string;
  file_id: string;
  name: string;
  upload: string;
  deploy: string;
  version: number;
  size: string;
  size_bytes: number;
  status: Status;
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface Endpoints {
  rest_envoy: string;
  rest_direct: string;
  grpc_envoy: string;
  grpc_direct: string;
  grpc_service: string;
}

/** GET /models/{name}?version=N */
export interface ModelDetail extends ModelRecord {
  endpoints: Endpoints;
}

export interface UploadReply {
  message: string;
  model_id: string;
  version?: number;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
