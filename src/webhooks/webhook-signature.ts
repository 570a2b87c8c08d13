import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The two signature schemes every webhook carries (API.md, Webhooks):
 * - the hosted service's: `X-Webhook-Signature: sha256=<hex HMAC-SHA256("<ts>.<body>")>`, keyed
 *   with the secret string exactly as shown to the user (that is what its receivers were written
 *   against: they HMAC with the string they were given);
 * - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256("<id>.<ts>.<body>")>`, keyed
 *   with the base64-decoded bytes after `whsec_`, so the spec's own verifier libraries work.
 * Timestamps are integer Unix seconds in both.
 */
export interface WebhookSignInput {
  deliveryId: string;
  event: string;
  /** Unix seconds. */
  timestamp: number;
  body: string;
  secret: string;
}

/** The Standard Webhooks key: base64 after `whsec_`; any other string is used as UTF-8 bytes. */
export function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export function legacySignature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function standardSignature(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export function webhookHeaders(input: WebhookSignInput): Record<string, string> {
  const ts = String(input.timestamp);
  return {
    'content-type': 'application/json',
    'x-webhook-event': input.event,
    'x-webhook-delivery-id': input.deliveryId,
    'x-webhook-timestamp': ts,
    'x-webhook-signature': legacySignature(input.secret, input.timestamp, input.body),
    'webhook-id': input.deliveryId,
    'webhook-timestamp': ts,
    'webhook-signature': standardSignature(input.secret, input.deliveryId, input.timestamp, input.body),
  };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Receiver-side check of the Standard Webhooks headers (for SDK users and our tests): any of the
 * space-separated `v1,` signatures matches and the timestamp is within `toleranceSeconds`.
 */
export function verifyStandardWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = standardSignature(secret, headers.id, ts, body);
  return headers.signature.split(' ').some((s) => safeEqual(s, expected));
}
