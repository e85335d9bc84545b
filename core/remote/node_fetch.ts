/**
 * A `fetch` on `node:http`/`node:https`, for what Deno's `fetch` cannot do per request:
 * skip TLS certificate checks (`-i/--insecure`; `Deno.createHttpClient` has no such
 * option, only extra CA certificates), and go straight to the server whatever the
 * proxy variables say (`--http-proxy no`; `node:http` never reads them). It can also
 * send `http:` requests through a forward proxy.
 *
 * It covers what pvr sends: a method, headers, a body (bytes, text or a stream; a
 * stream goes out with the caller's `Content-Length` when there is one, else chunked),
 * an abort signal, and `redirect` (`manual`, or else GET/HEAD redirects followed, at
 * most 5). The answer's body streams, with back-pressure.
 *
 * @module
 */

import type { ClientRequest, IncomingMessage } from "node:http";
import { loadNodeNet } from "./node_net.ts";

/** Options of {@link nodeFetch}. */
export interface NodeFetchOptions {
  /** Do not check TLS certificates (names and chains). */
  insecure?: boolean;
  /**
   * The forward proxy of a URL (undefined: none). Only `http:` URLs may go through
   * one: for an `https:` URL with a proxy, the request fails (no `CONNECT` tunnel).
   */
  proxyFor?: (url: URL) => URL | undefined;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The headers of a node answer as web `Headers`. */
function webHeaders(res: IncomingMessage): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) { for (const x of v) out.append(k, x); }
    else out.set(k, String(v));
  }
  return out;
}

/** A node answer's body as a web stream, paused while nobody reads. */
function webBody(res: IncomingMessage, signal?: AbortSignal): ReadableStream<Uint8Array> {
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      const fail = (err: unknown) => {
        if (closed) return;
        closed = true;
        ctrl.error(err);
      };
      res.on("data", (chunk: Uint8Array) => {
        if (closed) return;
        ctrl.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((ctrl.desiredSize ?? 0) <= 0) res.pause();
      });
      res.on("end", () => {
        if (closed) return;
        closed = true;
        ctrl.close();
      });
      res.on("error", fail);
      res.on("aborted", () => fail(new TypeError("the connection closed before the end")));
      signal?.addEventListener("abort", () => {
        fail(signal.reason);
        res.destroy();
      }, { once: true });
    },
    pull() {
      res.resume();
    },
    cancel() {
      closed = true;
      res.destroy();
    },
  }, { highWaterMark: 4 });
}

/** The body of a request: bytes (with their length), a stream, or nothing. */
async function requestBody(
  body: BodyInit | null | undefined,
): Promise<Uint8Array | ReadableStream<Uint8Array> | null> {
  if (body === null || body === undefined) return null;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (body instanceof ReadableStream) return body as ReadableStream<Uint8Array>;
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Writes a stream into a node request, waiting for `drain` when its buffer is full. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  req: ClientRequest,
): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (req.destroyed) return;
      if (!req.write(value)) {
        await new Promise<void>((resolve) => {
          req.once("drain", resolve);
          req.once("close", resolve);
        });
      }
    }
    req.end();
  } catch (err) {
    req.destroy(err instanceof Error ? err : new Error(String(err)));
  } finally {
    reader.releaseLock();
  }
}

async function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array | ReadableStream<Uint8Array> | null,
  opts: NodeFetchOptions,
  signal?: AbortSignal,
): Promise<Response> {
  const { http, https } = await loadNodeNet();
  return await new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const proxy = opts.proxyFor?.(url);
    if (proxy !== undefined && (url.protocol !== "http:" || proxy.protocol !== "http:")) {
      return reject(
        new TypeError(
          `${proxy.protocol.slice(0, -1)} proxy for ${url.protocol.slice(0, -1)} URLs: ` +
            `only plain http requests through an http proxy are supported with --insecure`,
        ),
      );
    }
    const onAnswer = (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const nullBody = method === "HEAD" || NULL_BODY.has(status);
      if (nullBody) res.resume();
      const out = new Response(nullBody ? null : webBody(res, signal), {
        status,
        statusText: res.statusMessage ?? "",
        headers: webHeaders(res),
      });
      Object.defineProperty(out, "url", { value: url.href });
      resolve(out);
    };
    let req: ClientRequest;
    if (proxy !== undefined) {
      const auth = proxy.username !== ""
        ? {
          "proxy-authorization": `Basic ${
            btoa(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`)
          }`,
        }
        : {};
      req = http.request({
        host: proxy.hostname.replace(/^\[|\]$/g, ""),
        port: Number(proxy.port || 80),
        method,
        path: url.href,
        headers: { host: url.host, ...headers, ...auth },
      }, onAnswer);
    } else {
      const mod = url.protocol === "https:" ? https : http;
      req = mod.request(url, { method, headers, rejectUnauthorized: !opts.insecure }, onAnswer);
    }
    req.on("error", (err: Error) => {
      if (signal?.aborted) reject(signal.reason);
      else reject(new TypeError(`fetch failed: ${err.message}`, { cause: err }));
    });
    signal?.addEventListener("abort", () => req.destroy(), { once: true });
    if (body instanceof ReadableStream) void pump(body, req);
    else req.end(body ?? undefined);
  });
}

/**
 * A `fetch` on `node:http`/`node:https` (see the module doc).
 *
 * Needs `--allow-net`.
 *
 * @example
 * ```ts
 * const insecureFetch = nodeFetch({ insecure: true });
 * await insecureFetch("https://self-signed.example/");
 * ```
 */
export function nodeFetch(opts: NodeFetchOptions = {}): typeof fetch {
  return async (input, init = {}) => {
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = (init.method ?? "GET").toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => headers[k] = v);
    let body = await requestBody(init.body);
    if (body instanceof Uint8Array) headers["content-length"] = String(body.byteLength);
    const signal = init.signal ?? undefined;
    for (let hop = 0;; hop++) {
      const res = await once(url, method, headers, body, opts, signal);
      const location = res.headers.get("location");
      const follow = init.redirect !== "manual" && (method === "GET" || method === "HEAD");
      if (!follow || !REDIRECTS.has(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => {});
      if (hop >= 5) throw new TypeError("fetch failed: too many redirects");
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        delete headers["authorization"];
        delete headers["cookie"];
      }
      url = next;
      method = method === "HEAD" ? "HEAD" : "GET";
      body = null;
    }
  };
}
