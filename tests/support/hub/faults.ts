/**
 * Programmable misbehaviour of the stand-in Pantahub: rules that match requests and
 * apply actions before the handler runs (delay, expire a token or a signed URL, answer
 * an error status, choose Range handling) or to the response it produced (cut the body
 * and drop the connection, flip or truncate bytes, stall the body).
 *
 * @example
 * ```ts
 * hub.faults.add({
 *   method: "GET",
 *   path: /^\/local-s3\//,
 *   times: 1,
 *   action: { kind: "drop-mid-body", afterBytes: 1000 },
 * });
 * ```
 *
 * @module
 */

import type { RangeMode } from "./router.ts";

/** One thing a fault does. */
export type FaultAction =
  /**
   * Sends the status line, headers and the first `afterBytes` bytes of the body, then
   * closes the connection (the declared `Content-Length` is never reached).
   */
  | { kind: "drop-mid-body"; afterBytes: number }
  /**
   * Answers `status` at once without running the handler, with a shape-1 JSON error
   * body (or `body`), an optional `Retry-After`, and `WWW-Authenticate` on a 401.
   */
  | { kind: "status"; status: number; retryAfter?: number | string; body?: unknown }
  /**
   * Waits `ms` real milliseconds: before the handler runs (`where: "before"`, the
   * default) or after the headers, before the first body byte (`where: "body"`).
   */
  | { kind: "delay"; ms: number; where?: "before" | "body" }
  /** Expires the request's bearer token from now on (so this request gets a 401). */
  | { kind: "expire-token" }
  /** Expires the request's signed blob URL from now on (so this request gets a 403). */
  | { kind: "expire-signed-url" }
  /** XORs `count` (default 1) body bytes from `offset` (default 0) with 0xFF. */
  | { kind: "wrong-bytes"; mode: "flip"; offset?: number; count?: number }
  /**
   * Serves only the first `keep` bytes (default half) with a matching `Content-Length`:
   * a clean but short response.
   */
  | { kind: "wrong-bytes"; mode: "truncate"; keep?: number }
  /** Blob GETs honour `Range` with a 206, or ignore it and answer 200 with everything. */
  | { kind: "range"; mode: RangeMode };

/** A fault rule: which requests it matches and what it does to them. */
export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Exact pathname, or a pattern tested against the pathname (any when absent). */
  path?: string | RegExp;
  /** Extra predicate on the request. */
  match?: (req: Request, url: URL) => boolean;
  /** Let this many matching requests through untouched first (default 0). */
  skip?: number;
  /** How many requests the rule applies to (default unlimited). */
  times?: number;
  /** The action, or several applied in order. */
  action: FaultAction | readonly FaultAction[];
}

/** A registered rule with its counters. */
export interface FaultHandle {
  readonly rule: FaultRule;
  /** Requests the rule has been applied to. */
  readonly hits: number;
  /** Applications left (`Infinity` when unlimited). */
  readonly remaining: number;
  /** Unregisters the rule. */
  remove(): void;
}

class Handle implements FaultHandle {
  readonly rule: FaultRule;
  hits = 0;
  seen = 0;
  readonly #owner: Faults;

  constructor(rule: FaultRule, owner: Faults) {
    this.rule = rule;
    this.#owner = owner;
  }

  get remaining(): number {
    return Math.max(0, (this.rule.times ?? Infinity) - this.hits);
  }

  remove(): void {
    this.#owner.remove(this);
  }
}

/** The fault rules of one hub. */
export class Faults {
  #rules: Handle[] = [];

  /** Registers a rule; returns its handle. */
  add(rule: FaultRule): FaultHandle {
    const h = new Handle(rule, this);
    this.#rules.push(h);
    return h;
  }

  /** Unregisters a rule. */
  remove(handle: FaultHandle): void {
    this.#rules = this.#rules.filter((h) => h !== handle);
  }

  /** Unregisters every rule. */
  clear(): void {
    this.#rules = [];
  }

  /** The registered rules, in order. */
  get rules(): readonly FaultHandle[] {
    return [...this.#rules];
  }

  /**
   * The actions for a request, from every matching rule in registration order; counts
   * the hit. Rules used up are dropped.
   */
  take(req: Request, url: URL): FaultAction[] {
    const out: FaultAction[] = [];
    for (const h of this.#rules) {
      const r = h.rule;
      if (r.method !== undefined && r.method.toUpperCase() !== req.method) continue;
      if (typeof r.path === "string" && r.path !== url.pathname) continue;
      if (r.path instanceof RegExp) {
        r.path.lastIndex = 0;
        if (!r.path.test(url.pathname)) continue;
      }
      if (r.match !== undefined && !r.match(req, url)) continue;
      if (h.remaining <= 0) continue;
      h.seen++;
      if (h.seen <= (r.skip ?? 0)) continue;
      h.hits++;
      out.push(...(Array.isArray(r.action) ? r.action : [r.action as FaultAction]));
    }
    this.#rules = this.#rules.filter((h) => h.remaining > 0);
    return out;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Reads a whole response body (small JSON answers) to learn its length. */
async function bodyBytes(resp: Response): Promise<Uint8Array> {
  return resp.body === null ? new Uint8Array() : new Uint8Array(await resp.arrayBuffer());
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      if (bytes.length > 0) c.enqueue(bytes);
      c.close();
    },
  });
}

/** A body transform: chunks in, chunks out, given the running offset. */
type ChunkFn = (chunk: Uint8Array, offset: number) => { out?: Uint8Array; stop?: boolean };

function transform(
  body: ReadableStream<Uint8Array>,
  fn: ChunkFn,
  before?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let offset = 0;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (!started) {
        started = true;
        if (before !== undefined) await before();
      }
      const { done, value } = await reader.read();
      if (done) {
        ctrl.close();
        return;
      }
      const r = fn(value, offset);
      offset += value.length;
      if (r.out !== undefined && r.out.length > 0) ctrl.enqueue(r.out);
      if (r.stop) {
        await reader.cancel().catch(() => {});
        ctrl.close();
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });
}

/**
 * Applies the response-side actions (`drop-mid-body`, `wrong-bytes`, `delay` with
 * `where: "body"`) to a response.
 */
export async function applyResponseFaults(
  resp: Response,
  actions: readonly FaultAction[],
  signal: AbortSignal,
): Promise<Response> {
  for (const a of actions) {
    const headers = new Headers(resp.headers);
    const declared = headers.get("Content-Length");
    let length = declared === null ? undefined : Number(declared);
    let body: ReadableStream<Uint8Array> | null = resp.body;
    const needLength = a.kind === "drop-mid-body" ||
      (a.kind === "wrong-bytes" && a.mode === "truncate");
    if (needLength && length === undefined) {
      const bytes = await bodyBytes(resp);
      length = bytes.length;
      body = streamOf(bytes);
    }
    const src = body ?? streamOf(new Uint8Array());
    if (a.kind === "drop-mid-body") {
      // Declaring more than is sent makes the server close the connection mid-body.
      const cut = Math.max(0, a.afterBytes);
      headers.set("Content-Length", String(Math.max(length ?? 0, cut + 1)));
      const stream = transform(src, (chunk, off) => {
        const left = cut - off;
        return left >= chunk.length ? { out: chunk } : { out: chunk.subarray(0, left), stop: true };
      });
      resp = new Response(cut === 0 ? emptyThenClose() : stream, {
        status: resp.status,
        headers,
      });
      if (cut === 0) await src.cancel().catch(() => {});
    } else if (a.kind === "wrong-bytes" && a.mode === "truncate") {
      const keep = Math.min(length ?? 0, a.keep ?? Math.floor((length ?? 0) / 2));
      headers.set("Content-Length", String(keep));
      const stream = transform(src, (chunk, off) => {
        const left = keep - off;
        return left >= chunk.length ? { out: chunk } : { out: chunk.subarray(0, left), stop: true };
      });
      resp = new Response(stream, { status: resp.status, headers });
    } else if (a.kind === "wrong-bytes") {
      const from = a.offset ?? 0;
      const to = from + (a.count ?? 1);
      const stream = transform(src, (chunk, off) => {
        if (off + chunk.length <= from || off >= to) return { out: chunk };
        const copy = chunk.slice();
        for (let i = Math.max(from, off); i < Math.min(to, off + chunk.length); i++) {
          copy[i - off] ^= 0xff;
        }
        return { out: copy };
      });
      resp = new Response(stream, { status: resp.status, headers });
    } else if (a.kind === "delay" && a.where === "body") {
      const stream = transform(src, (chunk) => ({ out: chunk }), () => sleep(a.ms, signal));
      resp = new Response(stream, { status: resp.status, headers });
    }
  }
  return resp;
}

function emptyThenClose(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.close();
    },
  });
}
