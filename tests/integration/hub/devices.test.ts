/** Stand-in Pantahub: devices (pantahub-api.md §6, scenarios 6–17 of §10.2). */

import assert from "node:assert/strict";
import { startHub } from "../../support/hub/server.ts";
import { blobOf, call, login } from "../../support/hub/testing.ts";

Deno.test("hub: a user creates a device and gets it with secret, no challenge", async () => {
  await using hub = await startHub();
  const u = hub.addUser("alice", "secret");
  const token = await login(hub, "alice", "secret");
  const r = await call(hub, "POST", "/devices/", { token, json: { nick: "dev1", secret: "123" } });
  assert.equal(r.status, 200);
  const d = r.json();
  assert.match(d.id, /^[0-9a-f]{24}$/);
  assert.equal(d.prn, `prn:::devices:/${d.id}`);
  assert.equal(d.owner, u.prn);
  assert.equal(d.secret, "123");
  assert.equal(d.challenge, undefined);
  assert.deepEqual(Object.keys(d), [
    "id",
    "prn",
    "nick",
    "owner",
    "secret",
    "time-created",
    "time-modified",
    "public",
    "user-meta",
    "device-meta",
    "garbage",
    "mark_public_processed",
  ]);
  // Defaults: a 3-word petname and a 15-char secret.
  const auto = (await call(hub, "POST", "/devices/", { token, json: {} })).json();
  assert.match(auto.nick, /^[a-z]+_[a-z]+_[a-z]+$/);
  assert.match(auto.secret, /^[a-z0-9]{15}$/);
  const dup = await call(hub, "POST", "/devices/", { token, json: { nick: "dev1" } });
  assert.equal(dup.status, 409);
  assert.equal(dup.json().msg, "device already exists");
  const bad = await call(hub, "POST", "/devices/", { token, json: { nick: "bad nick" } });
  assert.equal(bad.status, 400);
});

Deno.test("hub: unauthenticated registration is unowned with a challenge; claim sets the owner", async () => {
  await using hub = await startHub();
  const u = hub.addUser("alice", "secret");
  const r = await call(hub, "POST", "/devices/", { json: { secret: "abc" } });
  assert.equal(r.status, 200);
  const d = r.json();
  assert.equal(d.owner, "");
  assert.match(d.challenge, /^[a-z]+-[a-z]+-[a-z]+$/);
  assert.match(d.nick, /^__unregistered__[a-z]+_[a-z]{10}$/);
  const token = await login(hub, "alice", "secret");
  const wrong = await call(hub, "PUT", `/devices/${d.id}?challenge=nope`, { token });
  assert.equal(wrong.status, 403);
  const unknown = await call(hub, "PUT", `/devices/000000000000000000000000?challenge=x`, {
    token,
  });
  assert.equal(unknown.status, 404);
  const ok = await call(hub, "PUT", `/devices/${d.id}?challenge=${d.challenge}`, { token });
  assert.equal(ok.status, 200);
  assert.equal(ok.json().owner, u.prn);
  assert.equal(ok.json().secret, "abc");
  assert.equal(ok.json().challenge, undefined);
  assert.ok(!ok.json().nick.startsWith("__unregistered__"));
  assert.equal(hub.device(d.id)?.owner, u.prn);
  const again = await call(hub, "PUT", `/devices/${d.id}?challenge=${d.challenge}`, {
    token: await hub.issueToken((hub.addUser("eve", "x")).nick),
  });
  assert.equal(again.status, 403);
});

Deno.test("hub: claiming moves the device's trail and its objects to the new owner", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const d = hub.addDevice({ secret: "abc" });
  const devToken = await login(hub, d.prn, "abc");
  // An unclaimed device posts objects (owner "") and its factory state.
  const { sha, bytes } = blobOf("hello");
  const posted = await call(hub, "POST", "/objects/", {
    token: devToken,
    json: { objectname: "f", sha256sum: sha, size: "5" },
  });
  assert.equal(posted.status, 200);
  assert.equal(
    (await call(hub, "PUT", posted.json()["signed-puturl"], { body: bytes })).status,
    200,
  );
  const state = { "#spec": "pantavisor-service-system@1", f: sha };
  assert.equal((await call(hub, "POST", "/trails/", { token: devToken, json: state })).status, 200);
  const token = await hub.issueToken("alice");
  const claim = await call(hub, "PUT", `/devices/${d.id}?challenge=${d.challenge}`, { token });
  assert.equal(claim.status, 200);
  const obj = await call(hub, "GET", `/trails/${d.id}/steps/0/objects/${sha}`, {
    token,
  });
  assert.equal(obj.status, 200);
  const blob = await call(hub, "GET", obj.json()["signed-geturl"]);
  assert.equal(blob.text, "hello");
});

Deno.test("hub: device POST without User-Agent is a 403", async () => {
  await using hub = await startHub();
  const r = await call(hub, "POST", "/devices/", { json: {}, headers: { "User-Agent": "" } });
  assert.equal(r.status, 403);
  assert.equal(r.json().msg, "Incompatible Client; upgrade pantavisor");
});

Deno.test("hub: GET /devices/<id|nick> adds owner-nick, blanks secret; 404/400/403 as §6.3", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  hub.addUser("bob", "b");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "s", userMeta: { k: "v" } });
  const alice = await hub.issueToken("alice");
  const bob = await hub.issueToken("bob");
  const byId = await call(hub, "GET", `/devices/${d.id}`, { token: alice });
  assert.equal(byId.status, 200);
  assert.equal(byId.json()["owner-nick"], "alice");
  assert.equal(byId.json().secret, undefined);
  assert.deepEqual(byId.json()["user-meta"], { k: "v" });
  const byNick = await call(hub, "GET", "/devices/dev1", { token: alice });
  assert.equal(byNick.json().id, d.id);
  assert.equal((await call(hub, "GET", "/devices/nosuch", { token: alice })).status, 400);
  assert.equal(
    (await call(hub, "GET", "/devices/000000000000000000000000", { token: alice })).status,
    404,
  );
  assert.equal((await call(hub, "GET", `/devices/${d.id}`, { token: bob })).status, 403);
  // Public devices are readable by anyone, metas blanked; nick lookup via owner-nick.
  await call(hub, "PUT", `/devices/${d.id}/public`, { token: alice });
  const pub = await call(hub, "GET", "/devices/dev1?owner-nick=alice", { token: bob });
  assert.equal(pub.status, 200);
  assert.deepEqual(pub.json()["user-meta"], {});
  const anon = await hub.issueToken("prn:pantahub.com:auth:/anon");
  assert.equal((await call(hub, "GET", `/devices/${d.id}`, { token: anon })).status, 200);
  // The nick-path lookup.
  const np = await call(hub, "GET", "/devices/np/alice/dev1", { token: bob });
  assert.equal(np.json().id, d.id);
  assert.equal((await call(hub, "GET", "/devices/np/alice/zzz", { token: bob })).status, 404);
  // The device itself.
  const self = await hub.issueToken(d.prn);
  assert.equal((await call(hub, "GET", `/devices/${d.id}`, { token: self })).status, 200);
});

Deno.test("hub: GET /devices/ lists own devices with ^prefix and !not filters", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  hub.addUser("bob", "b");
  for (const nick of ["abc1", "abc2", "xyz"]) hub.addDevice({ owner: "alice", nick });
  hub.addDevice({ owner: "bob", nick: "abc9", public: true });
  hub.addDevice({ owner: "bob", nick: "abc8" });
  const token = await hub.issueToken("alice");
  const nicks = async (q: string) =>
    (await call(hub, "GET", `/devices/${q}`, { token })).json().map((d: { nick: string }) =>
      d.nick
    );
  assert.deepEqual(await nicks(""), ["abc1", "abc2", "xyz"]);
  assert.deepEqual(await nicks("?nick=%5EABC"), ["abc1", "abc2"]);
  assert.deepEqual(await nicks("?nick=!xyz"), ["abc1", "abc2"]);
  assert.deepEqual(await nicks("?nick=xyz"), ["xyz"]);
  assert.deepEqual(await nicks("?owner-nick=bob"), ["abc9"]);
  const listed = (await call(hub, "GET", "/devices/?owner-nick=bob", { token })).json();
  assert.equal(listed[0].secret, undefined);
  const dev = await hub.issueToken(hub.device("xyz")!.prn);
  const self = (await call(hub, "GET", "/devices/", { token: dev })).json();
  assert.deepEqual(self.map((d: { nick: string }) => d.nick), ["xyz"]);
});

Deno.test("hub: PATCH user-meta merges (null kept) and echoes; device-meta merges (null deletes)", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  hub.addUser("bob", "b");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "s" });
  const alice = await hub.issueToken("alice");
  const r = await call(hub, "PATCH", "/devices/dev1/user-meta", {
    token: alice,
    json: { a: "1", b: "2" },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { a: "1", b: "2" });
  const r2 = await call(hub, "PATCH", `/devices/${d.id}/user-meta`, {
    token: alice,
    json: { b: null, c: "3" },
  });
  assert.deepEqual(r2.json(), { b: null, c: "3" });
  assert.deepEqual(hub.device(d.id)?.userMeta, { a: "1", b: null, c: "3" });
  const bob = await hub.issueToken("bob");
  const foreign = await call(hub, "PATCH", `/devices/${d.id}/user-meta`, { token: bob, json: {} });
  assert.equal(foreign.status, 400);
  assert.equal(
    (await call(hub, "PATCH", "/devices/000000000000000000000000/user-meta", {
      token: alice,
      json: {},
    })).status,
    404,
  );
  assert.equal(
    (await call(hub, "PATCH", "/devices/nosuch/user-meta", { token: alice, json: {} })).status,
    400,
  );

  const dev = await login(hub, d.prn, "s");
  const m1 = await call(hub, "PATCH", `/devices/${d.id}/device-meta`, {
    token: dev,
    json: { x: "1", y: "2" },
  });
  assert.equal(m1.status, 200);
  assert.deepEqual(m1.json(), { status: "ok" });
  await call(hub, "PATCH", `/devices/${d.id}/device-meta`, { token: dev, json: { y: null } });
  assert.deepEqual(hub.device(d.id)?.deviceMeta, { x: "1" });
  const asUser = await call(hub, "PATCH", `/devices/${d.id}/device-meta`, {
    token: alice,
    json: {},
  });
  assert.equal(asUser.status, 400);
  const other = hub.addDevice({ owner: "alice", nick: "dev2" });
  assert.equal(
    (await call(hub, "PATCH", `/devices/${other.id}/device-meta`, { token: dev, json: {} }))
      .status,
    400,
  );
  assert.equal(
    (await call(hub, "PUT", `/devices/${other.id}/device-meta`, { token: dev, json: {} })).status,
    404,
  );
  const put = await call(hub, "PUT", `/devices/${d.id}/device-meta`, {
    token: dev,
    json: { z: "9" },
  });
  assert.deepEqual(put.json(), { status: "ok" });
  assert.deepEqual(hub.device(d.id)?.deviceMeta, { z: "9" });
});

Deno.test("hub: PUT /devices/<id> updates the secret; empty secret 403; rename via PATCH", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "old" });
  hub.addDevice({ owner: "alice", nick: "dev2" });
  const token = await hub.issueToken("alice");
  const r = await call(hub, "PUT", `/devices/${d.id}`, { token, json: { secret: "new" } });
  assert.equal(r.status, 200);
  assert.equal(r.json().secret, "new");
  await login(hub, d.prn, "new");
  assert.equal(
    (await call(hub, "PUT", `/devices/${d.id}`, { token, json: { secret: "" } })).status,
    403,
  );
  assert.equal(
    (await call(hub, "PUT", `/devices/${d.id}`, { token, json: { owner: "prn:x" } })).status,
    403,
  );
  assert.equal(
    (await call(hub, "PUT", "/devices/000000000000000000000000", { token, json: {} })).status,
    404,
  );
  const ren = await call(hub, "PATCH", `/devices/${d.id}`, { token, json: { nick: "renamed" } });
  assert.equal(ren.status, 200);
  assert.equal(ren.json().nick, "renamed");
  assert.equal(ren.json().secret, undefined);
  const same = await call(hub, "PATCH", `/devices/${d.id}`, { token, json: { nick: "" } });
  assert.equal(same.json().nick, "renamed");
  const dup = await call(hub, "PATCH", `/devices/${d.id}`, { token, json: { nick: "dev2" } });
  assert.equal(dup.status, 403);
  assert.equal(
    (await call(hub, "PATCH", "/devices/000000000000000000000000", { token, json: {} })).status,
    404,
  );
});

Deno.test("hub: public flag PUT/DELETE, device callers refused; DELETE marks garbage", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "s" });
  const token = await hub.issueToken("alice");
  assert.equal((await call(hub, "PUT", `/devices/${d.id}/public`, { token })).json().public, true);
  assert.equal(
    (await call(hub, "DELETE", `/devices/${d.id}/public`, { token })).json().public,
    false,
  );
  const dev = await hub.issueToken(d.prn);
  assert.equal((await call(hub, "PUT", `/devices/${d.id}/public`, { token: dev })).status, 403);
  assert.equal(
    (await call(hub, "PUT", "/devices/000000000000000000000000/public", { token })).status,
    404,
  );
  const del = await call(hub, "DELETE", `/devices/${d.id}`, { token });
  assert.equal(del.status, 200);
  assert.equal(del.json().garbage, true);
  assert.equal(
    (await call(hub, "DELETE", "/devices/000000000000000000000000", { token })).status,
    404,
  );
});
