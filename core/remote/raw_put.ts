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
import { writeAll } from "../../native/durability.ts";
import {
  type BlobPutResponse,
  type BlobPutter,
  TransientError,
  watchIdle,
} from "./pantahub/transfer.ts";
import { connectTo, ConnReader, ConnSlot, headerOf, isRawUrl, parseHead } from "./raw_http.ts";

/** Bytes read from the file (and written to the socket) at a time. */
const PIECE = 1 << 20;
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
    if (!isRawUrl(url)) {
      throw new PvrError("REMOTE", `cannot upload to a ${url.protocol} URL`);
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(req.path, { read: true });
    } catch (err) {
      throw new PvrError("FAILED", `cannot read ${req.path}: ${messageOf(err)}`, { cause: err });
    }
    const slot = new ConnSlot(req.signal);
    const watch = watchIdle(req.idleTimeoutMs, () => slot.close());
    try {
      req.signal.throwIfAborted();
      const c = await connectTo(url);
      slot.conn = c;
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
      slot.release();
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

/**
 * Reads the server's answer: the status line, the headers, and at most
 * {@link MAX_BODY} bytes of the body (by `Content-Length`, chunks, or up to the close).
 * Informational (1xx) answers are skipped.
 */
async function readResponse(conn: Deno.Conn, moved: () => void): Promise<BlobPutResponse> {
  const r = new ConnReader(conn, moved);
  for (;;) {
    const head = parseHead(await r.readHead());
    if (head.status >= 100 && head.status < 200) continue;
    let body: Uint8Array;
    const length = headerOf(head, "content-length");
    if (/\bchunked\b/i.test(headerOf(head, "transfer-encoding") ?? "")) {
      body = await r.readChunked(MAX_BODY);
    } else if (length !== undefined) {
      body = await r.readUpTo(Math.min(Number(length) || 0, MAX_BODY));
    } else body = await r.readUpTo(MAX_BODY, true);
    return { status: head.status, statusText: head.statusText, body: decoder.decode(body) };
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
