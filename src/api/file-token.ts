import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed, expiring tokens for `GET /v1/files/{token}`: the link works without the API key so it
 * can be handed to end users, yet cannot be forged or extended. The token names the blob and the
 * file name to serve it as; it is `<base64url payload>.<base64url HMAC>`.
 */
export interface FileTokenPayload {
  /** Blob key. */
  b: string;
  /** Download file name. */
  n: string;
  /** Content-Type. */
  t: string;
  /** Expiry, Unix seconds. */
  e: number;
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`file.${payload}`).digest('base64url');
}

export function signFileToken(secret: string, payload: FileTokenPayload): string {
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${p}.${mac(secret, p)}`;
}

/** The payload, or null when the token is malformed, forged or expired. */
export function verifyFileToken(secret: string, token: string, nowSeconds: number): FileTokenPayload | null {
  const [p, sig, extra] = token.split('.');
  if (!p || !sig || extra !== undefined) return null;
  const expected = Buffer.from(mac(secret, p));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  let payload: FileTokenPayload;
  try {
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as FileTokenPayload;
  } catch {
    return null;
  }
  if (typeof payload.b !== 'string' || typeof payload.e !== 'number' || payload.e < nowSeconds) return null;
  return payload;
}
