/** The transfer helpers: backoff, Retry-After, the worker pool, statuses, URL joins. */

import assert from "node:assert/strict";
import {
  backoffDelay,
  DEFAULT_RETRY,
  httpStatusError,
  isRetryableStatus,
  joinUrl,
  parseRetryAfter,
  resolveTransferOptions,
  runPool,
} from "../../../core/remote/pantahub/transfer.ts";
import { PvrError } from "../../../core/errors.ts";

Deno.test("backoffDelay() doubles from the base, jitters up to 25%, and is capped", () => {
  for (let i = 0; i < 50; i++) {
    const d1 = backoffDelay(DEFAULT_RETRY, 1);
    assert.ok(d1 >= 250 && d1 <= 312.5, String(d1));
    const d3 = backoffDelay(DEFAULT_RETRY, 3);
    assert.ok(d3 >= 1000 && d3 <= 1250, String(d3));
    assert.equal(backoffDelay(DEFAULT_RETRY, 20), 8000);
  }
  assert.equal(backoffDelay({ ...DEFAULT_RETRY, baseDelayMs: 1 }, 1, 5000), 5000);
  assert.equal(backoffDelay(DEFAULT_RETRY, 1, 60_000), 8000);
});

Deno.test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3"), 3000);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  const now = Date.parse("2024-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Mon, 01 Jan 2024 00:00:10 GMT", now), 10_000);
});

Deno.test("isRetryableStatus(): 408, 429 and 5xx but 501/505", () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [200, 400, 401, 403, 404, 409, 416, 501, 505]) {
    assert.ok(!isRetryableStatus(s), String(s));
  }
});

Deno.test("runPool() bounds concurrency and stops at the first failure", async () => {
  let running = 0;
  let peak = 0;
  const done: number[] = [];
  await runPool([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    done.push(n);
  });
  assert.equal(peak, 3);
  assert.deepEqual(done.sort(), [1, 2, 3, 4, 5, 6, 7]);

  const started: number[] = [];
  let aborted = 0;
  await assert.rejects(
    runPool([1, 2, 3, 4, 5, 6], 2, async (n, signal) => {
      started.push(n);
      if (n === 1) throw new Error("boom");
      await new Promise((r) => setTimeout(r, 20));
      if (signal.aborted) aborted++;
    }),
    /boom/,
  );
  assert.deepEqual(started, [1, 2]);
  assert.equal(aborted, 1);
});

Deno.test("httpStatusError(): AUTH for 401/403, REMOTE otherwise, the server's msg, one line", () => {
  assert.equal(httpStatusError("GET x", 401, "Unauthorized").code, "AUTH");
  assert.equal(httpStatusError("GET x", 403, "Forbidden").code, "AUTH");
  assert.equal(httpStatusError("GET x", 403, "Forbidden", "", "REMOTE").code, "REMOTE");
  const e = httpStatusError("GET x", 500, "Internal Server Error", '{"msg":"Quota\\nexceeded"}');
  assert.equal(e.code, "REMOTE");
  assert.equal(e.message, "GET x failed: 500 Internal Server Error (Quota exceeded)");
});

Deno.test("joinUrl() and resolveTransferOptions()", () => {
  assert.equal(joinUrl("https://h/a/objects", ""), "https://h/a/objects/");
  assert.equal(joinUrl("https://h/a/objects/", "ab"), "https://h/a/objects/ab");
  assert.equal(joinUrl("https://h/o?x=1#f", "ab"), "https://h/o/ab?x=1");
  assert.equal(resolveTransferOptions().jobs, 8);
  for (const jobs of [0, 1.5, 1000]) {
    assert.throws(
      () => resolveTransferOptions({ jobs }),
      (e) => e instanceof PvrError && e.code === "USAGE",
    );
  }
});

Deno.test("resolveTransferOptions(): blob transfers go through fetch when the environment names a proxy", async () => {
  const module = new URL("../../../core/remote/pantahub/transfer.ts", import.meta.url).href;
  const code = `const { resolveTransferOptions } = await import(${JSON.stringify(module)});
    const o = resolveTransferOptions();
    console.log(o.fetch === globalThis.fetch ? "fetch" : "raw");`;
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: new URL("../../../", import.meta.url).pathname, // deno.json's imports
      env: { ...env, NO_COLOR: "1", DENO_DIR: Deno.env.get("DENO_DIR") ?? "" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  assert.equal(await run({}), "raw");
  assert.equal(await run({ https_proxy: "http://127.0.0.1:9" }), "fetch");
  assert.equal(await run({ ALL_PROXY: "http://127.0.0.1:9" }), "fetch");
});
