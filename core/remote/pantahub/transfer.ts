/**
 * What object downloads and uploads share: the options of a transfer, the retry policy
 * with exponential backoff, a bounded worker pool that stops at the first failure, the
 * classification of HTTP answers, and the signed-URL PUT (a file streamed with an
 * explicit `Content-Length`, which Deno's `fetch` cannot send for a streamed body).
 *
 * Signed URLs carry their authorisation in the URL (a token in the path or the query):
 * they are never printed, logged or put into error messages — errors name the object.
 *
 * @module
 */

import { proxyVariableSet, readableProxyEnv, retryAfterMs } from "../http.ts";
import { loadNodeNet } from "../node_net.ts";
import { concatBytes } from "../../bytes.ts";
import { rawBlobFetch } from "../raw_get.ts";
import { rawBlobPutter } from "../raw_put.ts";
import { PvrError } from "../../errors.ts";
import { VERSION } from "../../version.ts";
import { NULL_TRANSFER_REPORTER, type TransferReporter } from "../progress.ts";
import { replyText, serverMessage } from "./reply.ts";

export { serverMessage };

/** How often and how patiently a failed request is tried again. */
export interface RetryPolicy {
  /** Tries of one request in a row that may fail without progress (default 5). */
  attempts: number;
  /** First backoff delay in ms (default 250); doubled each time, with jitter. */
  baseDelayMs: number;
  /** Longest backoff delay in ms, also the cap on `Retry-After` (default 8000). */
  maxDelayMs: number;
}

/** The default {@link RetryPolicy}. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8000,
});

/** Default number of objects moved at once. */
export const DEFAULT_JOBS = 8;

/** Default time without a byte moving before a transfer is abandoned and retried (ms). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** One signed-URL upload: stream `path` (`size` bytes) to `url` with `PUT`. */
export interface BlobPutRequest {
  /** The signed PUT URL (secret: never print it). */
  url: string;
  /** The file to send. */
  path: string;
  /** Its size; sent as `Content-Length`. */
  size: number;
  /** Aborts the upload. */
  signal: AbortSignal;
  /** Called with the number of bytes handed to the connection so far. */
  onProgress(sent: number): void;
  /** Abandon the upload when no byte moves for this long (ms). */
  idleTimeoutMs: number;
}

/** The answer to a {@link BlobPutRequest}. */
export interface BlobPutResponse {
  status: number;
  statusText: string;
  /** The start of the response body (at most 4 KiB), for error messages. */
  body: string;
}

/**
 * Sends a file to a signed URL. Rejects with a {@link TransientError} on transport
 * failures (connection refused or reset, timeout), with the abort reason when
 * aborted, and with a `FAILED` {@link PvrError} when the file cannot be read.
 */
export type BlobPutter = (req: BlobPutRequest) => Promise<BlobPutResponse>;

/** Options every transfer takes (downloads and uploads). */
export interface TransferOptions {
  /** Objects moved at once (default {@link DEFAULT_JOBS}). */
  jobs?: number;
  /** Progress events (default: none). */
  reporter?: TransferReporter;
  /** The `fetch` used for signed-URL GETs (default: see {@link resolveTransferOptions}). */
  fetch?: typeof fetch;
  /** The signed-URL PUT (default: see {@link resolveTransferOptions}). */
  putBlob?: BlobPutter;
  /** Retry policy (defaults of {@link DEFAULT_RETRY} for missing fields). */
  retry?: Partial<RetryPolicy>;
  /** Time without progress before a blob transfer is retried (ms). */
  idleTimeoutMs?: number;
}

/** {@link TransferOptions} with every default filled in. */
export interface ResolvedTransferOptions {
  jobs: number;
  reporter: TransferReporter;
  fetch: typeof fetch;
  putBlob: BlobPutter;
  retry: RetryPolicy;
  idleTimeoutMs: number;
}

/**
 * Fills in the defaults of {@link TransferOptions}; a `jobs` below 1 is a `USAGE` error.
 * Blob transfers default to bare connections (raw_get.ts, raw_put.ts), or to `fetch`
 * when the environment names a proxy.
 */
export function resolveTransferOptions(opts: TransferOptions = {}): ResolvedTransferOptions {
  const jobs = opts.jobs ?? DEFAULT_JOBS;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 256) {
    throw new PvrError("USAGE", `--jobs must be a whole number from 1 to 256, not ${jobs}`);
  }
  // Through fetch when a proxy variable is set, as the command line's transport does
  // (see transport.ts): fetch honours them, and NO_PROXY.
  const viaFetch = (opts.fetch === undefined || opts.putBlob === undefined) &&
    proxyVariableSet(readableProxyEnv());
  return {
    jobs,
    reporter: opts.reporter ?? NULL_TRANSFER_REPORTER,
    fetch: opts.fetch ?? (viaFetch ? globalThis.fetch : rawBlobFetch()),
    putBlob: opts.putBlob ?? (viaFetch ? fetchBlobPutter(globalThis.fetch) : rawBlobPutter()),
    retry: { ...DEFAULT_RETRY, ...opts.retry },
    idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  };
}

/** A failure worth trying again (a dropped connection, a 5xx, a timeout). */
export class TransientError extends Error {
  /** The server's `Retry-After`, in ms, when it sent one. */
  readonly retryAfterMs?: number;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TransientError";
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for HTTP statuses worth retrying: 408, 429 and 5xx but 501 and 505. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** A `Retry-After` header (seconds or an HTTP date) in ms, or undefined ({@link retryAfterMs}). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  return retryAfterMs(value, now);
}

/**
 * The delay before try number `failures + 1`: `baseDelayMs · 2^(failures-1)`, with up
 * to 25% random jitter, capped at `maxDelayMs`; a server's `Retry-After` wins when it
 * is longer (still capped).
 */
export function backoffDelay(policy: RetryPolicy, failures: number, retryAfterMs?: number): number {
  const exp = policy.baseDelayMs * 2 ** Math.max(0, failures - 1);
  const jittered = exp * (1 + Math.random() * 0.25);
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Waits `ms`; rejects with the abort reason when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `work` for every item with at most `jobs` running at once. At the first failure
 * no further item starts and the others are aborted through the signal; once all have
 * settled, the first error is thrown.
 */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await work(item, abort.signal);
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          abort.abort(new PvrError("FAILED", "cancelled: another object failed"));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** Reads at most `max` bytes of a response body as text (the rest is discarded). */
export function readSomeText(res: Response, max = 4096): Promise<string> {
  return replyText(res, max).catch(() => "");
}

/**
 * The error for an HTTP answer pvr cannot use: `AUTH` for 401/403 (unless `forbidden`
 * says otherwise), else `REMOTE`. `what` names the request without secrets, e.g.
 * `GET https://host/trails/<id>/.pvrremote`.
 */
export function httpStatusError(
  what: string,
  status: number,
  statusText: string,
  body = "",
  forbidden: "AUTH" | "REMOTE" = "AUTH",
): PvrError {
  const text = statusText ? `${status} ${statusText}` : String(status);
  const found = serverMessage(body);
  const msg = found === undefined ? undefined : found.replace(/\s+/g, " ").trim().slice(0, 200);
  const code = status === 401 ? "AUTH" : status === 403 ? forbidden : "REMOTE";
  return new PvrError(code, `${what} failed: ${text}${msg ? ` (${msg})` : ""}`, {
    hint: status === 401
      ? "log in with pvr login, or pass a token with -a/PVR_ACCESSTOKEN"
      : status === 403 && forbidden === "AUTH"
      ? "the account in use has no access to this resource"
      : undefined,
  });
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A watch on a transfer that must keep moving (see {@link watchIdle}). */
export interface IdleWatch {
  /** Bytes moved (or an answer came): the idle time starts again. */
  moved(): void;
  /** True once {@link watchIdle}'s `onIdle` was called. */
  readonly idle: boolean;
  /** Ends the watch. */
  stop(): void;
}

/**
 * Calls `onIdle` once when `moved()` was not called for `timeoutMs`. One timer per
 * transfer, checked a few times per period (a timer per chunk costs more than the chunk).
 */
export function watchIdle(timeoutMs: number, onIdle: () => void): IdleWatch {
  let last = performance.now();
  let idle = false;
  const timer = setInterval(() => {
    if (idle || performance.now() - last < timeoutMs) return;
    idle = true;
    onIdle();
  }, Math.max(10, Math.min(1000, timeoutMs / 4)));
  return {
    moved() {
      last = performance.now();
    },
    get idle() {
      return idle;
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** Size of one read of a file being uploaded. */
export const UPLOAD_READ_BYTES = 256 * 1024;

/**
 * A {@link BlobPutter} on `node:http`/`node:https`: streams the file in 256 KiB reads
 * with `Content-Length` set, no `Content-Type` and no `Authorization` (as the Go pvr's
 * upload). Memory stays constant whatever the file size.
 *
 * Needs `--allow-net` and `--allow-read` for the file.
 */
export function nodeBlobPutter(opts: { insecure?: boolean } = {}): BlobPutter {
  return async (req) => {
    const { http, https, createReadStream } = await loadNodeNet();
    return await new Promise<BlobPutResponse>((resolve, reject) => {
      const url = new URL(req.url);
      const mod = url.protocol === "https:" ? https : http;
      let sent = 0;
      let settled = false;
      let responded = false;
      // 256 KiB reads: 4 × 256 MiB through node:http took half the CPU time of 64 KiB
      // reads (about 0.9 s instead of 1.4 s: fewer reads, buffers and socket writes),
      // as little as 1 MiB reads, for a quarter of their memory.
      const file = createReadStream(req.path, { highWaterMark: UPLOAD_READ_BYTES });
      const finish = (err: unknown, value?: BlobPutResponse) => {
        if (settled) return;
        settled = true;
        req.signal.removeEventListener("abort", onAbort);
        file.destroy();
        if (err !== undefined) {
          request.destroy();
          reject(err);
        } else resolve(value!);
      };
      const onAbort = () => finish(req.signal.reason);
      const request = mod.request(url, {
        method: "PUT",
        headers: { "Content-Length": String(req.size), "User-Agent": `pvr/${VERSION}` },
        rejectUnauthorized: !opts.insecure,
      }, (res) => {
        responded = true;
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (c: Uint8Array) => {
          if (size < 4096) chunks.push(c);
          size += c.length;
        });
        res.on("end", () => {
          const body = new TextDecoder().decode(concatBytes(chunks)).slice(0, 4096);
          finish(undefined, {
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            body,
          });
        });
        res.on(
          "error",
          (e: Error) => finish(new TransientError(`upload answer cut: ${e.message}`)),
        );
      });
      request.setTimeout(req.idleTimeoutMs, () => {
        finish(new TransientError(`no progress for ${req.idleTimeoutMs / 1000} s`));
      });
      request.on("error", (e: Error) => {
        // A server that answers before reading the whole body (a 403 for an expired
        // URL) may reset the connection under our feet: the answer counts.
        if (!responded) finish(new TransientError(`upload failed: ${e.message}`, { cause: e }));
      });
      file.on("data", (chunk) => {
        sent += (chunk as Uint8Array).length;
        req.onProgress(sent);
      });
      file.on("error", (e: Error) => {
        finish(new PvrError("FAILED", `cannot read ${req.path}: ${e.message}`, { cause: e }));
      });
      if (req.signal.aborted) return onAbort();
      req.signal.addEventListener("abort", onAbort, { once: true });
      file.pipe(request);
    });
  };
}

/**
 * A {@link BlobPutter} on `fetch` (for proxies, which `node:http` does not use): the
 * body is streamed, so Deno's `fetch` sends it with chunked transfer encoding instead
 * of a `Content-Length`. With `contentLength`, the header is set (for a `fetch` that
 * sends it with a streamed body, such as `nodeFetch`).
 *
 * Needs `--allow-net` and `--allow-read` for the file.
 */
export function fetchBlobPutter(
  fetchFn: typeof fetch = globalThis.fetch,
  opts: { contentLength?: boolean } = {},
): BlobPutter {
  return async (req) => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(req.path, { read: true });
    } catch (err) {
      throw new PvrError("FAILED", `cannot read ${req.path}: ${errorMessage(err)}`, { cause: err });
    }
    let closed = false;
    const closeFile = () => {
      if (closed) return;
      closed = true;
      file.close();
    };
    let sent = 0;
    // No byte taken by the connection (and no answer) for idleTimeoutMs: give up, as
    // the other putters do.
    const idle = new AbortController();
    const watch = watchIdle(req.idleTimeoutMs, () => {
      idle.abort(new TransientError(`no progress for ${req.idleTimeoutMs / 1000} s`));
    });
    const body = new ReadableStream<Uint8Array>({
      async pull(ctrl) {
        const buf = new Uint8Array(1 << 20);
        const n = await file.read(buf);
        watch.moved();
        if (n === null) {
          closeFile();
          ctrl.close();
          return;
        }
        sent += n;
        req.onProgress(sent);
        ctrl.enqueue(buf.subarray(0, n));
      },
      cancel() {
        closeFile();
      },
    });
    try {
      const res = await fetchFn(req.url, {
        method: "PUT",
        body,
        headers: {
          "User-Agent": `pvr/${VERSION}`,
          ...(opts.contentLength ? { "Content-Length": String(req.size) } : {}),
        },
        signal: AbortSignal.any([req.signal, idle.signal]),
      });
      watch.moved();
      const text = await readSomeText(res);
      return {
        status: res.status,
        statusText: res.statusText,
        body: text,
      };
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      if (idle.signal.aborted) throw idle.signal.reason;
      throw new TransientError(`upload failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      watch.stop();
      closeFile();
    }
  };
}

/** Joins `name` onto the path of `url` (one `/` between them); query kept, fragment dropped. */
export function joinUrl(url: string, name: string): string {
  const u = new URL(url);
  u.hash = "";
  u.pathname = u.pathname.replace(/\/+$/, "") + "/" + name;
  return u.toString();
}
