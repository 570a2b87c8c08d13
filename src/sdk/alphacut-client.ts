import type {
  ApiErrorBody,
  Credits,
  Job,
  JobCreateRequest,
  JobList,
  JobStatus,
  ModelInfo,
  UploadResult,
  UsageSummary,
} from './api-types.ts';

/**
 * Typed client of the public /v1 API, shared by the CLI, the web UI and the tests. It uses only
 * what both browsers and Node 20 have (fetch, FormData, Blob), so it bundles into the UI as is.
 */

/** An error answer of the API (`{"error": {...}}`), or a transport failure as `network_error`. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly requestId: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    status: number,
    requestId?: string,
    details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.requestId = requestId;
    this.details = details;
  }
}

export interface UploadRequest {
  url: string;
  headers: Record<string, string>;
  body: FormData;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Sends a multipart upload. fetch cannot report upload progress, so the browser UI plugs in an
 * XMLHttpRequest-based one; the default (fetch) reports only completion.
 */
export type Uploader = (req: UploadRequest) => Promise<{ status: number; text: string }>;

export interface ClientOptions {
  /** Origin of the server (`http://localhost:8080`); '' for the page's own origin in a browser. */
  baseUrl?: string;
  apiKey: string;
  fetch?: typeof fetch;
  uploader?: Uploader;
}

function errorFrom(status: number, text: string, requestId: string | undefined): ApiError {
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody>;
    if (body.error?.code)
      return new ApiError(
        body.error.code,
        body.error.message,
        status,
        body.error.request_id ?? requestId,
        body.error.details,
      );
  } catch {
    // Not JSON (a proxy's error page): fall through to a generic error.
  }
  return new ApiError('http_error', `HTTP ${status}: ${text.slice(0, 200)}`, status, requestId);
}

export class AlphacutClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;
  readonly #uploader: Uploader;

  constructor(opts: ClientOptions) {
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    this.#apiKey = opts.apiKey;
    // Bound so that a browser's window.fetch is not called with the client as `this`.
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#uploader = opts.uploader ?? this.#fetchUpload;
  }

  #fetchUpload: Uploader = async (req) => {
    const res = await this.#fetch(req.url, {
      method: 'POST',
      headers: req.headers,
      body: req.body,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    return { status: res.status, text: await res.text() };
  };

  async #request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { 'x-api-key': this.#apiKey, ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new ApiError('network_error', `The server could not be reached: ${(err as Error).message}`, 0);
    }
    const text = await res.text();
    if (!res.ok) throw errorFrom(res.status, text, res.headers.get('x-request-id') ?? undefined);
    return JSON.parse(text) as T;
  }

  async models(): Promise<ModelInfo[]> {
    return (await this.#request<{ models: ModelInfo[] }>('GET', '/v1/models')).models;
  }

  credits(): Promise<Credits> {
    return this.#request<Credits>('GET', '/v1/credits');
  }

  usageSummary(days = 7): Promise<UsageSummary> {
    return this.#request<UsageSummary>('GET', `/v1/usage/summary?days=${days}`);
  }

  listJobs(opts: { limit?: number; offset?: number; status?: JobStatus } = {}): Promise<JobList> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    if (opts.status) q.set('status', opts.status);
    const qs = q.toString();
    return this.#request<JobList>('GET', `/v1/jobs${qs ? `?${qs}` : ''}`);
  }

  getJob(id: string): Promise<Job> {
    return this.#request<Job>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /** With an idempotency key a retried create (lost answer) returns the same job, charged once. */
  createJob(body: JobCreateRequest, opts: { idempotencyKey?: string } = {}): Promise<Job> {
    const headers: Record<string, string> = opts.idempotencyKey
      ? { 'idempotency-key': opts.idempotencyKey }
      : {};
    return this.#request<Job>('POST', '/v1/jobs', body, headers);
  }

  cancelJob(id: string): Promise<Job> {
    return this.#request<Job>('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`, {});
  }

  async upload(
    file: Blob,
    filename: string,
    opts: { onProgress?: (sent: number, total: number) => void; signal?: AbortSignal } = {},
  ): Promise<UploadResult> {
    const body = new FormData();
    body.append('file', file, filename);
    let res: { status: number; text: string };
    try {
      res = await this.#uploader({
        url: `${this.baseUrl}/v1/uploads`,
        headers: { 'x-api-key': this.#apiKey },
        body,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(
        'network_error',
        `The upload did not reach the server: ${(err as Error).message}`,
        0,
      );
    }
    if (res.status < 200 || res.status >= 300) throw errorFrom(res.status, res.text, undefined);
    return JSON.parse(res.text) as UploadResult;
  }
}
