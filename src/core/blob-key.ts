import { AlphacutError } from './errors.ts';

// Segments are plain names: no '.'/'..', no separators, no leading dot, nothing a shell, URL
// or S3 console would read differently. Keys are built by us, so rejecting is never user-facing.
const segment = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function isValidBlobKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((s) => segment.test(s) && s !== '.' && s !== '..');
}

export function assertBlobKey(key: string): void {
  if (!isValidBlobKey(key))
    throw new AlphacutError('invalid_request', `Invalid blob key: ${JSON.stringify(key)}`);
}

/** A prefix is a key or a key followed by '/'. */
export function assertBlobPrefix(prefix: string): void {
  assertBlobKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

/**
 * Every blob lives under its tenant's key id, so two tenants can never collide and deleting a
 * tenant is one prefix delete: `<keyId>/jobs/<jobId>/output.webm`, `<keyId>/uploads/<uplId>/input.mp4`.
 */
export function blobKey(keyId: string, ...parts: string[]): string {
  const key = [keyId, ...parts].join('/');
  assertBlobKey(key);
  return key;
}

export function jobBlobKey(keyId: string, jobId: string, name: string): string {
  return blobKey(keyId, 'jobs', jobId, name);
}

export function uploadBlobKey(keyId: string, uploadId: string, name: string): string {
  return blobKey(keyId, 'uploads', uploadId, name);
}

/** Blob folder of one render of one segment (the run id keeps a superseded render apart). */
export function segmentBlobPrefix(job: { keyId: string; id: string }, index: number, runId: string): string {
  return `${job.keyId}/jobs/${job.id}/segments/${index}/${runId}`;
}

/** Every segment intermediate of a split job: garbage once the job is joined or canceled. */
export function segmentsBlobFolder(job: { keyId: string; id: string }): string {
  return `${job.keyId}/jobs/${job.id}/segments/`;
}
