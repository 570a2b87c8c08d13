/**
 * The error catalog shared by the CLI, the pipeline and (later) the HTTP API. Codes and statuses
 * are the promise made in API.md; pipeline-only codes (decode_failed, ...) appear in a failed
 * job's `error_code` and map to a CLI exit code.
 */
export const errorCatalog = {
  missing_api_key: 401,
  invalid_api_key: 401,
  invalid_request: 400,
  insufficient_credits: 402,
  not_found: 404,
  job_not_startable: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media: 422,
  alpha_not_supported: 422,
  text_prompt_unsupported: 422,
  input_too_long: 422,
  rate_limited: 429,
  internal_error: 500,
  timeout: 504,
  // Pipeline codes: stored on failed jobs; HTTP status only matters if one ever reaches a route.
  decode_failed: 422,
  encode_failed: 500,
  model_unavailable: 503,
  canceled: 499,
} as const;

export type ErrorCode = keyof typeof errorCatalog;

export class AlphacutError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AlphacutError';
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return errorCatalog[this.code];
  }
}

export function isAlphacutError(err: unknown): err is AlphacutError {
  return err instanceof AlphacutError;
}
