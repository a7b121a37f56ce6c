// The gateway's API v1 as the page uses it: a small fetch wrapper and the shapes it reads.
// Sessions travel in an httpOnly cookie, so no token is ever held by this code.

/** Mirrors FILE_STATUSES in packages/common/src/db/schema.ts, in lifecycle order. */
export const FILE_STATUSES = ['detected', 'uploading', 'stored', 'queued', 'processing', 'done', 'failed'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

export type Role = 'viewer' | 'operator' | 'admin';
const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** True when `has` may do what needs `needs`. */
export function roleAllows(has: Role | undefined, needs: Role): boolean {
  return has !== undefined && ROLES.indexOf(has) >= ROLES.indexOf(needs);
}

export interface Session {
  name: string;
  role: Role;
}

export interface FileItem {
  id: string;
  instrument: string;
  path: string;
  kind?: 'file' | 'folder';
  size: number;
  sha256: string;
  status: FileStatus;
  failedStep: string | null;
  error: string | null;
  zone: string | null;
  key: string | null;
  detectedAt: string;
  storedAt: string | null;
  updatedAt: string;
  traceId: string | null;
}

export interface TimelineEntry {
  event: string;
  status: FileStatus | null;
  at: string;
  instance?: string | null;
  traceId?: string | null;
  details?: Record<string, unknown>;
  /** Milliseconds since the previous entry: how long that step took; null on the first. */
  sincePreviousMs?: number | null;
}

export interface JobItem {
  id: string;
  fileId?: string;
  pipeline: string;
  status: 'queued' | 'processing' | 'done' | 'failed';
  attempt: number;
  exitCode: number | null;
  error: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  [extra: string]: unknown;
}

/** One member of a folder acquisition. */
export interface ManifestEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface FileDetail extends FileItem {
  timeline: TimelineEntry[];
  jobs: JobItem[];
  /** The members of a folder acquisition, sorted by path; null for a plain file. */
  manifest?: ManifestEntry[] | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** One rejected parameter of a 400 answer. */
interface Issue {
  param?: string;
  path?: string;
  message: string;
}

/** An error answer of the API (or a network failure, with status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when any request (other than the session's own) answers 401: the session is gone. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  body?: unknown;
  signal?: AbortSignal;
}

/** Calls `/api/v1` + `path` and returns its JSON; throws {@link ApiError} on any failure. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  // Browsers cannot send custom headers across origins without a preflight, so this
  // header proves a same-origin caller to the gateway's CSRF check.
  if (method !== 'GET') headers['X-Ferry-Request'] = '1';
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? null : JSON.stringify(options.body),
      signal: options.signal ?? null,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'cannot reach the gateway; check the connection and try again');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const e = (body ?? {}) as { error?: string; message?: string; issues?: Issue[] };
    const message = e.message ?? (text.trim().slice(0, 200) || `${res.status} ${res.statusText}`);
    if (res.status === 401 && !path.startsWith('/session')) for (const l of unauthorizedListeners) l();
    throw new ApiError(res.status, e.error ?? 'http_error', message, Array.isArray(e.issues) ? e.issues : []);
  }
  return body as T;
}

/** A query string from the non-empty values of `params`, with its leading `?` (or ''). */
export function queryString(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The message to show a person for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
