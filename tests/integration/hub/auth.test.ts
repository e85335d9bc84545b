/** Stand-in Pantahub: login, refresh, auth_status, registration (pantahub-api.md §2). */

import assert from "node:assert/strict";
import { manualClock, startHub } from "../../support/hub/server.ts";
import { call, login } from "../../support/hub/testing.ts";

const JSON_HEADERS = { "Content-Type": "application/json" };

Deno.test("hub: a user logs in by nick, e-mail or PRN and gets {token}", async () => {
  await using hub = await startHub();
  const u = hub.addUser("alice", "secret", "alice@example.com");
  for (const username of ["alice", "alice@example.com", u.prn]) {
    const r = await call(hub, "POST", "/auth/login", { json: { username, password: "secret" } });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json()), ["token"]);
    // The auth app pretty-prints.
    assert.ok(r.text.startsWith(`{\n  "token": "`));
    const s = await call(hub, "GET", "/auth/auth_status", { token: r.json().token });
    assert.equal(s.json().id, username);
    assert.equal(s.json().prn, u.prn);
  }
});

Deno.test("hub: a wrong password is a 401 with a shape-1 body", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  for (const body of [{ username: "alice", password: "nope" }, { username: "", password: "" }]) {
    const r = await call(hub, "POST", "/auth/login", { json: body });
    assert.equal(r.status, 401);
    assert.match(r.json().error, /^REST-ERR-ID-\d+$/);
    assert.equal(r.json().code, 401);
    assert.equal(r.json().msg, undefined);
    assert.equal(r.headers.get("WWW-Authenticate"), hub.wwwAuthenticate);
  }
});

Deno.test("hub: login401Header:false omits the header on a failed login, as the real server", async () => {
  await using hub = await startHub({ login401Header: false });
  const r = await call(hub, "POST", "/auth/login", { json: { username: "x", password: "y" } });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("WWW-Authenticate"), null);
});

Deno.test('hub: every 401 carries the exact WWW-Authenticate header and {"Error":"Not Authorized"}', async () => {
  await using hub = await startHub();
  const expected = `JWT realm="pantahub services", ph-aeps="${hub.url}/auth"`;
  assert.equal(hub.wwwAuthenticate, expected);
  const cases: Array<[string, string, Record<string, string>]> = [
    ["GET", "/auth/auth_status", {}],
    ["GET", "/trails/", {}],
    ["GET", "/objects/", { Authorization: "Bearer garbage" }],
    ["GET", "/devices/", { Authorization: "bearer x" }],
    ["GET", "/logs/", { Authorization: "Basic abc" }],
    ["GET", "/auth/login", { Authorization: "Bearer not.a.jwt" }],
  ];
  for (const [method, path, headers] of cases) {
    const r = await call(hub, method, path, { headers });
    assert.equal(r.status, 401, path);
    assert.equal(r.headers.get("WWW-Authenticate"), expected, path);
    assert.deepEqual(r.json(), { Error: "Not Authorized" });
  }
});

Deno.test("hub: the anonymous login gives a USER token with only the .readonly scopes", async () => {
  await using hub = await startHub();
  const anon = "prn:pantahub.com:auth:/anon";
  const r = await call(hub, "POST", "/auth/login", {
    json: {
      username: anon,
      password: anon,
      scope: "devices.readonly objects.readonly trails.readonly trails.write",
    },
  });
  assert.equal(r.status, 200);
  const s = (await call(hub, "GET", "/auth/auth_status", { token: r.json().token })).json();
  assert.equal(s.type, "USER");
  assert.match(s.prn, /^prn:pantahub\.com:auth:\/anon-[a-z0-9]+$/);
  assert.equal(s.id, s.prn);
  assert.equal(s.nick, s.prn.slice(s.prn.lastIndexOf("/") + 1));
  assert.equal(
    s.scopes,
    "prn:pantahub.com:apis:/base/devices.readonly prn:pantahub.com:apis:/base/objects.readonly " +
      "prn:pantahub.com:apis:/base/trails.readonly",
  );
  assert.equal(s.exp - s.orig_iat, 300);
});

Deno.test("hub: auth_status returns the claims with sorted keys on every app", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1));
  await using hub = await startHub({ now: clock.now });
  const u = hub.addUser("alice", "secret");
  const token = await login(hub, "alice", "secret");
  const r = await call(hub, "GET", "/auth/auth_status", { token });
  const now = Date.UTC(2024, 0, 1) / 1000;
  assert.deepEqual(r.json(), {
    exp: now + 3600,
    id: "alice",
    nick: "alice",
    orig_iat: now,
    prn: u.prn,
    roles: "user",
    scopes: "prn:pantahub.com:apis:/base/all",
    type: "USER",
  });
  assert.deepEqual(Object.keys(r.json()), Object.keys(r.json()).sort());
  for (const path of ["/devices/auth_status", "/trails/auth_status", "/objects/auth_status"]) {
    const x = await call(hub, "GET", path, { token });
    assert.equal(x.status, 200, path);
    assert.deepEqual(x.json(), r.json());
  }
  // The trails app writes canonical JSON.
  const t = await call(hub, "GET", "/trails/auth_status", { token });
  assert.equal(t.text, JSON.stringify(r.json()));
  assert.equal(t.headers.get("PhJsonFormat"), "gibson042-canonicaljson");
});

Deno.test("hub: a device logs in with its PRN and secret; auth_status carries owner", async () => {
  await using hub = await startHub();
  const u = hub.addUser("alice", "secret");
  const d = hub.addDevice({ owner: "alice", nick: "dev1", secret: "123" });
  const token = await login(hub, d.prn, "123");
  const s = (await call(hub, "GET", "/auth/auth_status", { token })).json();
  assert.equal(s.type, "DEVICE");
  assert.equal(s.roles, "device");
  assert.equal(s.owner, u.prn);
  assert.equal(s.prn, d.prn);
  assert.equal(s.nick, "dev1");
  const bad = await call(hub, "POST", "/auth/login", {
    json: { username: "prn:::devices:/000000000000000000000000", password: "123" },
  });
  assert.equal(bad.status, 401);
  const wrong = await call(hub, "POST", "/auth/login", {
    json: { username: d.prn, password: "x" },
  });
  assert.equal(wrong.status, 401);
});

Deno.test("hub: an unclaimed device can log in; its owner claim is empty", async () => {
  await using hub = await startHub();
  const d = hub.addDevice({ secret: "abc" });
  const token = await login(hub, d.prn, "abc");
  const s = (await call(hub, "GET", "/auth/auth_status", { token })).json();
  assert.equal(s.owner, "");
});

Deno.test("hub: tokens expire on the hub clock; refresh renews exp and keeps orig_iat", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now, tokenTtlSec: 60, refreshWindowSec: 300 });
  hub.addUser("alice", "secret");
  const token = await login(hub, "alice", "secret");
  const before = (await call(hub, "GET", "/auth/auth_status", { token })).json();
  clock.advance(50_000);
  const r = await call(hub, "GET", "/auth/login", { token });
  assert.equal(r.status, 200);
  const fresh = r.json().token;
  const after = (await call(hub, "GET", "/auth/auth_status", { token: fresh })).json();
  assert.equal(after.orig_iat, before.orig_iat);
  assert.equal(after.exp, before.orig_iat + 50 + 60);
  clock.advance(20_000); // the first token is now expired, the fresh one not
  assert.equal((await call(hub, "GET", "/auth/auth_status", { token })).status, 401);
  assert.equal((await call(hub, "GET", "/auth/auth_status", { token: fresh })).status, 200);
  const expiredRefresh = await call(hub, "GET", "/auth/login", { token });
  assert.equal(expiredRefresh.status, 401);
  assert.equal(expiredRefresh.headers.get("WWW-Authenticate"), hub.wwwAuthenticate);
  assert.deepEqual(expiredRefresh.json(), { Error: "Not Authorized" });
  // Past the refresh window even a valid token cannot be refreshed.
  let t = fresh;
  for (let i = 0; i < 5; i++) {
    clock.advance(55_000);
    const x = await call(hub, "GET", "/auth/login", { token: t });
    if (x.status !== 200) {
      assert.equal(x.status, 401);
      return;
    }
    t = x.json().token;
  }
  assert.fail("refresh window not enforced");
});

Deno.test("hub: the auth app refuses non-JSON bodies with 415 and login without User-Agent with 403", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const body = JSON.stringify({ username: "alice", password: "secret" });
  const r = await call(hub, "POST", "/auth/login", {
    body,
    headers: { "Content-Type": "text/plain" },
  });
  assert.equal(r.status, 415);
  assert.deepEqual(r.json(), { Error: "Bad Content-Type or charset, expected 'application/json'" });
  const latin = await call(hub, "POST", "/auth/login", {
    body,
    headers: { "Content-Type": "application/json; charset=iso-8859-1" },
  });
  assert.equal(latin.status, 415);
  const utf8 = await call(hub, "POST", "/auth/login", {
    body,
    headers: { "Content-Type": "application/json; charset=utf-8" },
  });
  assert.equal(utf8.status, 200);
  const noUa = await call(hub, "POST", "/auth/login", {
    body,
    headers: { ...JSON_HEADERS, "User-Agent": "" },
  });
  assert.equal(noUa.status, 403);
  assert.equal(noUa.json().msg, "Incompatible Client; upgrade pantavisor");
  const garbage = await call(hub, "POST", "/auth/login", { body: "{", headers: JSON_HEADERS });
  assert.equal(garbage.status, 400);
});

Deno.test("hub: register, login refused until verified, verify once, then login", async () => {
  await using hub = await startHub();
  const r = await call(hub, "POST", "/auth/accounts", {
    json: { email: "bob@example.com", nick: "bob", password: "pw" },
  });
  assert.equal(r.status, 200);
  const acc = r.json();
  assert.equal(acc.nick, "bob");
  assert.match(acc.prn, /^prn:::accounts:\/[0-9a-f]{24}$/);
  assert.equal(typeof acc.token, "string");
  assert.equal(acc.password, undefined);
  const challenge = hub.verificationChallenge("bob");
  assert.ok(challenge);
  const id = acc.prn.slice(acc.prn.lastIndexOf("/") + 1);
  assert.equal(acc["redirect-uri"], `${hub.url}/auth/verify?id=${id}&challenge=${challenge}`);
  const early = await call(hub, "POST", "/auth/login", {
    json: { username: "bob", password: "pw" },
  });
  assert.equal(early.status, 401);
  assert.equal((await call(hub, "GET", `/auth/verify?id=${id}&challenge=wrong`)).status, 412);
  assert.equal((await call(hub, "GET", acc["redirect-uri"])).status, 200);
  assert.equal((await call(hub, "GET", acc["redirect-uri"])).status, 412);
  assert.equal(
    (await call(hub, "GET", `/auth/verify?id=000000000000000000000000&challenge=x`)).status,
    403,
  );
  assert.equal(hub.verificationChallenge("bob"), undefined);
  await login(hub, "bob", "pw");
});

Deno.test("hub: registration validation gives 412 for each missing field and for duplicates", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret", "alice@example.com");
  const cases = [
    { nick: "bob", password: "pw" },
    { email: "b@x", nick: "bob" },
    { email: "b@x", password: "pw" },
    { email: "b@x", nick: "bo", password: "pw" },
    { email: "b@x", nick: "x".repeat(24), password: "pw" },
    { email: "alice@example.com", nick: "bob", password: "pw" },
    { email: "b@x", nick: "alice", password: "pw" },
  ];
  for (const json of cases) {
    const r = await call(hub, "POST", "/auth/accounts", { json });
    assert.equal(r.status, 412, JSON.stringify(json));
  }
  const dup = await call(hub, "POST", "/auth/accounts", { json: cases[6] });
  assert.equal(dup.json().msg, "Email or Nick already in use");
});

Deno.test("hub: autoVerify makes registered accounts usable at once", async () => {
  await using hub = await startHub({ autoVerify: true });
  const r = await call(hub, "POST", "/auth/accounts", {
    json: { email: "c@x", nick: "carol", password: "pw" },
  });
  assert.equal(r.status, 200);
  await login(hub, "carol", "pw");
});

Deno.test('hub: a token without the needed scope gets 403 with error="insufficient_scope"', async () => {
  await using hub = await startHub();
  hub.addUser("alice", "secret");
  const anon = await hub.issueToken("prn:pantahub.com:auth:/anon");
  const r = await call(hub, "POST", "/objects/", {
    token: anon,
    json: { sha256sum: "0".repeat(64) },
  });
  assert.equal(r.status, 403);
  const h = r.headers.get("WWW-Authenticate") ?? "";
  assert.match(h, /^Bearer Realm="pantahub services", /);
  assert.ok(h.includes(`ph-aeps="${hub.url}/auth"`));
  assert.ok(h.includes(`error="insufficient_scope"`));
  assert.ok(h.includes('scope="prn:pantahub.com:apis:/base/all '));
  assert.ok(!h.includes("\n"));
  assert.ok(h.includes("\t"));
  assert.equal(r.json().code, 403);
  // Other 403s carry no header.
  const u = await hub.issueToken("alice");
  const other = await call(hub, "GET", `/objects/${"a".repeat(64)}`, { token: u });
  assert.equal(other.status, 403);
  assert.equal(other.headers.get("WWW-Authenticate"), null);
});

Deno.test("hub: profiles are searched by nick prefix", async () => {
  await using hub = await startHub();
  hub.addUser("alice", "a");
  hub.addUser("albert", "a");
  hub.addUser("bob", "b");
  const token = await hub.issueToken("bob");
  const r = await call(hub, "GET", "/profiles/?nick=%5EAL", { token });
  assert.deepEqual(r.json().map((p: { nick: string }) => p.nick), ["albert", "alice"]);
});
