/** The HTTP client: redaction, retries, Retry-After, redirects, timeouts. */

import assert from "node:assert/strict";
import { isPvrError, PvrError } from "../../../core/errors.ts";
import {
  HttpClient,
  redact,
  redactUrl,
  retryAfterMs,
  USER_AGENT,
} from "../../../core/remote/http.ts";
import { redactUrl as redactUrlFromSource } from "../../../core/remote/source.ts";

/** A scripted fetch: each call takes the next step (a Response, an Error, or a function). */
function scripted(steps: Array<Response | Error | ((req: Request) => Promise<Response>)>) {
  const seen: Request[] = [];
  const fn = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    seen.push(req);
    const step = steps.shift();
    if (step === undefined) return Promise.reject(new Error("no more steps"));
    if (step instanceof Error) return Promise.reject(step);
    if (typeof step === "function") return step(req);
    return Promise.resolve(step);
  };
  return { fetch: fn as typeof fetch, seen };
}

function client(
  fetchFn: typeof fetch,
  extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {},
) {
  const sleeps: number[] = [];
  const http = new HttpClient({
    fetch: fetchFn,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    now: () => Date.UTC(2024, 0, 1),
    ...extra,
  });
  return { http, sleeps };
}

Deno.test("redactUrl drops credentials, query strings and signed path tokens", () => {
  assert.equal(
    redactUrl("https://user:pw@hub.example/local-s3/abc.def?sig=1#frag"),
    "https://hub.example/local-s3/[redacted]?…#frag",
  );
  assert.equal(redactUrl("http://h:1/s3/tok"), "http://h:1/s3/[redacted]");
  assert.equal(redactUrl("http://h/a/eyJhbGc.eyJzdWIi.sig/b"), "http://h/a/[redacted]/b");
  assert.equal(redactUrl("http://h/devices/123?challenge=x"), "http://h/devices/123?…");
  assert.equal(redactUrl("not a url?secret=1"), "not a url?…");
  assert.equal(redactUrlFromSource, redactUrl, "source.ts re-exports the same function");
});

Deno.test("redact removes known secrets, JWTs, bearer credentials and URL queries", () => {
  const text =
    "failed: Bearer abc123 at https://h/x?token=t and eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.sig with hunter22";
  const out = redact(text, ["hunter22"]);
  assert.ok(!out.includes("abc123"));
  assert.ok(!out.includes("token=t"));
  assert.ok(!out.includes("eyJ"));
  assert.ok(!out.includes("hunter22"));
  assert.match(out, /Bearer \[redacted\]/);
});

Deno.test("retryAfterMs reads seconds and HTTP dates", () => {
  const now = Date.UTC(2024, 0, 1);
  assert.equal(retryAfterMs("3", now), 3000);
  assert.equal(retryAfterMs(new Date(now + 5000).toUTCString(), now), 5000);
  assert.equal(retryAfterMs(null, now), undefined);
  assert.equal(retryAfterMs("soon", now), undefined);
});

Deno.test("a GET is retried on 503 and 500 with growing backoff, then succeeds", async () => {
  const s = scripted([
    new Response("", { status: 503 }),
    new Response("", { status: 500 }),
    new Response("ok"),
  ]);
  const { http, sleeps } = client(s.fetch);
  const res = await http.request({ method: "GET", url: "http://h/x" });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  assert.equal(s.seen.length, 3);
  assert.deepEqual(sleeps, [188, 375]); // 250 and 500, half fixed + half jitter (0.5)
  assert.equal(s.seen[0].headers.get("User-Agent"), USER_AGENT);
  assert.match(USER_AGENT, /^pvr\/\d+\.\d+\.\d+ \(deno\)$/);
});

Deno.test("Retry-After is honoured when longer than the backoff; too long is not waited for", async () => {
  const s = scripted([
    new Response("", { status: 503, headers: { "Retry-After": "2" } }),
    new Response("ok"),
  ]);
  const { http, sleeps } = client(s.fetch);
  assert.equal((await http.request({ method: "GET", url: "http://h/x" })).status, 200);
  assert.deepEqual(sleeps, [2000]);

  const s2 = scripted([new Response("busy", { status: 503, headers: { "Retry-After": "3600" } })]);
  const c2 = client(s2.fetch);
  const res = await c2.http.request({ method: "GET", url: "http://h/x" });
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "busy");
  assert.deepEqual(c2.sleeps, []);
});

Deno.test("a POST is retried on 502/503/504 and transport errors but not on 500", async () => {
  const s = scripted([
    new TypeError("connection refused"),
    new Response("", { status: 502 }),
    new Response("boom", { status: 500 }),
  ]);
  const { http } = client(s.fetch);
  const res = await http.request({ method: "POST", url: "http://h/x", body: "{}" });
  assert.equal(res.status, 500);
  assert.equal(s.seen.length, 3);
  for (const r of s.seen) assert.equal(await r.text(), "{}", "the body is sent again");
});

Deno.test("attempts are bounded: five transport errors give one REMOTE error", async () => {
  const s = scripted(
    Array.from({ length: 9 }, () => new TypeError("dns failure for token s3cr3tT")),
  );
  const { http, sleeps } = client(s.fetch);
  http.addSecret("s3cr3tT");
  await assert.rejects(
    http.request({ method: "GET", url: "http://h/x?signature=abc" }),
    (err: unknown) => {
      assert.ok(isPvrError(err, "REMOTE"));
      assert.match(err.message, /after 5 attempts/);
      assert.ok(!err.message.includes("signature=abc"));
      assert.ok(!err.message.includes("s3cr3tT"));
      return true;
    },
  );
  assert.equal(s.seen.length, 5);
  assert.equal(sleeps.length, 4);
  assert.ok(sleeps.every((ms, i) => i === 0 || ms >= sleeps[i - 1]));
});

Deno.test("retry: none makes one attempt", async () => {
  const s = scripted([new Response("", { status: 503 }), new Response("ok")]);
  const { http } = client(s.fetch);
  const res = await http.request({ method: "GET", url: "http://h/x", retry: "none" });
  assert.equal(res.status, 503);
  await res.body?.cancel();
  assert.equal(s.seen.length, 1);
});

Deno.test("GET follows redirects, dropping Authorization for another origin", async () => {
  const s = scripted([
    new Response(null, { status: 302, headers: { Location: "/b" } }),
    new Response(null, { status: 301, headers: { Location: "http://other/c" } }),
    new Response("done"),
  ]);
  const { http } = client(s.fetch);
  const res = await http.request({
    method: "GET",
    url: "http://h/a",
    headers: { Authorization: "Bearer t0ken" },
  });
  assert.equal(await res.text(), "done");
  assert.deepEqual(s.seen.map((r) => r.url), ["http://h/a", "http://h/b", "http://other/c"]);
  assert.equal(s.seen[1].headers.get("Authorization"), "Bearer t0ken");
  assert.equal(s.seen[2].headers.get("Authorization"), null);
});

Deno.test("redirects are bounded, and not followed for a POST", async () => {
  const loop = () =>
    Promise.resolve(new Response(null, { status: 302, headers: { Location: "/" } }));
  const s = scripted(Array.from({ length: 10 }, () => loop));
  const { http } = client(s.fetch);
  await assert.rejects(http.request({ method: "GET", url: "http://h/" }), /more than 5 redirects/);
  assert.equal(s.seen.length, 6);
  const p = scripted([new Response(null, { status: 307, headers: { Location: "/x" } })]);
  const res = await client(p.fetch).http.request({ method: "POST", url: "http://h/", body: "" });
  assert.equal(res.status, 307);
});

Deno.test("a request that gets no answer times out and is retried", async () => {
  const hang = (req: Request) =>
    new Promise<Response>((_, reject) => {
      req.signal.addEventListener("abort", () => reject(req.signal.reason));
    });
  const s = scripted([hang, new Response("late but fine")]);
  const { http } = client(s.fetch, { timeoutMs: 20 });
  const res = await http.request({ method: "GET", url: "http://h/slow" });
  assert.equal(await res.text(), "late but fine");
  assert.equal(s.seen.length, 2);
});

Deno.test("a body that stalls fails with a REMOTE timeout error", async () => {
  const stalled = (req: Request) => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1]));
        req.signal.addEventListener("abort", () => c.error(req.signal.reason));
      },
    });
    return Promise.resolve(new Response(body));
  };
  const s = scripted([stalled]);
  const { http } = client(s.fetch, { timeoutMs: 30 });
  const res = await http.request({ method: "GET", url: "http://h/slow" });
  await assert.rejects(res.arrayBuffer(), (err: unknown) => {
    assert.ok(err instanceof PvrError && err.code === "REMOTE");
    assert.match(err.message, /no data within/);
    return true;
  });
});

Deno.test("buffer: a broken body is retried for a GET, never for a POST", async () => {
  const broken = () =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode("{"));
            c.error(new TypeError("connection reset"));
          },
        }),
      ),
    );
  const s = scripted([broken, new Response('{"ok":true}')]);
  const { http } = client(s.fetch);
  const res = await http.request({ method: "GET", url: "http://h/x", buffer: true });
  assert.deepEqual(await res.json(), { ok: true });
  assert.equal(s.seen.length, 2);

  const p = scripted([broken, new Response("{}")]);
  await assert.rejects(
    client(p.fetch).http.request({ method: "POST", url: "http://h/x", body: "{}", buffer: true }),
    /not repeated/,
  );
  assert.equal(p.seen.length, 1);
});
