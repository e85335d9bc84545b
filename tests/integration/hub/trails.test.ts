/** Stand-in Pantahub: trails, steps, state, .pvrremote (pantahub-api.md §3, §5). */

import assert from "node:assert/strict";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { sha256Bytes } from "../../../core/store/hash.ts";
import { manualClock, startHub } from "../../support/hub/server.ts";
import { blobOf, call, login, seedUserDevice } from "../../support/hub/testing.ts";

const SPEC = "pantavisor-service-system@1";

Deno.test("hub: a device creates its trail with POST /trails/; rev 0 is DONE", async () => {
  const clock = manualClock(Date.UTC(2024, 4, 5, 6, 7, 8, 900));
  await using hub = await startHub({ now: clock.now });
  const u = hub.addUser("alice", "a");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "s" });
  const f = blobOf("data");
  await hub.addObject("alice", f.bytes);
  const token = await login(hub, d.prn, "s");
  const state = { "#spec": SPEC, "a/file": f.sha, "bsp/run.json": { x: 1.5 } };
  const r = await call(hub, "POST", "/trails/", { token, json: state });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("PhJsonFormat"), "gibson042-canonicaljson");
  const t = r.json();
  assert.equal(t.id, d.id);
  assert.equal(t.owner, u.prn);
  assert.equal(t.device, d.prn);
  assert.deepEqual(t["factory-state"], state);
  assert.equal(t["last-touched"], "2024-05-05T06:07:08.9Z");
  assert.equal(t["last-insync"], "0001-01-01T00:00:00Z");
  assert.equal(r.text, canonicalJson(parseJson(r.text)));
  const s0 = hub.step(d.id, 0)!;
  assert.equal(s0.progress.status, "DONE");
  assert.equal(s0.commitMsg, "Factory State (rev 0)");
  // A second POST fails on the duplicate key; a user cannot create trails.
  assert.equal((await call(hub, "POST", "/trails/", { token, json: state })).status, 500);
  const user = await hub.issueToken("alice");
  assert.equal((await call(hub, "POST", "/trails/", { token: user, json: state })).status, 403);
  assert.equal(
    (await call(hub, "POST", "/trails/", { token: "bad", json: state })).status,
    401,
  );
});

Deno.test("hub: POST /trails/ refuses a state whose objects were never uploaded", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const d = hub.addDevice({ owner: "alice", secret: "s" });
  const f = blobOf("x");
  await hub.addObject("alice", f.bytes, { upload: false }); // registered only
  const token = await hub.issueToken(d.id);
  const r = await call(hub, "POST", "/trails/", { token, json: { "#spec": SPEC, f: f.sha } });
  assert.equal(r.status, 500);
  assert.match(r.headers.get("X-Hub-Reason") ?? "", /factory-state.*No backing file nor link/);
  assert.equal(hub.trail(d.id), undefined);
});

Deno.test("hub: .pvrremote has the exact canonical shape for the trail and for a step", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  const r = await call(hub, "GET", `/trails/${id}/.pvrremote`, { token: s.userToken });
  assert.equal(r.status, 200);
  const b = hub.url;
  assert.equal(
    r.text,
    `{"json-get-url":"${b}/trails/${id}/steps/0/state","json-key":"state",` +
      `"objects-endpoint":"${b}/trails/${id}/steps/0/objects","post-fields":["commit-msg"],` +
      `"post-fields-opt":["rev"],"post-url":"${b}/trails/${id}/steps","pvr-spec":"pvr-pantahub-1",` +
      `"step-get-url":"${b}/trails/${id}/steps/0"}`,
  );
  const st = await call(hub, "GET", `/trails/${id}/steps/0/.pvrremote`, { token: s.userToken });
  assert.equal(
    st.text,
    `{"json-get-url":"${b}/trails/${id}/steps/0/state","json-key":"state",` +
      `"objects-endpoint":"${b}/trails/${id}/steps/0/objects","post-fields":["msg"],` +
      `"post-fields-opt":[],"post-url":"${b}/trails/${id}/steps","pvr-spec":"pvr-pantahub-1",` +
      `"step-get-url":"${b}/trails/${id}/steps/0"}`,
  );
  // The trail form follows the latest rev.
  await hub.addStep(id, s.state);
  const r1 = (await call(hub, "GET", `/trails/${id}/.pvrremote`, { token: s.userToken })).json();
  assert.equal(r1["json-get-url"], `${b}/trails/${id}/steps/1/state`);
});

Deno.test("hub: .pvrremote access: 403 for a foreign private trail, 500 for unknown ids, public for anon", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  hub.addUser("bob", "b");
  const bob = await hub.issueToken("bob");
  const id = s.device.id;
  const foreign = await call(hub, "GET", `/trails/${id}/.pvrremote`, { token: bob });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.get("WWW-Authenticate"), null);
  assert.equal(
    (await call(hub, "GET", `/trails/${id}/steps/0/.pvrremote`, { token: bob })).status,
    403,
  );
  assert.equal(
    (await call(hub, "GET", "/trails/000000000000000000000000/.pvrremote", { token: bob }))
      .status,
    500,
  );
  assert.equal((await call(hub, "GET", "/trails/nothex/.pvrremote", { token: bob })).status, 500);
  assert.equal((await call(hub, "GET", `/trails/${id}/.pvrremote`)).status, 401);
  await call(hub, "PUT", `/devices/${id}/public`, { token: s.userToken });
  const anon = await hub.issueToken("prn:pantahub.com:auth:/anon");
  assert.equal((await call(hub, "GET", `/trails/${id}/.pvrremote`, { token: anon })).status, 200);
  const st = await call(hub, "GET", `/trails/${id}/steps/0/state`, { token: anon });
  assert.deepEqual(st.json(), s.state);
});

Deno.test("hub: state GET returns the state, and 200 {} for a missing or foreign step", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  hub.addUser("bob", "b");
  const id = s.device.id;
  const r = await call(hub, "GET", `/trails/${id}/steps/0/state`, { token: s.userToken });
  assert.equal(r.status, 200);
  assert.equal(r.text, canonicalJson(parseJson(JSON.stringify(s.state))));
  const missing = await call(hub, "GET", `/trails/${id}/steps/7/state`, { token: s.userToken });
  assert.equal(missing.status, 200);
  assert.equal(missing.text, "{}");
  const bob = await hub.issueToken("bob");
  assert.equal((await call(hub, "GET", `/trails/${id}/steps/0/state`, { token: bob })).text, "{}");
  assert.equal(
    (await call(hub, "GET", "/trails/000000000000000000000000/steps/0/state", { token: bob }))
      .status,
    500,
  );
});

Deno.test("hub: POST steps with rev -1 appends; explicit revs need rev-1; duplicates are 500", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  const post = (body: unknown) =>
    call(hub, "POST", `/trails/${id}/steps`, {
      token: s.userToken,
      body: JSON.stringify(body),
      headers: { "Content-Type": "text/plain; charset=utf-8" }, // as resty sniffs it
    });
  const r1 = await post({ "commit-msg": "one", rev: -1, state: s.state });
  assert.equal(r1.status, 200);
  const step = r1.json();
  assert.equal(step.rev, 1);
  assert.equal(step.id, `${id}-1`);
  assert.equal(step["trail-id"], id);
  assert.equal(step["commit-msg"], "one");
  assert.equal(step.progress.status, "NEW");
  assert.equal(step["progress-time"], "1970-01-01T00:00:00Z");
  assert.deepEqual(step.meta, {});
  assert.equal(
    step["state-sha"],
    sha256Bytes(new TextEncoder().encode(canonicalJson(
      parseJson(JSON.stringify(s.state)),
    ))),
  );
  assert.equal((await post({ rev: 3, state: s.state })).status, 500); // step 2 missing
  assert.equal((await post({ rev: 1, state: s.state })).status, 500); // duplicate
  assert.equal((await post({ state: s.state })).status, 500); // rev missing = 0
  assert.equal((await post({ rev: 2, state: s.state })).json().rev, 2);
  assert.equal((await post({ rev: -1, state: s.state })).json().rev, 3);
  assert.equal((await post({ rev: "4", state: s.state })).status, 400);
  assert.equal((await post({ rev: 1.5, state: s.state })).status, 400);
  // Steps list: rev order, DONE rev 0 excluded by default.
  const list = await call(hub, "GET", `/trails/${id}/steps`, { token: s.userToken });
  assert.deepEqual(list.json().map((x: { rev: number }) => x.rev), [1, 2, 3]);
  const all = await call(
    hub,
    "GET",
    `/trails/${id}/steps?progress.status=${encodeURIComponent('{"$in":["NEW","DONE"]}')}`,
    { token: s.userToken },
  );
  assert.deepEqual(all.json().map((x: { rev: number }) => x.rev), [0, 1, 2, 3]);
  // The trailing-slash form reaches the same handler.
  const slash = await call(hub, "GET", `/trails/${id}/steps/`, { token: s.userToken });
  assert.equal(slash.text, list.text);
  // A device sees its NEW steps, one at a time.
  const dev = await call(hub, "GET", `/trails/${id}/steps`, { token: s.deviceToken });
  assert.deepEqual(dev.json().map((x: { rev: number }) => x.rev), [1]);
});

Deno.test("hub: state-sha ignores whitespace and key order; numbers hash as Go float64 values", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  const keys = Object.keys(s.state);
  const a = `{"rev":-1,"state":{${keys.map((k) => `"${k}":"${s.state[k]}"`).join(",")}}}`;
  const b = `{ "state" : {\n${
    keys.reverse().map((k) => `  "${k}" : "${s.state[k]}"`).join(",\n")
  } }, "rev": -1 }`;
  const ra = (await call(hub, "POST", `/trails/${id}/steps`, { token: s.userToken, body: a }))
    .json();
  const rb = (await call(hub, "POST", `/trails/${id}/steps`, { token: s.userToken, body: b }))
    .json();
  assert.equal(ra["state-sha"], rb["state-sha"]);
  const withNum = { ...s.state, "c.json": 1.50, "d.json": 12345678901234567891 };
  const text = JSON.stringify({ rev: -1, state: withNum }).replace("1.5", "1.50")
    .replace("12345678901234567000", "12345678901234567891");
  assert.ok(text.includes("12345678901234567891"));
  const rn = await call(hub, "POST", `/trails/${id}/steps`, { token: s.userToken, body: text });
  assert.equal(rn.status, 200);
  const expected = canonicalJson(parseJson(JSON.stringify(withNum)));
  assert.ok(expected.includes(`"c.json":1.5E0`));
  assert.ok(expected.includes(`"d.json":12345678901234567000`));
  assert.equal(rn.json()["state-sha"], sha256Bytes(new TextEncoder().encode(expected)));
  const st = await call(hub, "GET", `/trails/${id}/steps/${rn.json().rev}/state`, {
    token: s.userToken,
  });
  assert.equal(st.text, expected);
});

Deno.test("hub: state validation refuses bad #spec, non-string and non-sha values, missing objects", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  const registered = blobOf("registered-only");
  await hub.addObject("alice", registered.bytes, { upload: false });
  const sha = s.files["bsp/kernel.img"].sha;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ a: sha }, /#spec is missing/],
    [{ "#spec": 1, a: sha }, /should be string/],
    [{ "#spec": "pantavisor-service-system@2", a: sha }, /should not be/],
    [{ "#spec": SPEC, a: 5 }, /Object is not a string\[a\]/],
    [{ "#spec": SPEC, a: "xyz" }, /not a valid sha\[a\]/],
    [{ "#spec": SPEC, a: "f".repeat(64) }, /No link target available/],
    [{ "#spec": SPEC, a: registered.sha }, /No backing file nor link/],
  ];
  for (const [state, reason] of cases) {
    const r = await call(hub, "POST", `/trails/${id}/steps`, {
      token: s.userToken,
      json: { rev: -1, state },
    });
    assert.equal(r.status, 500, JSON.stringify(state));
    assert.match(r.headers.get("X-Hub-Reason") ?? "", reason);
    assert.match(r.json().error, /^REST-ERR-ID-/);
  }
  // Accepted: {}, .json keys of any value, and key paths the client would refuse.
  for (const state of [{}, { "#spec": SPEC, "x.json": 5, "../odd key": sha }]) {
    const r = await call(hub, "POST", `/trails/${id}/steps`, {
      token: s.userToken,
      json: { rev: -1, state },
    });
    assert.equal(r.status, 200, JSON.stringify(state));
  }
  assert.equal(hub.steps(id).length, 3);
});

Deno.test("hub: step POST access: other users 403, devices of the same owner pass", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  hub.addUser("bob", "b");
  const id = s.device.id;
  const bob = await hub.issueToken("bob");
  const body = { rev: -1, state: s.state };
  assert.equal(
    (await call(hub, "POST", `/trails/${id}/steps`, { token: bob, json: body })).status,
    403,
  );
  const sibling = hub.addDevice({ owner: "alice", nick: "dev2" });
  const sib = await hub.issueToken(sibling.id);
  assert.equal(
    (await call(hub, "POST", `/trails/${id}/steps`, { token: sib, json: body })).status,
    200,
  );
  const anon = await hub.issueToken("prn:pantahub.com:auth:/anon");
  const r = await call(hub, "POST", `/trails/${id}/steps`, { token: anon, json: body });
  assert.equal(r.status, 403);
  assert.match(r.headers.get("WWW-Authenticate") ?? "", /insufficient_scope/);
});

Deno.test("hub: PUT state replaces a NEW step's state only", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  await hub.addStep(id, s.state);
  const next = { ...s.state };
  delete next["app/root.squashfs"];
  const r = await call(hub, "PUT", `/trails/${id}/steps/1/state`, {
    token: s.userToken,
    json: next,
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), next);
  assert.equal(hub.step(id, 1)?.stateSha, sha256Bytes(new TextEncoder().encode(r.text)));
  const done = await call(hub, "PUT", `/trails/${id}/steps/0/state`, {
    token: s.userToken,
    json: next,
  });
  assert.equal(done.status, 400);
  const asDevice = await call(hub, "PUT", `/trails/${id}/steps/1/state`, {
    token: s.deviceToken,
    json: next,
  });
  assert.equal(asDevice.status, 403);
  const bad = await call(hub, "PUT", `/trails/${id}/steps/1/state`, {
    token: s.userToken,
    json: { "#spec": SPEC, x: "f".repeat(64) },
  });
  assert.equal(bad.status, 500);
});

Deno.test("hub: GET step, trail, trails list; devices see only their own trail", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  const step = await call(hub, "GET", `/trails/${id}/steps/0`, { token: s.userToken });
  assert.equal(step.status, 200);
  assert.equal(step.json().rev, 0);
  assert.equal(step.json().progress.downloads.objects, null);
  assert.equal(
    (await call(hub, "GET", `/trails/${id}/steps/00`, { token: s.userToken })).status,
    500,
  );
  const t = await call(hub, "GET", `/trails/${id}`, { token: s.userToken });
  assert.equal(t.json().id, id);
  const other = hub.addDevice({ owner: "alice", nick: "dev2" });
  await hub.addTrail(other.id, {});
  assert.equal((await call(hub, "GET", "/trails/", { token: s.userToken })).json().length, 2);
  const mine = (await call(hub, "GET", "/trails/", { token: s.deviceToken })).json();
  assert.deepEqual(mine.map((x: { id: string }) => x.id), [id]);
  assert.equal(
    (await call(hub, "GET", `/trails/${other.id}`, { token: s.deviceToken })).status,
    500,
  );
});

Deno.test("hub: the device reports progress; summary reflects it", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  const id = s.device.id;
  await hub.addStep(id, s.state, { commitMsg: "one" });
  clock.advance(10_000);
  const body = { progress: 100, status: "DONE", "status-msg": "Update finished", log: "" };
  const r = await call(hub, "PUT", `/trails/${id}/steps/1/progress`, {
    token: s.deviceToken,
    json: body,
  });
  assert.equal(r.status, 200);
  assert.equal(r.json().status, "DONE");
  assert.equal(
    (await call(hub, "PUT", `/trails/${id}/steps/1/progress`, { token: s.userToken, json: body }))
      .status,
    403,
  );
  await hub.addStep(id, s.state, { commitMsg: "two" }); // NEW, not picked up yet
  const sum = await call(hub, "GET", "/trails/summary", { token: s.userToken });
  assert.equal(sum.status, 200);
  const [row] = sum.json();
  assert.equal(row.deviceid, id);
  assert.ok(row.deviceid.length >= 8);
  assert.equal(row["device-nick"], "dev1");
  assert.equal(row.revision, 2);
  assert.equal(row["progress-revision"], 1);
  assert.equal(row.status, "DONE");
  assert.equal(row["status-msg"], "Update finished");
  assert.equal(row["state-sha"], hub.step(id, 1)?.stateSha);
  assert.equal(row.timestamp, new Date(clock.now()).toISOString().replace(".000Z", "Z"));
  assert.equal((await call(hub, "GET", "/trails/summary", { token: s.deviceToken })).status, 403);
  const one = await call(hub, "GET", `/trails/${id}/summary`, { token: s.userToken });
  assert.equal(one.json().deviceid, id);
});
