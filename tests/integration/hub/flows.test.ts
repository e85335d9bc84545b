/**
 * Stand-in Pantahub: whole client sequences of pvr-reference.md Appendix C and §8.8
 * (device create, post, clone), plus routing, the request log and persistence.
 */

import assert from "node:assert/strict";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { fromPlain } from "../../../core/model/json_value.ts";
import { startHub } from "../../support/hub/server.ts";
import { blobOf, call, login } from "../../support/hub/testing.ts";

const SPEC = "pantavisor-service-system@1";
const ANON = "prn:pantahub.com:auth:/anon";

Deno.test("flow: device create, post a revision, anonymous clone of the public device", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const user = await login(hub, "alice", "secret");
  const files = { "bsp/kernel.img": blobOf("K"), "app/x.squashfs": blobOf("X") };
  const state: Record<string, unknown> = { "#spec": SPEC, "bsp/run.json": { addon: [] } };

  // device create (§8.8): objects (force), device, device login, trail.
  for (const [key, f] of Object.entries(files)) {
    state[key] = f.sha;
    const r = await call(hub, "POST", "/objects/", {
      token: user,
      json: { objectname: key, sha256sum: f.sha, size: String(f.bytes.length) },
    });
    assert.equal(r.status, 200);
    const put = await call(hub, "PUT", r.json()["signed-puturl"], { body: f.bytes });
    assert.equal(put.status, 200);
  }
  const dev = (await call(hub, "POST", "/devices/", { token: user, json: { nick: "box" } }))
    .json();
  const devToken = await login(hub, dev.prn, dev.secret);
  const trail = await call(hub, "POST", "/trails/", { token: devToken, json: state });
  assert.equal(trail.status, 200);
  const repo = `${hub.url}/trails/${dev.id}`;

  // post (Appendix C): .pvrremote, baseline, new objects, step.
  const remote = (await call(hub, "GET", `${repo}/.pvrremote`, { token: user })).json();
  const baseline = (await call(hub, "GET", remote["json-get-url"], { token: user })).json();
  assert.deepEqual(baseline, state);
  const extra = blobOf("new app");
  const next = { ...state, "app2/x.squashfs": extra.sha };
  const posted = await call(hub, "POST", remote["objects-endpoint"] + "/", {
    token: user,
    json: { objectname: "app2/x.squashfs", sha256sum: extra.sha, size: String(extra.bytes.length) },
  });
  assert.equal(posted.status, 200);
  await call(hub, "PUT", posted.json()["signed-puturl"], { body: extra.bytes });
  const envelope = canonicalJson(fromPlain({ "commit-msg": "add app2", rev: -1, state: next }));
  const step = await call(hub, "POST", remote["post-url"], {
    token: user,
    body: envelope,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
  assert.equal(step.status, 200);
  assert.equal(step.json().rev, 1);
  assert.equal(typeof step.json()["state-sha"], "string");

  // clone by an anonymous principal once the device is public.
  await call(hub, "PUT", `/devices/${dev.id}/public`, { token: user });
  const anon = await call(hub, "POST", "/auth/login", {
    json: {
      username: ANON,
      password: ANON,
      scope: "devices.readonly objects.readonly trails.readonly",
    },
  });
  const a = anon.json().token;
  const r2 = (await call(hub, "GET", `${repo}/.pvrremote`, { token: a })).json();
  assert.equal(r2["json-get-url"], `${repo}/steps/1/state`);
  const cloned = (await call(hub, "GET", r2["json-get-url"], { token: a })).json();
  assert.deepEqual(cloned, next);
  const all: Record<string, { bytes: Uint8Array }> = { ...files, "app2/x.squashfs": extra };
  for (const [key, value] of Object.entries(cloned)) {
    if (key === "#spec" || typeof value !== "string") continue;
    const info = await call(hub, "GET", `${r2["objects-endpoint"]}/${value}`, { token: a });
    assert.equal(info.status, 200, key);
    assert.equal(info.json().objectname, key);
    assert.equal(info.json()["signed-puturl"], "");
    const blob = await call(hub, "GET", info.json()["signed-geturl"]);
    assert.deepEqual(blob.bytes, all[key].bytes);
  }
});

Deno.test("routing: 404/405 framework errors, 301 for a bare mount, plain 404 outside mounts", async () => {
  await using hub = await startHub();
  const token = (hub.addUser("alice", "a"), await hub.issueToken("alice"));
  const notFound = await call(hub, "GET", "/trails/a/b/c/d/e/f/g", { token });
  assert.equal(notFound.status, 404);
  assert.deepEqual(notFound.json(), { Error: "Resource not found" });
  const method = await call(hub, "DELETE", "/trails/", { token });
  assert.equal(method.status, 405);
  assert.deepEqual(method.json(), { Error: "Method not allowed" });
  assert.equal(method.headers.get("X-Powered-By"), "go-json-rest");
  const bare = await call(hub, "GET", "/trails");
  assert.equal(bare.status, 301);
  assert.equal(bare.headers.get("Location"), "/trails/");
  const outside = await call(hub, "GET", "/nowhere");
  assert.equal(outside.status, 404);
  assert.equal(outside.text, "404 page not found\n");
  // Only the trails app strips a trailing slash.
  assert.equal((await call(hub, "GET", "/devices/auth_status/", { token })).status, 404);
  assert.equal((await call(hub, "GET", "/trails/auth_status/", { token })).status, 200);
});

Deno.test("request log: method, path, status, principal; tokens, signed URLs and challenges redacted", async () => {
  await using hub = await startHub();
  const u = hub.addUser("alice", "secret");
  const token = await login(hub, "alice", "secret");
  const f = blobOf("x");
  const o = (await call(hub, "POST", "/objects/", {
    token,
    json: { objectname: "x", sha256sum: f.sha, size: "1" },
  })).json();
  await call(hub, "PUT", o["signed-puturl"], { body: f.bytes });
  const d = hub.addDevice();
  const challenge = d.challenge; // the live record is cleared by the claim
  await call(hub, "PUT", `/devices/${d.id}?challenge=${challenge}`, { token });
  await call(hub, "GET", `/objects/${f.sha}/blob`, { token });
  const log = hub.requests;
  assert.deepEqual(log.map((r) => [r.method, r.status]), [
    ["POST", 200],
    ["POST", 200],
    ["PUT", 200],
    ["PUT", 200],
    ["GET", 302],
  ]);
  assert.equal(log[0].path, "/auth/login");
  assert.equal(log[0].request["content-type"], "application/json");
  assert.equal(log[1].principal, u.prn);
  assert.match(log[1].request.authorization, /^Bearer sha256:[0-9a-f]{12}$/);
  assert.equal(log[1].response["pantahub-object-type"], "object");
  assert.equal(log[2].path, "/local-s3/[redacted]");
  assert.equal(log[3].query, "?challenge=%5Bredacted%5D");
  assert.equal(log[4].response.location, `${hub.url}/local-s3/[redacted]`);
  const text = JSON.stringify(log);
  for (const secret of [token, "secret", challenge, o["signed-puturl"].split("/").pop()]) {
    assert.ok(!text.includes(secret), `a secret leaked into the request log: ${secret}`);
  }
  const bad = await call(hub, "GET", "/trails/000000000000000000000000", { token });
  assert.equal(bad.status, 500);
  assert.match(hub.requests.at(-1)?.reason ?? "", /not found/);
  hub.clearRequests();
  assert.equal(hub.requests.length, 0);
});

Deno.test("persistence: a data file keeps accounts, devices, trails, objects and tokens across restarts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvr-hub-data-" });
  try {
    const opts = { dataFile: `${dir}/hub.json`, blobDir: `${dir}/blobs` };
    let token: string;
    let id: string;
    const f = blobOf("persisted");
    {
      await using hub = await startHub(opts);
      hub.addUser("alice", "a");
      token = await login(hub, "alice", "a");
      const dev = (await call(hub, "POST", "/devices/", { token, json: { nick: "d" } })).json();
      id = dev.id;
      await hub.addObject("alice", f.bytes, { name: "p" });
      const devToken = await login(hub, dev.prn, dev.secret);
      const state = { "#spec": SPEC, p: f.sha, "x.json": { n: 1.5 } };
      assert.equal(
        (await call(hub, "POST", "/trails/", { token: devToken, json: state })).status,
        200,
      );
    }
    assert.equal(((await Deno.stat(opts.dataFile)).mode ?? 0) & 0o777, 0o600);
    await using hub = await startHub(opts);
    assert.equal((await call(hub, "GET", "/auth/auth_status", { token })).status, 200);
    const st = await call(hub, "GET", `/trails/${id}/steps/0/state`, { token });
    assert.equal(st.text, `{"#spec":"${SPEC}","p":"${f.sha}","x.json":{"n":1.5E0}}`);
    const info = await call(hub, "GET", `/trails/${id}/steps/0/objects/${f.sha}`, { token });
    assert.equal((await call(hub, "GET", info.json()["signed-geturl"])).text, "persisted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts prints the base URL and the demo account, which can log in", async () => {
  const main = new URL("../../support/hub/main.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "--port", "0"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("demo account")) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    assert.ok(url, out);
    assert.ok(out.includes(`user "demo", password "demo"`));
    const r = await fetch(`${url}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "demo", password: "demo" }),
    });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    reader.releaseLock();
  } finally {
    child.kill("SIGTERM");
    await child.stdout.cancel().catch(() => {});
    await child.status;
  }
});
