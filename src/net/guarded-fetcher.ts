import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlphacutError, type ErrorCode } from '../core/errors.ts';
import type { SsrfPolicy } from './ssrf-policy.ts';

/**
 * Outbound HTTP on behalf of callers (remote inputs, background media, webhooks). Every
 * connection goes through a `lookup` that resolves the name and refuses it unless EVERY address is
 * allowed by the SsrfPolicy, so DNS rebinding between check and connect is impossible: the check
 * is the connect. Redirects are followed by hand so each hop is checked the same way.
 */
export interface FetchLimits {
  maxBytes: number;
  /** Whole exchange, redirects included. */
  timeoutMs: number;
  /** No byte received (or connect pending) for this long. */
  idleTimeoutMs: number;
  maxRedirects: number;
}

export const defaultFetchLimits: FetchLimits = {
  maxBytes: 500 * 1024 * 1024,
  timeoutMs: 10 * 60_000,
  idleTimeoutMs: 30_000,
  maxRedirects: 5,
};

export interface FetchOptions {
  /** Names the request field in error messages ("video_url", "webhook_url"). */
  label?: string;
  limits?: Partial<FetchLimits>;
  signal?: AbortSignal;
}

export interface DownloadResult {
  bytes: number;
  contentType: string | undefined;
  finalUrl: string;
  /** A file name suggested by Content-Disposition or the last path segment, if any. */
  filename: string | undefined;
}

export interface SendResult {
  status: number;
  finalUrl: string;
}

type FailureReason =
  | 'bad_url'
  | 'address_not_allowed'
  | 'dns'
  | 'connect_failed'
  | 'http_status'
  | 'too_many_redirects'
  | 'too_large'
  | 'empty'
  | 'timeout';

const reasonCodes: Record<FailureReason, ErrorCode> = {
  bad_url: 'invalid_request',
  address_not_allowed: 'invalid_request',
  dns: 'invalid_request',
  connect_failed: 'invalid_request',
  http_status: 'invalid_request',
  too_many_redirects: 'invalid_request',
  too_large: 'payload_too_large',
  empty: 'unsupported_media',
  timeout: 'timeout',
};

/** Internal marker carried through socket errors so the cause survives Node's error wrapping. */
class FetchFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** The URL as it may appear in messages: no credentials, bounded length. */
export function displayUrl(raw: string): string {
  let s = raw;
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    s = u.toString();
  } catch {
    // Not a URL: shown as given (bounded below).
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

function parseHttpUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new FetchFailure('bad_url', 'is not a valid URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new FetchFailure(
      'bad_url',
      `uses ${u.protocol.replace(':', '')}; only http and https URLs are fetched`,
    );
  return u;
}

function filenameFrom(headers: IncomingHttpHeaders, url: URL): string | undefined {
  const cd = headers['content-disposition'];
  const m = cd ? /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd) : null;
  if (m?.[1]) {
    try {
      return decodeURIComponent(m[1]);
    } catch {
      return m[1];
    }
  }
  const last = url.pathname.split('/').pop();
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

export class GuardedFetcher {
  readonly #policy: SsrfPolicy;
  readonly #defaults: FetchLimits;

  constructor(policy: SsrfPolicy, defaults: Partial<FetchLimits> = {}) {
    this.#policy = policy;
    this.#defaults = { ...defaultFetchLimits, ...defaults };
  }

  get policy(): SsrfPolicy {
    return this.#policy;
  }

  /** GET `url` into `destPath` (removed again on failure). */
  async download(url: string, destPath: string, options: FetchOptions = {}): Promise<DownloadResult> {
    try {
      return await this.stream(url, (body) => pipeline(body, createWriteStream(destPath)), options);
    } catch (err) {
      await rm(destPath, { force: true });
      throw err;
    }
  }

  /**
   * GET `url` and hand its body to `consume` (which must read it to the end or fail), under the
   * same guard and limits as download: the body errors once it passes maxBytes, and the whole
   * exchange, consume included, is bounded by timeoutMs. `meta` is known before the first byte
   * (a consumer can name what it stores after it). An empty body is refused after `consume`
   * resolved: whatever it stored is then the caller's to delete, as on any failure.
   */
  async stream<T>(
    url: string,
    consume: (body: Readable, meta: Omit<DownloadResult, 'bytes'>) => Promise<T>,
    options: FetchOptions = {},
  ): Promise<DownloadResult & { result: T }> {
    const limits = { ...this.#defaults, ...options.limits };
    const label = options.label ?? 'url';
    try {
      return await this.#withDeadline(limits, options.signal, async (signal, fail) => {
        const { res, finalUrl } = await this.#follow(url, 'GET', {}, undefined, limits, signal, fail, true);
        if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
          res.resume();
          throw new FetchFailure('http_status', `the server answered HTTP ${res.statusCode ?? '?'}`);
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > limits.maxBytes) {
          res.destroy();
          throw tooLarge(limits.maxBytes);
        }
        let bytes = 0;
        let bodyFailure: FetchFailure | undefined;
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += chunk.length;
            if (bytes > limits.maxBytes) cb((bodyFailure = tooLarge(limits.maxBytes)));
            else cb(null, chunk);
          },
        });
        // Not stream.pipeline: the consumer owns the readable end; errors and aborts reach it here.
        res.on('error', (e) => counter.destroy(e));
        const onAbort = (): void => {
          res.destroy();
          counter.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        res.pipe(counter);
        const meta = {
          contentType: res.headers['content-type'],
          finalUrl: finalUrl.toString(),
          filename: filenameFrom(res.headers, finalUrl),
        };
        let result: T;
        try {
          result = await consume(counter, meta);
        } catch (err) {
          res.destroy();
          throw bodyFailure ?? err;
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        if (bodyFailure) throw bodyFailure;
        if (bytes === 0) throw new FetchFailure('empty', 'the server sent an empty body');
        return { ...meta, bytes, result };
      });
    } catch (err) {
      throw toAlphacutError(err, label, url);
    }
  }

  /**
   * One request with a body (webhooks). Redirects are not followed: a receiver must answer
   * itself, and re-posting a signed body elsewhere would surprise it. The answer body is read
   * and dropped (at most maxBytes).
   */
  async send(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: Buffer },
    options: FetchOptions = {},
  ): Promise<SendResult> {
    const limits = { ...this.#defaults, ...options.limits };
    const label = options.label ?? 'url';
    try {
      return await this.#withDeadline(limits, options.signal, async (signal, fail) => {
        const { res, finalUrl } = await this.#follow(
          url,
          init.method ?? 'POST',
          init.headers ?? {},
          init.body,
          limits,
          signal,
          fail,
          false,
        );
        let bytes = 0;
        for await (const chunk of res) {
          bytes += (chunk as Buffer).length;
          if (bytes > limits.maxBytes) {
            res.destroy();
            break;
          }
        }
        return { status: res.statusCode ?? 0, finalUrl: finalUrl.toString() };
      });
    } catch (err) {
      throw toAlphacutError(err, label, url);
    }
  }

  /** Runs `fn` under the total time limit; `fail` aborts everything with a specific reason. */
  async #withDeadline<T>(
    limits: FetchLimits,
    outer: AbortSignal | undefined,
    fn: (signal: AbortSignal, fail: (f: FetchFailure) => void) => Promise<T>,
  ): Promise<T> {
    const ac = new AbortController();
    let failure: FetchFailure | undefined;
    const fail = (f: FetchFailure): void => {
      failure ??= f;
      ac.abort(f);
    };
    const timer = setTimeout(
      () =>
        fail(new FetchFailure('timeout', `did not finish within ${Math.round(limits.timeoutMs / 1000)} s`)),
      limits.timeoutMs,
    );
    const onOuter = (): void => fail(new FetchFailure('timeout', 'the request was abandoned'));
    outer?.addEventListener('abort', onOuter, { once: true });
    try {
      return await fn(ac.signal, fail);
    } catch (err) {
      // Aborting surfaces as AbortError / ECONNRESET from deep inside; report why we aborted.
      throw failure ?? err;
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    }
  }

  async #follow(
    rawUrl: string,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    limits: FetchLimits,
    signal: AbortSignal,
    fail: (f: FetchFailure) => void,
    followRedirects: boolean,
  ): Promise<{ res: IncomingMessage; finalUrl: URL }> {
    let url = parseHttpUrl(rawUrl);
    for (let hop = 0; ; hop++) {
      const res = await this.#request(url, method, headers, body, limits, signal, fail);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!followRedirects || status < 300 || status > 399 || status === 304 || !location)
        return { res, finalUrl: url };
      res.resume();
      if (hop >= limits.maxRedirects)
        throw new FetchFailure('too_many_redirects', `more than ${limits.maxRedirects} redirects`);
      try {
        url = parseHttpUrl(new URL(location, url).toString());
      } catch (err) {
        if (err instanceof FetchFailure)
          throw new FetchFailure(err.reason, `redirects to a URL that ${err.message}`);
        throw err;
      }
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
      }
    }
  }

  #request(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    limits: FetchLimits,
    signal: AbortSignal,
    fail: (f: FetchFailure) => void,
  ): Promise<IncomingMessage> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // Node skips `lookup` for IP literals, so those are checked here.
    if (isIP(host) && !this.#policy.isAllowedAddress(host)) return Promise.reject(refused());
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, {
        method,
        headers: {
          'user-agent': 'alphacut',
          ...headers,
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
        lookup: this.#lookup(),
        // A fresh connection per request: a pooled socket would skip the address check.
        agent: false,
        signal,
      });
      req.setTimeout(limits.idleTimeoutMs, () =>
        fail(
          new FetchFailure(
            'timeout',
            `stalled: nothing received for ${Math.round(limits.idleTimeoutMs / 1000)} s`,
          ),
        ),
      );
      req.once('response', (res) => {
        // The idle timeout keeps covering the body: it is on the socket, which stays ours.
        resolve(res);
      });
      req.once('error', (err) => reject(err));
      req.end(body);
    });
  }

  #lookup(): LookupFunction {
    const policy = this.#policy;
    return (hostname: string, options: LookupOptions, callback) => {
      dnsLookup(
        hostname,
        { all: true, family: options.family ?? 0, hints: options.hints ?? 0 },
        (err, addresses) => {
          if (err) {
            callback(
              new FetchFailure('dns', `its host name could not be resolved (${err.code ?? 'error'})`),
              '',
            );
            return;
          }
          const list = addresses as LookupAddress[];
          const trusted = policy.hostAllowListed(hostname);
          if (list.length === 0 || (!trusted && list.some((a) => !policy.isAllowedAddress(a.address)))) {
            callback(refused(), '');
            return;
          }
          if (options.all) callback(null, list);
          else {
            const first = list[0] as LookupAddress;
            callback(null, first.address, first.family);
          }
        },
      );
    };
  }
}

function refused(): FetchFailure {
  return new FetchFailure(
    'address_not_allowed',
    'points to a private, loopback, link-local or otherwise internal address, which this server does not connect to',
  );
}

function tooLarge(maxBytes: number): FetchFailure {
  return new FetchFailure('too_large', `is larger than the limit of ${maxBytes} bytes`);
}

function toAlphacutError(err: unknown, label: string, url: string): AlphacutError {
  if (err instanceof AlphacutError) return err;
  let f: FetchFailure | undefined;
  if (err instanceof FetchFailure) f = err;
  else if (err instanceof Error && err.cause instanceof FetchFailure) f = err.cause;
  if (!f) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    f = new FetchFailure(
      'connect_failed',
      `could not be fetched (${code ?? (err as Error)?.message ?? 'error'})`,
    );
  }
  const message = `${label} ${displayUrl(url)}: ${f.message}.`;
  return new AlphacutError(reasonCodes[f.reason], message, {
    reason: f.reason,
    fields: [{ field: label, message: f.message }],
  });
}
