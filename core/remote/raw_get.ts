/**
 * The signed-URL download on a bare connection: a `GET` over HTTP/1.1 written by hand
 * on a `Deno.connect` (or `Deno.connectTls`) socket, answered as a standard `Response`
 * whose body is a byte stream read straight from the socket.
 *
 * Why not `fetch`: its body reaches JavaScript as a copy of each piece the HTTP library
 * received, one promise per piece of a few dozen KiB. Here a read of the body is one
 * read of the socket into the caller's own buffer (a BYOB read of up to 1 MiB): on 4 ×
 * 256 MiB from a local server, hashed and written as `pvr get` does, 0.93–1.12 s against
 * 1.17–1.69 s through `fetch` on the development VM.
 *
 * What it speaks: `GET` with the caller's headers plus `Host` and `Connection: close`
 * (one connection per request, as parallel downloads need their own anyway); answers
 * framed by `Content-Length`, chunks, or the end of the connection; redirects followed
 * (at most {@link MAX_REDIRECTS}) when `redirect` is `"follow"`, the default. Anything
 * else — another method, a body, a URL that is not `http:`/`https:` or that carries
 * credentials, an answer with a `Content-Encoding` — goes to `fetch` as it would have.
 * Proxies and `--insecure` are not handled here (`transport.ts` picks `fetch` for them).
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { writeAll } from "../../native/durability.ts";
import {
  connectTo,
  ConnReader,
  ConnSlot,
  headerOf,
  isRawUrl,
  parseHead,
  type ResponseHead,
} from "./raw_http.ts";

/** Redirects followed at most, as `fetch` does. */
export const MAX_REDIRECTS = 20;

/** Bytes read at a time by a reader that brings no buffer of its own. */
const AUTO_CHUNK = 64 * 1024;

const encoder = new TextEncoder();

/** Statuses whose answer has no body. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * A `fetch` for signed-URL downloads on bare connections (see the module doc).
 *
 * Needs `--allow-net` for the hosts.
 */
export function rawBlobFetch(fallback: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    if (input instanceof Request || (init?.method ?? "GET").toUpperCase() !== "GET") {
      return await fallback(input, init);
    }
    let url = new URL(String(input));
    if (init?.body != null || !spoken(url)) return await fallback(input, init);
    const headers = new Headers(init?.headers);
    const signal = init?.signal ?? undefined;
    const follow = (init?.redirect ?? "follow") === "follow";
    for (let hops = 0;; hops++) {
      signal?.throwIfAborted();
      const res = await getOnce(url, headers, signal);
      if (res === null) return await fallback(url, init);
      const location = res.headers.get("location");
      if (!follow || !REDIRECTS.has(res.status) || location === null) return res;
      await res.body?.cancel().catch(() => {});
      if (hops >= MAX_REDIRECTS) throw new TypeError("too many redirects");
      url = new URL(location, url);
      if (!spoken(url)) return await fallback(url, { ...init, headers });
    }
  };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** True for a URL this module requests itself: `http:`/`https:`, no credentials in it. */
function spoken(url: URL): boolean {
  return isRawUrl(url) && url.username === "" && url.password === "";
}

/** One request and its answer; null when the answer needs `fetch` (an encoded body). */
async function getOnce(
  url: URL,
  headers: Headers,
  signal: AbortSignal | undefined,
): Promise<Response | null> {
  const slot = new ConnSlot(signal);
  const done = () => slot.release();
  try {
    const c = await connectTo(url);
    slot.conn = c;
    if (signal?.aborted) throw signal.reason;
    let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
    if (!headers.has("user-agent")) head += `User-Agent: pvr/${VERSION}\r\n`;
    for (const [k, v] of headers) {
      if (k !== "host" && k !== "connection") head += `${k}: ${v}\r\n`;
    }
    head += "Connection: close\r\n\r\n";
    await writeAll(c, encoder.encode(head));
    const reader = new ConnReader(c, () => {});
    let parsed: ResponseHead;
    do parsed = parseHead(await reader.readHead()); while (parsed.status < 200);
    const encoding = headerOf(parsed, "content-encoding");
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      done();
      return null;
    }
    const body = NULL_BODY.has(parsed.status) ? null : bodyStream(reader, parsed, done);
    if (body === null) done();
    return new Response(body, {
      status: parsed.status,
      statusText: parsed.statusText,
      headers: parsed.headers,
    });
  } catch (err) {
    done();
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

/**
 * The body of an answer as a byte stream: each read is served from the bytes already
 * buffered, else by one read of the socket into the reader's view. `done` releases the
 * connection (at the end, on an error, or when the reader cancels).
 */
function bodyStream(
  reader: ConnReader,
  head: ResponseHead,
  done: () => void,
): ReadableStream<Uint8Array> {
  const chunked = /\bchunked\b/i.test(headerOf(head, "transfer-encoding") ?? "");
  const lengthText = headerOf(head, "content-length");
  const length = chunked || lengthText === undefined ? undefined : Number(lengthText);
  if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) {
    done();
    throw new TypeError(`bad Content-Length in the answer: ${lengthText}`);
  }
  /** Bytes left in the body (Content-Length) or in the current chunk. */
  let left = length ?? 0;
  let ended = false;
  const finish = (controller: ReadableByteStreamController) => {
    ended = true;
    done();
    controller.close();
    controller.byobRequest?.respond(0);
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller) {
      if (ended) return;
      try {
        if (chunked && left === 0) {
          left = await reader.readChunkSize();
          if (left === 0) {
            while ((await reader.readLine()) !== "") {
              // trailer fields: not used
            }
            return finish(controller);
          }
        }
        if (length !== undefined && left === 0) return finish(controller);
        const view = controller.byobRequest!.view as Uint8Array;
        const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        const max = chunked || length !== undefined ? left : bytes.length;
        const n = await reader.readInto(bytes, max);
        if (n === null) {
          if (chunked || length !== undefined) throw new TypeError("the answer's body was cut off");
          return finish(controller);
        }
        if (chunked || length !== undefined) left -= n;
        if (chunked && left === 0) await reader.readUpTo(2); // the CRLF after a chunk
        controller.byobRequest!.respond(n);
      } catch (err) {
        ended = true;
        done();
        throw err;
      }
    },
    cancel() {
      ended = true;
      done();
    },
  });
}
