/** rawBlobFetch (core/remote/raw_get.ts) against scripted TCP servers on 127.0.0.1. */

import assert from "node:assert/strict";
import { MAX_REDIRECTS, rawBlobFetch } from "../../../core/remote/raw_get.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A TCP server on 127.0.0.1 port 0 that reads each request head and hands the
 * connection to `answer` with it; `heads` lists every head seen, in order.
 */
function scripted(
  answer: (conn: Deno.Conn, head: string, n: number) => Promise<void>,
): { base: string; heads: string[]; stop(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heads: string[] = [];
  const open = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const conn of listener) {
      const n = heads.length;
      const p = (async () => {
        let text = "";
        const buf = new Uint8Array(4096);
        while (!text.includes("\r\n\r\n")) {
          const got = await conn.read(buf);
          if (got === null) break;
          text += dec.decode(buf.subarray(0, got));
        }
        heads.push(text.slice(0, text.indexOf("\r\n\r\n")));
        try {
          await answer(conn, heads[heads.length - 1], n);
        } catch {
          // the client went away
        } finally {
          try {
            conn.close();
          } catch {
            // closed by the answer
          }
        }
      })();
      open.add(p);
      p.finally(() => open.delete(p));
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    base: `http://127.0.0.1:${port}`,
    heads,
    async stop() {
      listener.close();
      await loop.catch(() => {});
      await Promise.all(open);
    },
  };
}

async function send(conn: Deno.Conn, ...parts: (string | Uint8Array)[]): Promise<void> {
  for (const p of parts) {
    const bytes = typeof p === "string" ? enc.encode(p) : p;
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  }
}

/** Reads a whole body with BYOB reads into one reused buffer of `size` bytes. */
async function readByob(res: Response, size = 1000): Promise<Uint8Array> {
  const reader = res.body!.getReader({ mode: "byob" });
  const parts: number[] = [];
  let buf = new ArrayBuffer(size);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buf));
    if (done) break;
    parts.push(...value);
    buf = value.buffer;
  }
  return Uint8Array.from(parts);
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);

Deno.test("rawBlobFetch: a Content-Length body, read with BYOB reads, bytes already with the head first", async () => {
  const body = pattern(5000);
  const s = scripted(async (conn) => {
    // The head and the first bytes of the body in one write.
    await send(
      conn,
      `HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nX-A: 1\r\n\r\n`,
      body.subarray(0, 10),
    );
    await send(conn, body.subarray(10));
  });
  try {
    const res = await rawBlobFetch()(`${s.base}/blob?sig=x`, { headers: { Range: "bytes=0-" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-a"), "1");
    assert.deepEqual(await readByob(res, 777), body);
    const head = s.heads[0].split("\r\n");
    assert.equal(head[0], "GET /blob?sig=x HTTP/1.1");
    assert.ok(head.includes(`Host: ${s.base.slice(7)}`));
    assert.ok(head.includes("range: bytes=0-"));
    assert.ok(head.includes("Connection: close"));
    assert.ok(head.some((l) => /^User-Agent: pvr\//.test(l)));
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: chunked bodies (with extensions and trailers) and bodies up to the close", async () => {
  const s = scripted(async (conn, _head, n) => {
    if (n === 0) {
      await send(
        conn,
        "HTTP/1.1 206 Partial Content\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5;ext=1\r\nhello\r\n",
        "1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: t\r\n\r\n",
      );
    } else {
      await send(conn, "HTTP/1.0 200 OK\r\n\r\nto the end");
    }
  });
  try {
    const get = rawBlobFetch();
    const a = await get(`${s.base}/a`);
    assert.equal(a.status, 206);
    assert.equal(dec.decode(await readByob(a, 3)), "hello world!");
    const b = await get(`${s.base}/b`);
    assert.equal(await b.text(), "to the end", "a default reader works too");
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: a body cut short of its length or chunks fails the read", async () => {
  const s = scripted(async (conn, _head, n) => {
    await send(
      conn,
      n === 0
        ? "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"
        : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort",
    );
  });
  try {
    for (const path of ["/length", "/chunks"]) {
      const res = await rawBlobFetch()(`${s.base}${path}`);
      await assert.rejects(readByob(res), /cut off/, path);
    }
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: 1xx answers are skipped; 204 has no body; a server that never answers is an error", async () => {
  const s = scripted(async (conn, _head, n) => {
    if (n === 0) await send(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    // n === 1: closes at once
  });
  try {
    const res = await rawBlobFetch()(`${s.base}/a`);
    assert.equal(res.status, 204);
    assert.equal(res.body, null);
    await assert.rejects(rawBlobFetch()(`${s.base}/b`), /closed without answering/);
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: redirects are followed, relative ones too, up to the limit", async () => {
  const s = scripted(async (conn, head) => {
    const path = head.split(" ")[1];
    if (path === "/start") await send(conn, "HTTP/1.1 302 Found\r\nLocation: /next?x=1\r\n\r\n");
    else if (path === "/next?x=1") {
      await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    } else await send(conn, "HTTP/1.1 307 Again\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n");
  });
  try {
    const get = rawBlobFetch();
    const res = await get(`${s.base}/start`, { headers: { Range: "bytes=5-" } });
    assert.equal(await res.text(), "ok");
    assert.match(s.heads[1], /range: bytes=5-/, "the headers go along");
    const manual = await get(`${s.base}/start`, { redirect: "manual" });
    assert.equal(manual.status, 302);
    await manual.body?.cancel();
    await assert.rejects(get(`${s.base}/loop`), /too many redirects/);
    assert.equal(s.heads.filter((h) => h.startsWith("GET /loop")).length, MAX_REDIRECTS + 1);
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: what it does not speak goes to the fallback", async () => {
  const s = scripted(async (conn) => {
    await send(conn, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nxyz");
  });
  const calls: string[] = [];
  const fallback = ((input: string | URL | Request, init?: RequestInit) => {
    calls.push(`${init?.method ?? "GET"} ${String(input)}`);
    return Promise.resolve(new Response("from fallback"));
  }) as typeof fetch;
  try {
    const get = rawBlobFetch(fallback);
    assert.equal(await (await get(`${s.base}/gz`)).text(), "from fallback");
    assert.equal(
      await (await get(`${s.base}/p`, { method: "POST", body: "x" })).text(),
      "from fallback",
    );
    assert.equal(await (await get("data:text/plain,hi")).text(), "from fallback");
    const withUser = s.base.replace("http://", "http://u:pw@") + "/cred";
    assert.equal(await (await get(withUser)).text(), "from fallback");
    assert.deepEqual(calls, [
      `GET ${s.base}/gz`,
      `POST ${s.base}/p`,
      "GET data:text/plain,hi",
      `GET ${withUser}`,
    ]);
    assert.equal(s.heads.length, 1, "the encoded answer was asked for once, then dropped");
  } finally {
    await s.stop();
  }
});

Deno.test("rawBlobFetch: an abort while the body arrives fails the read and closes the connection", async () => {
  let closed!: () => void;
  const sawClose = new Promise<void>((r) => closed = r);
  const s = scripted(async (conn) => {
    await send(conn, "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", pattern(1000));
    // Wait for the client to go away.
    const buf = new Uint8Array(16);
    try {
      while ((await conn.read(buf)) !== null) { /* nothing is sent */ }
    } catch {
      // reset
    }
    closed();
  });
  try {
    const abort = new AbortController();
    const res = await rawBlobFetch()(`${s.base}/big`, { signal: abort.signal });
    const reader = res.body!.getReader({ mode: "byob" });
    const first = await reader.read(new Uint8Array(500));
    assert.equal(first.value?.length, 500);
    abort.abort(new Error("stop"));
    // What was buffered may still come; then the read fails (it never ends cleanly).
    const rest = (async () => {
      for (;;) {
        const r = await reader.read(new Uint8Array(500));
        if (r.done) return "ended";
      }
    })();
    await assert.rejects(rest);
    await sawClose;
  } finally {
    await s.stop();
  }
});
