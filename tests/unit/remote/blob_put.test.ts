/**
 * The signed-URL PUTs against raw TCP servers: rawBlobPutter (a bare connection) and
 * fetchBlobPutter (through `fetch`, for proxies).
 */

import assert from "node:assert/strict";
import { rawBlobPutter } from "../../../core/remote/raw_put.ts";
import { fetchBlobPutter, TransientError } from "../../../core/remote/pantahub/transfer.ts";
import { isPvrError } from "../../../core/errors.ts";
import { withTempDir } from "../../support/temp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a test server saw of one request. */
interface Seen {
  head: string;
  body: Uint8Array;
}

/**
 * A one-connection TCP server on 127.0.0.1 port 0. `serve` gets the connection after
 * the request head was read (and what was read of the body with it).
 */
function server(
  serve: (conn: Deno.Conn, seen: Seen) => Promise<void>,
): { url: string; done: Promise<Seen>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    const conn = await listener.accept();
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(65536);
    let end = -1;
    while (end < 0) {
      const n = await conn.read(chunk);
      if (n === null) break;
      const next = new Uint8Array(buf.length + n);
      next.set(buf);
      next.set(chunk.subarray(0, n), buf.length);
      buf = next;
      end = dec.decode(buf).indexOf("\r\n\r\n");
    }
    const headLen = enc.encode(dec.decode(buf).slice(0, end + 4)).length;
    const seen = { head: dec.decode(buf.subarray(0, end)), body: buf.slice(headLen) };
    try {
      await serve(conn, seen);
    } finally {
      try {
        conn.close();
      } catch {
        // closed by serve
      }
    }
    return seen;
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/blobs/abc?sig=secret&exp=1`,
    done,
    close: () => listener.close(),
  };
}

/**
 * A server that reads `size` bytes of body (0: none) and then holds the connection,
 * answering nothing, until `release()`.
 */
function holdingServer(size: number): ReturnType<typeof server> & { release(): void } {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const s = server(async (conn, seen) => {
    if (size > 0) await readBody(conn, seen, size);
    await held;
  });
  return { ...s, release };
}

/** Releases a {@link holdingServer} and waits for it to close. */
async function finish(s: ReturnType<typeof holdingServer>): Promise<void> {
  s.release();
  await s.done;
  s.close();
}

/** Reads the rest of a body of `size` bytes (after what `seen` already holds). */
async function readBody(conn: Deno.Conn, seen: Seen, size: number): Promise<void> {
  const parts = [seen.body];
  let got = seen.body.length;
  const chunk = new Uint8Array(1 << 20);
  while (got < size) {
    const n = await conn.read(chunk);
    if (n === null) break;
    parts.push(chunk.slice(0, n));
    got += n;
  }
  const all = new Uint8Array(got);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  seen.body = all;
}

async function answer(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = enc.encode(text);
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function fileOf(dir: string, size: number): Promise<{ path: string; data: Uint8Array }> {
  const data = new Uint8Array(size).map((_, i) => (i * 7) % 251);
  const path = `${dir}/blob`;
  await Deno.writeFile(path, data);
  return { path, data };
}

function request(url: string, path: string, size: number, extra: Partial<{
  signal: AbortSignal;
  idleTimeoutMs: number;
  progress: number[];
}> = {}) {
  return {
    url,
    path,
    size,
    signal: extra.signal ?? new AbortController().signal,
    idleTimeoutMs: extra.idleTimeoutMs ?? 10_000,
    onProgress: (n: number) => extra.progress?.push(n),
  };
}

Deno.test("rawBlobPutter sends the file with Content-Length and no Content-Type or Authorization", async () => {
  await withTempDir(async (dir) => {
    const size = 3 * (1 << 20) + 123;
    const { path, data } = await fileOf(dir, size);
    const s = server(async (conn, seen) => {
      await readBody(conn, seen, size);
      // A chunked answer body, as Deno.serve and S3 may send.
      await answer(
        conn,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      );
    });
    const progress: number[] = [];
    const res = await rawBlobPutter()(request(s.url, path, size, { progress }));
    const seen = await s.done;
    s.close();
    assert.deepEqual(res, { status: 200, statusText: "OK", body: "abcde" });
    const lines = seen.head.split("\r\n");
    assert.equal(lines[0], "PUT /blobs/abc?sig=secret&exp=1 HTTP/1.1");
    const headers = new Map(
      lines.slice(1).map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()] as const;
      }),
    );
    assert.equal(headers.get("content-length"), String(size));
    assert.equal(headers.get("host"), new URL(s.url).host);
    assert.ok(!headers.has("content-type"));
    assert.ok(!headers.has("authorization"));
    assert.ok(!headers.has("transfer-encoding"));
    assert.deepEqual(seen.body, data);
    assert.equal(progress.at(-1), size);
  });
});

Deno.test("rawBlobPutter takes an answer sent before the body was read (an expired URL's 403)", async () => {
  await withTempDir(async (dir) => {
    const size = 16 << 20; // far more than the socket buffers hold
    const { path } = await fileOf(dir, size);
    const s = server(async (conn) => {
      await answer(
        conn,
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 15\r\nConnection: close\r\n\r\nsignature gone!",
      );
    });
    const res = await rawBlobPutter()(request(s.url, path, size));
    await s.done;
    s.close();
    assert.deepEqual(res, { status: 403, statusText: "Forbidden", body: "signature gone!" });
  });
});

Deno.test("rawBlobPutter skips a 100 Continue and reads a body up to the close", async () => {
  await withTempDir(async (dir) => {
    const { path } = await fileOf(dir, 1000);
    const s = server(async (conn, seen) => {
      await readBody(conn, seen, 1000);
      await answer(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n\r\nstored");
    });
    const res = await rawBlobPutter()(request(s.url, path, 1000));
    await s.done;
    s.close();
    assert.deepEqual(res, { status: 201, statusText: "Created", body: "stored" });
  });
});

Deno.test("rawBlobPutter: a connection dropped mid-body without an answer is a TransientError", async () => {
  await withTempDir(async (dir) => {
    const size = 8 << 20;
    const { path } = await fileOf(dir, size);
    const s = server(async (conn, seen) => {
      await readBody(conn, seen, 1 << 20);
      conn.close();
    });
    await assert.rejects(
      rawBlobPutter()(request(s.url, path, size)),
      (e) => e instanceof TransientError && /upload failed/.test(e.message),
    );
    await s.done;
    s.close();
  });
});

Deno.test("rawBlobPutter: a server that never answers hits the idle timeout", async () => {
  await withTempDir(async (dir) => {
    const { path } = await fileOf(dir, 1000);
    const s = holdingServer(1000);
    await assert.rejects(
      rawBlobPutter()(request(s.url, path, 1000, { idleTimeoutMs: 200 })),
      (e) => e instanceof TransientError && /no progress for 0.2 s/.test(e.message),
    );
    await finish(s);
  });
});

Deno.test("rawBlobPutter: an abort rejects with its reason", async () => {
  await withTempDir(async (dir) => {
    const { path } = await fileOf(dir, 1000);
    const s = holdingServer(0);
    const ac = new AbortController();
    const reason = new Error("stop");
    const put = rawBlobPutter()(request(s.url, path, 1000, { signal: ac.signal }));
    setTimeout(() => ac.abort(reason), 100);
    await assert.rejects(put, (e) => e === reason);
    await finish(s);
  });
});

Deno.test("rawBlobPutter: a file shorter than its size fails with FAILED, a missing one too", async () => {
  await withTempDir(async (dir) => {
    const { path } = await fileOf(dir, 1000);
    const s = server(async (conn, seen) => await readBody(conn, seen, 1000));
    await assert.rejects(
      rawBlobPutter()(request(s.url, path, 2000)),
      (e) => isPvrError(e, "FAILED") && /shorter than its 2000 bytes/.test(e.message),
    );
    await s.done;
    s.close();
    await assert.rejects(
      rawBlobPutter()(request("http://127.0.0.1:9/x", `${dir}/none`, 1)),
      (e) => isPvrError(e, "FAILED") && /cannot read/.test(e.message),
    );
  });
});

Deno.test("fetchBlobPutter: a server that takes the body and never answers hits the idle timeout", async () => {
  await withTempDir(async (dir) => {
    const { path } = await fileOf(dir, 1000);
    const s = holdingServer(1000);
    await assert.rejects(
      fetchBlobPutter(fetch, { contentLength: true })(
        request(s.url, path, 1000, { idleTimeoutMs: 300 }),
      ),
      (e) => e instanceof TransientError && /no progress for 0.3 s/.test(e.message),
    );
    await finish(s);
  });
});

Deno.test("fetchBlobPutter: the answer, and FAILED for a file it cannot read", async () => {
  await withTempDir(async (dir) => {
    const { path, data } = await fileOf(dir, 5000);
    const s = server(async (conn, seen) => {
      await readBody(conn, seen, 5000);
      await answer(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
    const progress: number[] = [];
    const res = await fetchBlobPutter()(request(s.url, path, 5000, { progress }));
    const seen = await s.done;
    s.close();
    assert.deepEqual(res, { status: 200, statusText: "OK", body: "ok" });
    assert.equal(progress.at(-1), 5000);
    // Deno's fetch sends a streamed body chunked: undo the chunking to compare.
    const text = new TextDecoder("latin1").decode(seen.body);
    assert.match(seen.head, /transfer-encoding: chunked/i);
    assert.ok(text.length >= data.length);
    await assert.rejects(
      fetchBlobPutter()(request("http://127.0.0.1:9/x", `${dir}/none`, 1)),
      (e) => isPvrError(e, "FAILED") && /cannot read/.test(e.message),
    );
  });
});
