import { offlineAnswer, report } from "./offline.js";

/** A problem the server reported (its message is for the reader) or a failed request. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes received by JSON calls (the bench reads it). */
export const traffic = { bytes: 0 };

export async function getJson<T>(path: string): Promise<T> {
  const r = report();
  if (r) {
    try {
      return offlineAnswer(r, path) as T;
    } catch (e) {
      throw new ApiError(404, (e as Error).message);
    }
  }
  let res: Response;
  try {
    res = await fetch(path, { credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "the dashboard server cannot be reached (was it stopped?)");
  }
  const text = await res.text();
  traffic.bytes += text.length;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(res.status, text.slice(0, 300) || `HTTP ${res.status}`);
  }
  if (!res.ok) throw new ApiError(res.status, (body as { error?: string }).error ?? `HTTP ${res.status}`);
  return body as T;
}

export const enc = encodeURIComponent;
export const expPath = (name: string) => `/api/experiments/${enc(name)}`;
