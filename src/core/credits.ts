import type { ModelName } from './job-spec.ts';

/** Credits per minute of processed video (API.md, Models). */
export const creditsPerMinute: Record<ModelName, number> = {
  light: 45,
  human: 45,
  original: 60,
  pro: 180,
};

/**
 * Cost of a job: whole seconds (rounded up) at the model's per-minute rate, rounded up to a whole
 * credit. Integer arithmetic only, so a ledger never drifts by float error.
 */
export function creditsFor(model: ModelName, seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  const wholeSeconds = Math.ceil(seconds);
  return Math.ceil((wholeSeconds * creditsPerMinute[model]) / 60);
}

/**
 * Seconds of the source a render covers: from `range.start` to the end of the source, or
 * `range.duration` if shorter (use `renderRange(spec)` from job-spec.ts for the range).
 */
export function billableSeconds(sourceSeconds: number, range: { start: number; duration?: number }): number {
  const rest = Math.max(0, sourceSeconds - range.start);
  return range.duration === undefined ? rest : Math.min(rest, Math.max(0, range.duration));
}

export interface CreditBalance {
  /** Everything granted. */
  total: number;
  /** Charged for completed jobs. */
  used: number;
  /** Held by started jobs that have not settled yet. */
  reserved: number;
  /** total − used − reserved (may be shown as unlimited when the deployment says so). */
  remaining: number;
  unlimited: boolean;
}

export type LedgerKind = 'grant' | 'reserve' | 'charge' | 'release' | 'refund';

/**
 * One credit movement. `reserve` holds credits for a job; `charge` turns held credits into used
 * ones; `release` (rest after a charge) and `refund` (failure, cancel) give held credits back.
 */
export interface LedgerEntry {
  id: string;
  keyId: string;
  jobId: string | null;
  kind: LedgerKind;
  /** Always ≥ 0; the kind says which way it moves. */
  amount: number;
  note: string | null;
  createdAt: string;
}

/** Fold ledger rows into a balance; the SQL adapters compute the same sums in the database. */
export function balanceFrom(sums: Partial<Record<LedgerKind, number>>, unlimited: boolean): CreditBalance {
  const total = sums.grant ?? 0;
  const used = sums.charge ?? 0;
  const reserved = (sums.reserve ?? 0) - used - (sums.release ?? 0) - (sums.refund ?? 0);
  return { total, used, reserved, remaining: total - used - reserved, unlimited };
}
