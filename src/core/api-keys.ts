import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomBase62(length: number): string {
  let s = '';
  // randomInt draws without modulo bias, which a byte % 62 would have.
  for (let i = 0; i < length; i++) s += base62[randomInt(62)];
  return s;
}

/** `ak_` + 32 base62 characters (≈190 bits), shown to its owner once. */
export function generateApiKey(): string {
  return `ak_${randomBase62(32)}`;
}

export function isApiKeyFormat(s: string): boolean {
  return /^ak_[0-9A-Za-z]{32}$/.test(s);
}

/**
 * What the store keeps instead of the key. Keys are random and long, so a fast hash is enough
 * (no password-stretching); an optional pepper from config means a leaked database alone cannot
 * even confirm a guessed key.
 */
export function hashApiKey(key: string, pepper?: string): string {
  return pepper
    ? createHmac('sha256', pepper).update(key).digest('hex')
    : createHash('sha256').update(key).digest('hex');
}

/** A recognisable but useless-to-an-attacker label for lists and logs: `ak_…Wx7q`. */
export function apiKeyFingerprint(key: string): string {
  return `ak_…${key.slice(-4)}`;
}

/** Row id of a key (never the key itself). */
export function newApiKeyId(): string {
  return `key_${uuidv7()}`;
}

/** Secret for signing webhooks (HMAC-SHA256); the Standard Webhooks `whsec_` + base64 shape. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}
