/**
 * Queue entry ids. A plain job id is a whole job; a split job adds one entry per segment and one
 * for the join, all through the same queue and leases. '.' because BullMQ refuses ':' in ids,
 * and job ids (`job_<uuid>`) never contain one.
 */
export type QueueEntry =
  | { kind: 'job'; jobId: string }
  | { kind: 'segment'; jobId: string; index: number }
  | { kind: 'join'; jobId: string };

export function segmentEntry(jobId: string, index: number): string {
  return `${jobId}.seg${index}`;
}

export function joinEntry(jobId: string): string {
  return `${jobId}.join`;
}

export function parseEntry(id: string): QueueEntry {
  const m = /^(.+)\.(?:seg(\d+)|(join))$/.exec(id);
  if (!m || m[1] === undefined) return { kind: 'job', jobId: id };
  if (m[3] === 'join') return { kind: 'join', jobId: m[1] };
  return { kind: 'segment', jobId: m[1], index: Number(m[2]) };
}
