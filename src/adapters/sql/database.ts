/**
 * Row shapes of the service database, shared by every SQL adapter. Column types are the ones
 * both SQLite and PostgreSQL return as the same JS values: text, integer, double precision.
 * Timestamps are ISO-8601 UTC text (`Date#toISOString`), which sorts correctly as text; JSON is
 * text; booleans are 0/1 integers. `bigint` columns may come back as strings (pg): read them
 * through Number().
 */
export interface ApiKeysTable {
  id: string;
  name: string | null;
  key_hash: string;
  fingerprint: string;
  webhook_secret: string;
  disabled: number;
  created_at: string;
}

export interface CreditLedgerTable {
  id: string;
  key_id: string;
  job_id: string | null;
  kind: string;
  amount: number;
  note: string | null;
  created_at: string;
}

export interface UploadsTable {
  id: string;
  key_id: string;
  blob_key: string;
  filename: string;
  size: number | string;
  probe: string | null;
  created_at: string;
}

export interface JobsTable {
  id: string;
  key_id: string;
  status: string;
  video_url: string;
  input_blob: string | null;
  background_blob: string | null;
  request: string;
  model: string;
  output_format: string;
  webhook_url: string | null;
  metadata: string | null;
  progress: number;
  frames_done: number;
  frames_total: number | null;
  eta_seconds: number | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  duration_seconds: number | null;
  output_blob: string | null;
  mask_blob: string | null;
  error: string | null;
  error_code: string | null;
  credits_reserved: number;
  credits_used: number;
  billing_status: string;
  attempt: number;
  worker_id: string | null;
  run_id: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string;
}

export interface JobTransitionsTable {
  id: string;
  job_id: string;
  from_status: string | null;
  to_status: string;
  attempt: number;
  reason: string | null;
  at: string;
}

export interface WebhookEventsTable {
  id: string;
  job_id: string;
  key_id: string;
  event: string;
  url: string;
  payload: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

export interface UsageEventsTable {
  id: string;
  key_id: string;
  kind: string;
  name: string;
  job_id: string | null;
  status_code: number | null;
  seconds: number | null;
  credits: number | null;
  created_at: string;
}

export interface IdempotencyKeysTable {
  key_id: string;
  idem_key: string;
  body_hash: string;
  state: string;
  response_status: number | null;
  response_body: string | null;
  created_at: string;
  updated_at: string;
}

/** The embedded queue's lease table (distributed mode uses BullMQ instead). */
export interface JobQueueTable {
  job_id: string;
  enqueued_at: string;
  available_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  claims: number;
}

/** Segments of a split job (see JobStore.createSegments). */
export interface JobSegmentsTable {
  job_id: string;
  idx: number;
  start_frame: number;
  end_frame: number;
  status: string;
  run_id: string | null;
  worker_id: string | null;
  frames_done: number;
  blob_prefix: string | null;
  claims: number;
  created_at: string;
  updated_at: string;
}

export interface Database {
  api_keys: ApiKeysTable;
  credit_ledger: CreditLedgerTable;
  uploads: UploadsTable;
  jobs: JobsTable;
  job_transitions: JobTransitionsTable;
  webhook_events: WebhookEventsTable;
  usage_events: UsageEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  job_queue: JobQueueTable;
  job_segments: JobSegmentsTable;
}
