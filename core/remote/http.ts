/**
 * The one HTTP client of pvr, used by all Pantahub code (API calls and signed-URL
 * transfers): an injected `fetch` (and clock, sleep and randomness for tests), a
 * timeout per attempt and per body read, bounded retries with exponential backoff and
 * jitter that honour `Retry-After`, redirects followed by hand (GET and HEAD only, at
 * most 5, `Authorization` never sent to another origin), and error messages that never
 * carry a secret (see {@link redact}).
 *
 * The Go pvr (resty) has no timeout and no retry at all, and does not follow redirects
 * (spec pvr-reference §7.6, §13.6 item 49).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { VERSION } from "../version.ts";

/** The `User-Agent` of every request (Pantahub refuses logins and device POSTs without one). */
export const USER_AGENT = `pvr/${VERSION} (deno)`;

/** Statuses worth another attempt for every method (the request was not processed). */
const RETRY_ALWAYS = new Set([429, 502, 503, 504]);
/** Methods that may be repeated safely; a 500 is retried for these only. */
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses whose responses never have a body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  /** Waits `ms` (default a timer); resolves early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The clock in Unix ms, for `Retry-After` dates (default `Date.now`). */
  now?: () => number;
  /** A number in [0, 1) for the jitter (default `Math.random`). */
  random?: () => number;
  /** Time allowed for the answer's headers, and for each read of its body (default 30 s). */
  timeoutMs?: number;
  /** Attempts per request, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff before the second attempt; doubled each time (default 250 ms). */
  baseDelayMs?: number;
  /** Longest backoff (default 8 s). */
  maxDelayMs?: number;
  /** A longer `Retry-After` than this is not waited for: the answer is returned (default 60 s). */
  maxRetryAfterMs?: number;
  /** Redirects followed for GET and HEAD (default 5). */
  maxRedirects?: number;
  /** `User-Agent` header (default {@link USER_AGENT}). */
  userAgent?: string;
  /** Receives one line per request, answer and retry (`-d/--debug`); secrets redacted. */
  debug?: (line: string) => void;
}

/** One request. */
export interface HttpRequest {
  method: string;
  /** Absolute `http:` or `https:` URL. */
  url: string;
  headers?: HeadersInit;
  /**
   * The body. Bytes and strings are sent again on a retry; a function is called for
   * every attempt (to reopen a file, say); a stream cannot be replayed, so a request
   * with a stream body is attempted once.
   */
  body?: BodyInit | Uint8Array | null | (() => BodyInit | Uint8Array | null);
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
  /** `none`: a single attempt. Default `auto` (see {@link HttpClient.request}). */
  retry?: "auto" | "none";
  /** Whether the request may be repeated (default: by method, GET/HEAD/PUT/DELETE/OPTIONS). */
  idempotent?: boolean;
  /** Aborts the request (no retry after an abort). */
  signal?: AbortSignal;
  /**
   * Read the whole answer before returning it (API calls: small JSON). A body that
   * breaks off is then a transport error, retried like one for idempotent requests.
   */
  buffer?: boolean;
}

// A JWT (three base64url parts, the header starting `{"`), wherever it appears.
const JWT_RE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
const BEARER_RE = /\b(Bearer)\s+[^\s",;]+/gi;
const URL_RE = /\bhttps?:\/\/[^\s"'<>]+/g;
const SIGNED_SEGMENT = /^(?:eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/;

/**
 * A URL safe to show: credentials removed, the query string replaced by `?…` (signed
 * URLs and claim challenges carry secrets there), and secret path segments (the token
 * after `/s3/` or `/local-s3/`, anything shaped like a JWT) replaced by `[redacted]`.
 * Text that is not a URL is returned with everything after a `?` cut.
 *
 * @example
 * ```ts
 * redactUrl("https://u:p@hub/local-s3/eyJ.x.y?sig=1"); // "https://hub/local-s3/[redacted]?…"
 * ```
 */
export function redactUrl(u: string): string {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    return u.replace(/\?.*$/s, "?…");
  }
  const segments = url.pathname.split("/");
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1];
    if (
      (previous === "s3" || previous === "local-s3") && segments[i] !== "" ||
      SIGNED_SEGMENT.test(segments[i])
    ) {
      segments[i] = "[redacted]";
    }
  }
  const auth = url.username !== "" || url.password !== "";
  const origin = auth ? `${url.protocol}//${url.host}` : url.origin;
  return `${origin}${segments.join("/")}${url.search ? "?…" : ""}${url.hash}`;
}

/**
 * Text safe to show: every known secret replaced by `[redacted]`, every JWT-shaped
 * string and `Bearer` credential too, and every URL passed through
 * {@link redactUrl}.
 *
 * @example
 * ```ts
 * redact("GET https://hub/x?challenge=abc failed", ["s3cret"]); // "GET https://hub/x?… failed"
 * ```
 */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.replaceAll(s, "[redacted]");
  }
  return out
    .replace(URL_RE, (u) => redactUrl(u))
    .replace(JWT_RE, "[redacted]")
    .replace(BEARER_RE, (_m, scheme: string) => `${scheme} [redacted]`);
}

/** The proxy variables, in the order curl reads them. */
const PROXY_VARIABLES = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"] as const;

/** A variable of `env` as curl reads it: `NAME`, else `name`; an empty value is unset. */
export function envVar(env: Record<string, string | undefined>, name: string): string | undefined {
  const v = env[name] ?? env[name.toLowerCase()];
  return v === undefined || v === "" ? undefined : v;
}

/** True when `env` sets a proxy variable (`HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY`). */
export function proxyVariableSet(env: Record<string, string | undefined>): boolean {
  return PROXY_VARIABLES.some((name) => envVar(env, name));
}

/**
 * The proxy variables of this process that may be read (never prompts): the part of
 * the environment {@link proxyVariableSet} looks at.
 *
 * Needs `--allow-env` for the variables (unreadable ones count as unset).
 */
export function readableProxyEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of PROXY_VARIABLES) {
    for (const variable of [name, name.toLowerCase()]) {
      try {
        if (Deno.permissions.querySync({ name: "env", variable }).state === "granted") {
          env[variable] = Deno.env.get(variable);
        }
      } catch {
        // no access: as if unset
      }
    }
  }
  return env;
}

/** Waits `ms`, or less when `signal` aborts (it resolves then, never rejects). */
export function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message)
    ? `: ${err.cause.message}`
    : "";
  return err.message + cause;
}

/** True when a transport error is a TLS certificate check that failed. */
export function isCertificateError(text: string): boolean {
  return /certificate|UnknownIssuer|CaUsedAsEndEntity|self[- ]signed|NotValidForName/i.test(text);
}

/** A failure that must not be retried (the body of a non-idempotent request broke off). */
class NoRetry extends Error {
  constructor(cause: unknown) {
    super("not retried", { cause });
  }
}

/**
 * The delay a `Retry-After` header asks for, in ms (`undefined` when absent or bad).
 * Accepts delta-seconds and HTTP dates.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * Sends HTTP requests with timeouts, bounded retries and manual redirects. Never puts a
 * secret in an error: tokens registered with {@link HttpClient.addSecret}, JWTs, bearer
 * credentials and query strings are redacted.
 */
export class HttpClient {
  readonly #fetch: typeof fetch;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #maxRetryAfterMs: number;
  readonly #maxRedirects: number;
  readonly #userAgent: string;
  readonly #debug?: (line: string) => void;
  readonly #secrets = new Set<string>();

  constructor(opts: HttpClientOptions = {}) {
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#sleep = opts.sleep ?? timerSleep;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.#baseDelayMs = opts.baseDelayMs ?? 250;
    this.#maxDelayMs = opts.maxDelayMs ?? 8_000;
    this.#maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.#maxRedirects = opts.maxRedirects ?? 5;
    this.#userAgent = opts.userAgent ?? USER_AGENT;
    this.#debug = opts.debug;
  }

  /** Registers a secret (a token, a password) that must never appear in a message. */
  addSecret(secret: string): void {
    if (secret.length >= 4) this.#secrets.add(secret);
  }

  /** {@link redact} with the registered secrets. */
  redact(text: string): string {
    return redact(text, this.#secrets);
  }

  /**
   * Sends `req` and returns the final response (any status: the caller checks it).
   *
   * Retries (up to `maxAttempts` in all, with exponential backoff and jitter, or the
   * server's `Retry-After` when longer): transport errors and timeouts, 429, 502, 503
   * and 504 for every method, 500 for idempotent ones. When the attempts run out the
   * last response is returned, or, after a transport error, a `REMOTE` error thrown.
   *
   * GET and HEAD follow redirects (at most `maxRedirects`), dropping `Authorization`
   * and `Cookie` when the origin changes; other methods get the 3xx response.
   *
   * The returned body fails with a `REMOTE` error when a read waits longer than the
   * timeout.
   *
   * @throws {PvrError} `REMOTE` on transport failure, timeout or too many redirects
   */
  async request(req: HttpRequest): Promise<Response> {
    const method = req.method.toUpperCase();
    const follow = method === "GET" || method === "HEAD";
    let url = req.url;
    let headers = new Headers(req.headers);
    if (!headers.has("User-Agent")) headers.set("User-Agent", this.#userAgent);
    for (let hop = 0;; hop++) {
      const res = await this.#withRetries(req, method, url, headers);
      const location = res.headers.get("Location");
      if (!follow || !REDIRECTS.has(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => {});
      if (hop >= this.#maxRedirects) {
        throw new PvrError(
          "REMOTE",
          `${method} ${redactUrl(req.url)}: more than ${this.#maxRedirects} redirects`,
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new PvrError("REMOTE", `${method} ${redactUrl(url)}: bad redirect location`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new PvrError("REMOTE", `${method} ${redactUrl(url)}: redirect to ${next.protocol}`);
      }
      if (next.origin !== new URL(url).origin) {
        headers = new Headers(headers);
        headers.delete("Authorization");
        headers.delete("Cookie");
      }
      this.#debug?.(`  redirected to ${redactUrl(next.href)}`);
      url = next.href;
    }
  }

  async #withRetries(
    req: HttpRequest,
    method: string,
    url: string,
    headers: Headers,
  ): Promise<Response> {
    const replayable = !(req.body instanceof ReadableStream);
    const attempts = req.retry === "none" || !replayable ? 1 : this.#maxAttempts;
    const idempotent = req.idempotent ?? IDEMPOTENT.has(method);
    const shown = `${method} ${redactUrl(url)}`;
    for (let attempt = 1;; attempt++) {
      let res: Response;
      try {
        res = await this.#once(req, method, url, headers);
        if (req.buffer) res = await this.#buffered(res, idempotent);
      } catch (err) {
        if (req.signal?.aborted) {
          throw new PvrError("REMOTE", `${shown}: aborted`, { cause: err });
        }
        const noRetry = err instanceof NoRetry;
        const why = this.redact(errorText(noRetry ? err.cause : err));
        if (isCertificateError(why)) {
          // Trying again cannot help: the certificate stays what it is.
          throw new PvrError("REMOTE", `${shown}: ${why}`, {
            cause: err,
            hint: "pass -i/--insecure to skip certificate checks, for a server you trust",
          });
        }
        if (noRetry) {
          throw new PvrError(
            "REMOTE",
            `${shown}: ${why} (not repeated: the server may have acted)`,
            {
              cause: err.cause,
            },
          );
        }
        if (attempt >= attempts) {
          const tries = attempts > 1 ? ` (after ${attempts} attempts)` : "";
          throw new PvrError("REMOTE", `${shown}: ${why}${tries}`, { cause: err });
        }
        const wait = this.#backoff(attempt);
        this.#debug?.(`  ${shown}: ${why}; retrying in ${wait} ms`);
        await this.#sleep(wait, req.signal);
        continue;
      }
      const retryable = RETRY_ALWAYS.has(res.status) || (res.status === 500 && idempotent);
      if (!retryable || attempt >= attempts) return res;
      const asked = retryAfterMs(res.headers.get("Retry-After"), this.#now());
      if (asked !== undefined && asked > this.#maxRetryAfterMs) return res;
      const wait = Math.max(this.#backoff(attempt), asked ?? 0);
      await res.body?.cancel().catch(() => {});
      this.#debug?.(`  ${shown}: ${res.status}; retrying in ${wait} ms`);
      await this.#sleep(wait, req.signal);
      if (req.signal?.aborted) throw new PvrError("REMOTE", `${shown}: aborted`);
    }
  }

  /**
   * The response with its body read into memory. When the body breaks off, the error
   * is thrown for a retry, unless the request is not idempotent.
   */
  async #buffered(res: Response, idempotent: boolean): Promise<Response> {
    if (res.body === null) return res;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      if (!idempotent) {
        // A request that may not be repeated: the server may have acted on it.
        throw new NoRetry(err);
      }
      throw err;
    }
    const out = new Response(bytes, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperty(out, "url", { value: res.url });
    return out;
  }

  /** Exponential backoff with jitter: half fixed, half random. */
  #backoff(attempt: number): number {
    const full = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    return Math.round(full / 2 + this.#random() * full / 2);
  }

  async #once(
    req: HttpRequest,
    method: string,
    url: string,
    headers: Headers,
  ): Promise<Response> {
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    const shown = `${method} ${redactUrl(url)}`;
    const ac = new AbortController();
    const signal = req.signal ? AbortSignal.any([req.signal, ac.signal]) : ac.signal;
    const timeout = (what: string) =>
      new PvrError("REMOTE", `${shown}: no ${what} within ${timeoutMs / 1000} s`);
    const timer = setTimeout(() => ac.abort(timeout("answer")), timeoutMs);
    const body = (typeof req.body === "function" ? req.body() : req.body) as BodyInit | null;
    this.#debug?.(`> ${shown}`);
    const started = performance.now();
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, body, redirect: "manual", signal });
    } finally {
      clearTimeout(timer);
    }
    this.#debug?.(`< ${res.status} ${shown} (${Math.round(performance.now() - started)} ms)`);
    if (res.body === null || NULL_BODY.has(res.status)) return res;
    return this.#guardBody(res, ac, timeoutMs, shown, () => timeout("data"));
  }

  /**
   * Wraps the body so that each read has `timeoutMs` to deliver (the timer runs only
   * while somebody waits for data) and so that its errors are redacted `REMOTE` errors.
   */
  #guardBody(
    res: Response,
    ac: AbortController,
    timeoutMs: number,
    shown: string,
    timeoutError: () => PvrError,
  ): Response {
    const reader = res.body!.getReader();
    const stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const timer = setTimeout(() => ac.abort(timeoutError()), timeoutMs);
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(
            err instanceof PvrError ? err : new PvrError(
              "REMOTE",
              `${shown}: reading the answer failed: ${this.redact(errorText(err))}`,
              { cause: err },
            ),
          );
        } finally {
          clearTimeout(timer);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    const out = new Response(stream, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperty(out, "url", { value: res.url });
    return out;
  }
}
