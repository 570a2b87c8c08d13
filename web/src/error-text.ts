import { ApiError } from '../../src/sdk/alphacut-client.ts';

/** What each API error code means for the person at the screen (API.md error catalogue). */
const plainWords: Record<string, string> = {
  missing_api_key: 'An API key is needed',
  invalid_api_key: 'This API key is not valid (or was disabled)',
  invalid_request: 'Something in the request is not accepted',
  insufficient_credits: 'Not enough credits for this job',
  not_found: 'Not found',
  job_not_startable: 'This job cannot be started in its current state',
  idempotency_conflict: 'A different request was already sent with the same idempotency key',
  payload_too_large: 'The file is too large',
  unsupported_media: 'The file is not a video the server can read',
  alpha_not_supported: 'This output format cannot be transparent; pick a background or another format',
  text_prompt_unsupported: 'Text prompts work only with the pro model',
  input_too_long: 'The video is too long',
  rate_limited: 'Too many requests right now; wait a moment and try again',
  internal_error: 'The server hit an internal error',
  timeout: 'The server took too long',
  decode_failed: 'The video could not be decoded',
  network_error: 'The server could not be reached',
  canceled: 'The job was canceled',
};

export interface ShownError {
  title: string;
  code: string;
  message: string;
  requestId?: string;
}

export function describeError(err: unknown): ShownError {
  if (err instanceof ApiError)
    return {
      title: plainWords[err.code] ?? 'The request failed',
      code: err.code,
      message: err.message,
      ...(err.requestId ? { requestId: err.requestId } : {}),
    };
  const message = err instanceof Error ? err.message : String(err);
  return { title: 'Something went wrong in the page', code: 'client_error', message };
}

/** A failed job carries `error` and `error_code` instead of an HTTP error. */
export function describeJobFailure(code: string | null, message: string | null): ShownError {
  const c = code ?? 'internal_error';
  return { title: plainWords[c] ?? 'The job failed', code: c, message: message ?? '' };
}
