/**
 * The signed-URL upload on a bare connection: `PUT` over HTTP/1.1 written by hand on a
 * `Deno.connect` (or `Deno.connectTls`) socket, the file sent in 1 MiB reads.
 *
 * Why not `fetch` or `node:http`: Deno's `fetch` sends a streamed body with chunked
 * transfer encoding, which signed URLs (S3 and Pantahub's) refuse, and `node:http`
 * moves the file through Node streams in JavaScript — about 0.9 s of CPU per GiB on the
 * development VM, on the same two CPUs as the server it uploads to. Here each MiB is one
 * read and one socket write: the bytes never pass through a JavaScript stream.
 *
 * The request is what the Go pvr sends: `Content-Length`, no `Content-Type`, no
 * `Authorization`; `Connection: close` (one connection per upload, as the parallel
 * uploads each need their own anyway). A server that answers before it has read the
 * whole body (a 403 for an expired URL) may reset the connection under the writer: its
 * answer is read and counts. Proxies and `--insecure` are not handled here (see
 * `transport.ts`, which picks another putter for them).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { VERSION } from "../version.ts";
import {
  type BlobPutResponse,
  type BlobPutter,
  concat,
  TransientError,
  watchIdle,
} from "./pantahub/transfer.ts";

/** Bytes read from the file (and written to the socket) at a time. */
const PIECE = 1 << 20;
/** Most bytes of a response head accepted. */
const MAX_HEAD = 64 * 1024;
/** Bytes of the response body kept (for error messages). */
const MAX_BODY = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A {@link BlobPutter} on a bare HTTP/1.1 connection (see the module doc) for `http:`
 * and `https:` signed URLs, reached directly.
 *
 * Needs `--allow-net` for the URL's host and `--allow-read` for the file.
 */
export function rawBlobPutter(): BlobPutter {
  return async (req) => {
    const url = new URL(req.url);
    const tls = url.protocol === "https:";
    if (!tls && url.protocol !== "http:") {
      throw new PvrError("REMOTE", `cannot upload to a ${url.protocol} URL`);
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(req.path, { read: true });
    } catch (err) {
      throw new PvrError("FAILED", `cannot read ${req.path}: ${messageOf(err)}`, { cause: err });
    }
    let conn: Deno.Conn | null = null;
    const close = () => {
      try {
        conn?.close();
      } catch {
        // already closed
      }
      conn = null;
    };
    const onAbort = () => close();
    req.signal.addEventListener("abort", onAbort, { once: true });
    const watch = watchIdle(req.idleTimeoutMs, close);
    try {
      req.signal.throwIfAborted();
      const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
      const port = Number(url.port || (tls ? 443 : 80));
      const c: Deno.Conn = tls
        ? await Deno.connectTls({ hostname, port })
        : await Deno.connect({ hostname, port });
      conn = c;
      watch.moved();
      const head = `PUT ${url.pathname}${url.search} HTTP/1.1\r\n` +
        `Host: ${url.host}\r\nUser-Agent: pvr/${VERSION}\r\n` +
        `Content-Length: ${req.size}\r\nConnection: close\r\n\r\n`;
      let cut: unknown = null;
      try {
        await writeAll(c, encoder.encode(head));
        await sendFile(file, c, req, watch.moved);
      } catch (err) {
        if (err instanceof PvrError) throw err;
        // The server may have answered and closed early: read what it said.
        cut = err;
      }
      const res = await readResponse(c, watch.moved).catch((err) => {
        throw cut ?? err;
      });
      return res;
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      if (err instanceof PvrError) throw err;
      if (watch.idle) throw new TransientError(`no progress for ${req.idleTimeoutMs / 1000} s`);
      throw new TransientError(`upload failed: ${messageOf(err)}`, { cause: err });
    } finally {
      watch.stop();
      req.signal.removeEventListener("abort", onAbort);
      close();
      file.close();
    }
  };
}

/** Sends exactly `req.size` bytes of `file` to `conn`. */
async function sendFile(
  file: Deno.FsFile,
  conn: Deno.Conn,
  req: { path: string; size: number; onProgress(sent: number): void },
  moved: () => void,
): Promise<void> {
  const buf = new Uint8Array(Math.min(PIECE, Math.max(req.size, 1)));
  let sent = 0;
  while (sent < req.size) {
    const want = Math.min(buf.length, req.size - sent);
    let n: number | null;
    try {
      n = await file.read(buf.subarray(0, want));
    } catch (err) {
      throw new PvrError("FAILED", `cannot read ${req.path}: ${messageOf(err)}`, { cause: err });
    }
    if (n === null) {
      throw new PvrError("FAILED", `${req.path} is shorter than its ${req.size} bytes`);
    }
    await writeAll(conn, buf.subarray(0, n), moved);
    sent += n;
    req.onProgress(sent);
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array, moved?: () => void): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    off += await conn.write(bytes.subarray(off));
    moved?.();
  }
}

/**
 * Reads the server's answer: the status line, the headers, and at most
 * {@link MAX_BODY} bytes of the body (by `Content-Length`, chunks, or up to the close).
 * Informational (1xx) answers are skipped.
 */
async function readResponse(conn: Deno.Conn, moved: () => void): Promise<BlobPutResponse> {
  const r = new ConnReader(conn, moved);
  for (;;) {
    const head = await r.readHead();
    const lines = head.split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!m) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0].slice(0, 80))}`);
    const status = Number(m[1]);
    if (status >= 100 && status < 200) continue;
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    let body: Uint8Array;
    if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) {
      body = await r.readChunked(MAX_BODY);
    } else if (headers.has("content-length")) {
      body = await r.readUpTo(Math.min(Number(headers.get("content-length")) || 0, MAX_BODY));
    } else body = await r.readUpTo(MAX_BODY, true);
    return { status, statusText: m[2] ?? "", body: decoder.decode(body) };
  }
}

/** Buffered reads from a connection. */
class ConnReader {
  #buf = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  readonly #moved: () => void;

  constructor(conn: Deno.Conn, moved: () => void) {
    this.#conn = conn;
    this.#moved = moved;
  }

  /** Reads more bytes; false at the end of the stream. */
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    this.#moved();
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  #indexOfCrlf(from = 0, double = false): number {
    const b = this.#buf;
    for (let i = from; i + (double ? 3 : 1) < b.length; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && (!double || (b[i + 2] === 13 && b[i + 3] === 10))) {
        return i;
      }
    }
    return -1;
  }

  /** The head up to (not including) the blank line. */
  async readHead(): Promise<string> {
    for (;;) {
      const end = this.#indexOfCrlf(0, true);
      if (end >= 0) {
        const head = decoder.decode(this.#take(end));
        this.#take(4);
        return head;
      }
      if (this.#buf.length > MAX_HEAD) throw new Error("the answer's head is too long");
      if (!(await this.#more())) {
        throw new Error(
          this.#buf.length ? "the answer was cut off" : "the server closed without answering",
        );
      }
    }
  }

  /** Up to `n` bytes (fewer when the stream ends first, which `toEnd` allows). */
  async readUpTo(n: number, toEnd = false): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#more())) {
        if (toEnd) break;
        throw new Error("the answer's body was cut off");
      }
    }
    return this.#take(Math.min(n, this.#buf.length));
  }

  /** The first `max` bytes of a chunked body. */
  async readChunked(max: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max) {
      let eol: number;
      while ((eol = this.#indexOfCrlf()) < 0) {
        if (!(await this.#more())) throw new Error("the answer's body was cut off");
      }
      const size = parseInt(decoder.decode(this.#take(eol)).split(";")[0], 16);
      this.#take(2);
      if (!Number.isFinite(size)) throw new Error("bad chunk size in the answer");
      if (size === 0) break;
      const piece = await this.readUpTo(Math.min(size, max - total));
      parts.push(piece);
      total += piece.length;
      if (piece.length < size) break; // enough kept; the rest is not needed
      await this.readUpTo(2); // CRLF after the chunk
    }
    return concat(parts);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
