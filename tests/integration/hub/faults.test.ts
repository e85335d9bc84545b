/** Stand-in Pantahub: each programmable fault kind. */

import assert from "node:assert/strict";
import { type Hub, startHub } from "../../support/hub/server.ts";
import { blobOf, call, seedUserDevice } from "../../support/hub/testing.ts";

const BLOB = /^\/local-s3\//;

/** A hub with alice's 5000-byte object; returns its signed GET URL. */
async function hubWithBlob(opts = {}): Promise<{ hub: Hub; url: string; bytes: Uint8Array }> {
  const hub = await startHub(opts);
  hub.addUser("alice", "a");
  const bytes = new Uint8Array(5000).map((_, i) => i % 251);
  const rec = await hub.addObject("alice", bytes, { name: "big" });
  const token = await hub.issueToken("alice");
  const url = (await call(hub, "GET", `/objects/${rec.sha256sum}`, { token })).json()[
    "signed-geturl"
  ];
  return { hub, url, bytes };
}

/** Reads a response body chunk by chunk: the bytes received and the error, if any. */
async function drain(res: Response): Promise<{ got: number; error?: unknown }> {
  let got = 0;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { got };
      got += value.length;
    }
  } catch (error) {
    return { got, error };
  }
}

Deno.test("fault drop-mid-body: headers and N bytes arrive, then the connection closes", async () => {
  const { hub, url } = await hubWithBlob();
  await using _ = hub;
  hub.faults.add({
    method: "GET",
    path: BLOB,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 1000 },
  });
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Length"), "5000");
  const { got, error } = await drain(res);
  assert.ok(error !== undefined, "the body must fail");
  assert.equal(got, 1000);
  // times: 1 — the next download is whole.
  assert.equal((await call(hub, "GET", url)).bytes.length, 5000);
  assert.deepEqual(hub.requests.at(-2)?.faults, ["drop-mid-body"]);
});

Deno.test("fault drop-mid-body on a JSON answer and with afterBytes 0", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const token = await hub.issueToken("alice");
  hub.faults.add({ path: "/auth/auth_status", action: { kind: "drop-mid-body", afterBytes: 10 } });
  const a = await drain(
    await fetch(`${hub.url}/auth/auth_status`, { headers: { Authorization: `Bearer ${token}` } }),
  );
  assert.equal(a.got, 10);
  assert.ok(a.error);
  hub.faults.clear();
  hub.faults.add({ path: "/trails/", action: { kind: "drop-mid-body", afterBytes: 0 } });
  const b = await drain(await fetch(`${hub.url}/trails/`));
  assert.equal(b.got, 0);
  assert.ok(b.error);
});

Deno.test("fault status: 503 with Retry-After, 500, and 401 with WWW-Authenticate; the handler never runs", async () => {
  await using hub = await startHub();
  hub.faults.add({
    method: "POST",
    path: "/auth/login",
    times: 1,
    action: { kind: "status", status: 503, retryAfter: 2 },
  });
  hub.addUser("alice", "a");
  const body = { username: "alice", password: "a" };
  const r = await call(hub, "POST", "/auth/login", { json: body });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("Retry-After"), "2");
  assert.equal(r.json().code, 503);
  assert.match(r.json().error, /^REST-ERR-ID-/);
  assert.equal((await call(hub, "POST", "/auth/login", { json: body })).status, 200);
  hub.faults.add({ path: "/trails/", times: 1, action: { kind: "status", status: 500 } });
  assert.equal((await call(hub, "GET", "/trails/")).status, 500);
  hub.faults.add({ path: "/trails/", times: 1, action: { kind: "status", status: 401 } });
  const u = await call(hub, "GET", "/trails/");
  assert.equal(u.status, 401);
  assert.equal(u.headers.get("WWW-Authenticate"), hub.wwwAuthenticate);
  hub.faults.add({
    path: "/trails/",
    times: 1,
    action: { kind: "status", status: 502, body: { custom: true } },
  });
  assert.deepEqual((await call(hub, "GET", "/trails/")).json(), { custom: true });
  // A POST that a fault answered did not reach the handler.
  hub.faults.add({ path: "/devices/", action: { kind: "status", status: 500 } });
  await call(hub, "POST", "/devices/", { json: {} });
  assert.equal(hub.devices().length, 0);
});

Deno.test("fault delay: before the answer, or between headers and body", async () => {
  const { hub, url } = await hubWithBlob();
  await using _ = hub;
  hub.faults.add({ path: BLOB, times: 1, action: { kind: "delay", ms: 200 } });
  let t = performance.now();
  await call(hub, "GET", url);
  assert.ok(performance.now() - t >= 190);
  hub.faults.add({ path: BLOB, times: 1, action: { kind: "delay", ms: 400, where: "body" } });
  t = performance.now();
  const res = await fetch(url);
  const headersAt = performance.now() - t;
  assert.equal((await res.arrayBuffer()).byteLength, 5000);
  const bodyAt = performance.now() - t;
  assert.ok(headersAt < 300, `headers after ${headersAt} ms`);
  assert.ok(bodyAt >= 390, `body after ${bodyAt} ms`);
});

Deno.test("fault delay: close() cuts a long delay short", async () => {
  const hub = await startHub();
  hub.faults.add({ action: { kind: "delay", ms: 60_000 } });
  const t = performance.now();
  const pending = call(hub, "GET", "/trails/").catch(() => undefined);
  await new Promise((r) => setTimeout(r, 50));
  await hub.close();
  await pending;
  assert.ok(performance.now() - t < 5000);
});

Deno.test("fault expire-token: the request's token is expired from now on", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  hub.faults.add({
    path: `/trails/${s.device.id}/.pvrremote`,
    times: 1,
    action: { kind: "expire-token" },
  });
  const r = await call(hub, "GET", `/trails/${s.device.id}/.pvrremote`, { token: s.userToken });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("WWW-Authenticate"), hub.wwwAuthenticate);
  assert.equal((await call(hub, "GET", "/trails/", { token: s.userToken })).status, 401);
  assert.equal((await call(hub, "GET", "/auth/login", { token: s.userToken })).status, 401);
  const fresh = await hub.issueToken("alice");
  assert.equal((await call(hub, "GET", "/trails/", { token: fresh })).status, 200);
  // The direct API does the same.
  hub.expireToken(fresh);
  assert.equal((await call(hub, "GET", "/trails/", { token: fresh })).status, 401);
});

Deno.test("fault expire-signed-url: the blob URL answers 403 from now on", async () => {
  const { hub, url } = await hubWithBlob();
  await using _ = hub;
  hub.faults.add({ path: BLOB, times: 1, action: { kind: "expire-signed-url" } });
  assert.equal((await call(hub, "GET", url)).status, 403);
  assert.equal((await call(hub, "GET", url)).status, 403);
  const token = await hub.issueToken("alice");
  const sha = hub.objects("alice")[0].sha256sum;
  const fresh = (await call(hub, "GET", `/objects/${sha}`, { token })).json()["signed-geturl"];
  assert.equal((await call(hub, "GET", fresh)).status, 200);
});

Deno.test("fault wrong-bytes: flip keeps the length, truncate serves a clean short body", async () => {
  const { hub, url, bytes } = await hubWithBlob();
  await using _ = hub;
  hub.faults.add({
    path: BLOB,
    times: 1,
    action: { kind: "wrong-bytes", mode: "flip", offset: 4095, count: 3 },
  });
  const flipped = await call(hub, "GET", url);
  assert.equal(flipped.status, 200);
  assert.equal(flipped.bytes.length, 5000);
  const diff = [...flipped.bytes.keys()].filter((i) => flipped.bytes[i] !== bytes[i]);
  assert.deepEqual(diff, [4095, 4096, 4097]);
  assert.equal(flipped.bytes[4096], bytes[4096] ^ 0xff);
  hub.faults.add({
    path: BLOB,
    times: 1,
    action: { kind: "wrong-bytes", mode: "truncate", keep: 1234 },
  });
  const short = await call(hub, "GET", url);
  assert.equal(short.status, 200);
  assert.equal(short.headers.get("Content-Length"), "1234");
  assert.deepEqual(short.bytes, bytes.subarray(0, 1234));
  hub.faults.add({ path: BLOB, times: 1, action: { kind: "wrong-bytes", mode: "truncate" } });
  assert.equal((await call(hub, "GET", url)).bytes.length, 2500);
});

Deno.test("fault range: ignore Range on one request, or honour it on a hub that ignores", async () => {
  const { hub, url, bytes } = await hubWithBlob();
  await using _ = hub;
  const range = { Range: "bytes=100-199" };
  hub.faults.add({ path: BLOB, times: 1, action: { kind: "range", mode: "ignore" } });
  const ignored = await call(hub, "GET", url, { headers: range });
  assert.equal(ignored.status, 200);
  assert.equal(ignored.bytes.length, 5000);
  const honoured = await call(hub, "GET", url, { headers: range });
  assert.equal(honoured.status, 206);
  assert.deepEqual(honoured.bytes, bytes.subarray(100, 200));

  const other = await hubWithBlob({ range: "ignore" });
  await using _2 = other.hub;
  assert.equal((await call(other.hub, "GET", other.url, { headers: range })).status, 200);
  other.hub.faults.add({ path: BLOB, action: { kind: "range", mode: "honour" } });
  assert.equal((await call(other.hub, "GET", other.url, { headers: range })).status, 206);
});

Deno.test("faults: skip, times, method, exact path, predicate, several actions; handles count", async () => {
  await using hub = await startHub();
  const h = hub.faults.add({
    method: "GET",
    path: "/trails/",
    match: (req) => req.headers.get("X-Test") === "1",
    skip: 1,
    times: 2,
    action: [{ kind: "delay", ms: 1 }, { kind: "status", status: 503 }],
  });
  const get = (x = "1") => call(hub, "GET", "/trails/", { headers: { "X-Test": x } });
  assert.equal((await get()).status, 401); // skipped
  assert.equal((await get("0")).status, 401); // predicate false
  assert.equal((await call(hub, "POST", "/trails/", { headers: { "X-Test": "1" } })).status, 401);
  assert.equal((await get()).status, 503);
  assert.equal(h.hits, 1);
  assert.equal(h.remaining, 1);
  assert.equal((await get()).status, 503);
  assert.equal(h.remaining, 0);
  assert.equal(hub.faults.rules.length, 0);
  assert.equal((await get()).status, 401);
  const k = hub.faults.add({ action: { kind: "status", status: 500 } });
  assert.equal((await call(hub, "GET", "/nowhere")).status, 500);
  k.remove();
  assert.equal((await call(hub, "GET", "/nowhere")).status, 404);
  assert.deepEqual(hub.requests.find((r) => r.status === 503)?.faults, ["delay", "status"]);
});

Deno.test("fault drop-mid-body on an upload answer: the client cannot read a complete reply", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const token = await hub.issueToken("alice");
  const f = blobOf("payload");
  const o = (await call(hub, "POST", "/objects/", {
    token,
    json: { objectname: "p", sha256sum: f.sha, size: String(f.bytes.length) },
  })).json();
  hub.faults.add({
    method: "PUT",
    path: BLOB,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 0 },
  });
  const res = await fetch(o["signed-puturl"], { method: "PUT", body: f.bytes });
  const { error } = await drain(res);
  assert.ok(error);
});
