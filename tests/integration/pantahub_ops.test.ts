/** The account and device operations against the stand-in hub. */

import assert from "node:assert/strict";
import { isPvrError } from "../../core/errors.ts";
import { HttpClient } from "../../core/remote/http.ts";
import { PantahubSession } from "../../core/remote/pantahub/session.ts";
import { defaultTokenKey, FileTokenStore } from "../../core/remote/pantahub/token_store.ts";
import { whoami } from "../../core/ops/whoami.ts";
import { register } from "../../core/ops/register.ts";
import { claim } from "../../core/ops/claim.ts";
import { deviceCreate } from "../../core/ops/device_create.ts";
import { deviceGet } from "../../core/ops/device_get.ts";
import { deviceSet } from "../../core/ops/device_set.ts";
import { devicePs } from "../../core/ops/device_ps.ts";
import { deviceLogs, type LogEntry } from "../../core/ops/device_logs.ts";
import { add } from "../../core/ops/add.ts";
import { commit } from "../../core/ops/commit.ts";
import { type Hub, manualClock, startHub } from "../support/hub/server.ts";
import { call, type Seeded, seedUserDevice } from "../support/hub/testing.ts";
import { ScriptedPrompter } from "../support/prompter.ts";
import { makeRepo } from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";

/** Options for an operation as `user` (token saved in `dir`'s auth.json). */
async function asUser(hub: Hub, dir: string, token: string) {
  await new FileTokenStore(dir).set(defaultTokenKey(hub.url), {
    accessToken: token,
    refreshToken: token,
  });
  return { configDir: dir, baseUrl: hub.url };
}

async function postLogs(hub: Hub, deviceToken: string, entries: object[]): Promise<void> {
  const r = await call(hub, "POST", "/logs/", { token: deviceToken, json: entries });
  assert.equal(r.status, 200, r.text);
}

Deno.test("whoami lists each saved user login (not anonymous ones) and reports refused ones", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  await withTempDir(async (dir) => {
    assert.deepEqual((await whoami({ configDir: dir })).accounts, []);
    const store = new FileTokenStore(dir);
    const key = defaultTokenKey(hub.url);
    await store.set(key, { accessToken: s.userToken, refreshToken: s.userToken });
    await store.set(key + " anon", { accessToken: "x", refreshToken: "x" });
    await store.set("http://127.0.0.1:1/auth realm=pantahub services", {
      accessToken: "dead",
      refreshToken: "dead",
    });
    const http = new HttpClient({ fetch: failFast(), sleep: () => Promise.resolve() });
    const session = new PantahubSession({ configDir: dir, http });
    const { accounts } = await whoami({ configDir: dir, session });
    assert.equal(accounts.length, 2);
    const mine = accounts.find((a) => a.key === key)!;
    assert.deepEqual(
      { nick: mine.nick, prn: mine.prn, type: mine.type, aep: mine.authEndpoint },
      { nick: "alice", prn: hub.user("alice")!.prn, type: "USER", aep: hub.authUrl },
    );
    const other = accounts.find((a) => a.key !== key)!;
    assert.match(other.error ?? "", /connection refused/);
  });
});

/** A fetch that refuses port 1 at once (an unreachable Pantahub). */
function failFast(): typeof fetch {
  return (input, init) => {
    const url = new Request(input).url;
    if (url.includes(":1/")) return Promise.reject(new TypeError("connection refused"));
    return fetch(input, init);
  };
}

Deno.test("register posts to <origin>/auth/accounts (no empty port) and returns the link", async () => {
  await using hub = await startHub();
  await withTempDir(async (dir) => {
    const r = await register({
      configDir: dir,
      baseUrl: hub.url + "/some/path/",
      email: "bob@example.org",
      username: "bob",
      password: "bobpw",
    });
    assert.equal(r.endpoint, `${hub.url}/auth/accounts`);
    assert.match(r.redirectUri ?? "", /\/auth\/verify\?id=/);
    assert.ok(hub.user("bob"));
    await assert.rejects(
      register({
        configDir: dir,
        baseUrl: hub.url,
        email: "bob@example.org",
        username: "bob",
        password: "x",
      }),
      (e: unknown) => isPvrError(e, "REMOTE") && /Email or Nick already in use/.test(e.message),
    );
    await assert.rejects(
      register({ configDir: dir, baseUrl: hub.url, username: "carl", password: "x" }),
      (e: unknown) => isPvrError(e, "USAGE") && /no email/.test(e.message),
    );
    const prompter = new ScriptedPrompter(["carl@example.org", "carl", "carlpw"]);
    const r2 = await register({ configDir: dir, baseUrl: hub.url, prompter });
    assert.ok(r2.redirectUri);
    assert.ok(hub.user("carl"));
  });
});

Deno.test("claim resolves a bare id against the base URL and sends the challenge", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const unclaimed = hub.addDevice({});
  await withTempDir(async (dir) => {
    const opts = await asUser(hub, dir, s.userToken);
    await assert.rejects(
      claim({ ...opts, device: unclaimed.id, challenge: "wrong-guess" }),
      (e: unknown) => isPvrError(e, "AUTH") && /HTTP 403/.test(e.message),
    );
    await assert.rejects(
      claim({ ...opts, device: unclaimed.id }),
      (e: unknown) => isPvrError(e, "USAGE") && /-c CHALLENGE/.test(e.message),
    );
    const prompter = new ScriptedPrompter([unclaimed.challenge]);
    const r = await claim({ ...opts, device: unclaimed.id, prompter });
    assert.equal(r.endpoint, `${hub.url}/devices/${unclaimed.id}`);
    assert.equal(r.device.owner, hub.user("alice")!.prn);
    assert.equal(hub.device(unclaimed.id)!.owner, hub.user("alice")!.prn);
    assert.deepEqual(prompter.notices, [`*** Claim with challenge @ ${r.endpoint} ***`]);
    const put = hub.requests.filter((q) => q.method === "PUT").at(-1)!;
    assert.equal(put.query, "?challenge=%5Bredacted%5D");
  });
});

Deno.test("deviceCreate uploads the objects, creates the device, logs in as it and posts the trail", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  const repo = await makeRepo({ files: { "cfg.json": '{"a":1}', "bsp/kernel.img": "KERNEL!" } });
  try {
    await add({ dir: repo.dir, configDir: repo.configDir });
    await commit({ dir: repo.dir, configDir: repo.configDir, message: "m" });
    const opts = { ...(await asUser(hub, repo.configDir, s.userToken)), dir: repo.dir };
    hub.clearRequests();
    const r = await deviceCreate({ ...opts, nick: "lab-01" });
    assert.equal(r.nick, "lab-01");
    assert.equal(typeof r.device.secret, "string");
    assert.deepEqual(
      hub.requests.map((q) => `${q.method} ${q.path}`),
      [
        "POST /objects/",
        "PUT /local-s3/[redacted]",
        "POST /devices/",
        "POST /auth/login",
        "POST /trails/",
      ],
    );
    const trail = hub.trail(r.id)!;
    assert.equal(trail.owner, hub.user("alice")!.prn);
    assert.equal(hub.steps(r.id)[0].rev, 0);

    await assert.rejects(
      deviceCreate({ ...opts, nick: "lab-01", uploadObjects: () => Promise.resolve() }),
      (e: unknown) =>
        isPvrError(e, "REMOTE") &&
        /creating the device failed \(HTTP 409: device already exists\)/.test(e.message),
    );
  } finally {
    await repo.cleanup();
  }
});

Deno.test("deviceCreate uses the session's current token, refreshing an expired one (§13.2 item 13)", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now });
  hub.addUser("alice", "secret");
  const repo = await makeRepo({ files: { "cfg.json": '{"a":1}' } });
  try {
    await add({ dir: repo.dir, configDir: repo.configDir });
    await commit({ dir: repo.dir, configDir: repo.configDir });
    const token = (await call(hub, "POST", "/auth/login", {
      json: { username: "alice", password: "secret" },
    })).json().token;
    await asUser(hub, repo.configDir, token);
    clock.advance(2 * 3600 * 1000);
    const prompter = new ScriptedPrompter(["alice", "secret"]);
    const session = new PantahubSession({
      configDir: repo.configDir,
      prompter,
      now: clock.now,
      http: new HttpClient(),
    });
    const r = await deviceCreate({
      dir: repo.dir,
      configDir: repo.configDir,
      baseUrl: hub.url,
      session,
      uploadObjects: () => Promise.resolve(),
    });
    assert.equal(hub.device(r.id)!.owner, hub.user("alice")!.prn);
    assert.equal(prompter.asked.length, 2, "one login, no loop");
  } finally {
    await repo.cleanup();
  }
});

Deno.test("deviceGet reads own devices and OWNER/NICK public ones; errors are REMOTE", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  hub.addUser("bob", "b");
  hub.addDevice({ owner: "bob", nick: "showcase", public: true, secret: "bobsecret" });
  await withTempDir(async (dir) => {
    const opts = await asUser(hub, dir, s.userToken);
    const mine = await deviceGet({ ...opts, device: "dev1" });
    assert.equal(mine.device.id, s.device.id);
    assert.equal(mine.device["owner-nick"], "alice");
    const theirs = await deviceGet({ ...opts, device: "bob/showcase" });
    assert.equal(theirs.device.nick, "showcase");
    assert.equal(theirs.device.secret, undefined);
    assert.equal(hub.requests.at(-1)!.query, "?owner-nick=bob");
    await assert.rejects(
      deviceGet({ ...opts, device: "nosuch" }),
      (e: unknown) => isPvrError(e, "REMOTE") && /HTTP 400/.test(e.message),
    );
    await assert.rejects(
      deviceGet({ ...opts, device: "a/b/c" }),
      (e: unknown) => isPvrError(e, "USAGE"),
    );
  });
});

Deno.test("deviceSet patches user-meta as a user and device-meta as the device", async () => {
  await using hub = await startHub();
  const s: Seeded = await seedUserDevice(hub);
  await withTempDir(async (dir) => {
    const opts = await asUser(hub, dir, s.userToken);
    const r = await deviceSet({ ...opts, device: "dev1", meta: { location: "lab", gone: null } });
    assert.equal(r.field, "user-meta");
    assert.deepEqual(r.reply, { location: "lab", gone: null });
    assert.deepEqual(hub.device("dev1")!.userMeta, { location: "lab", gone: null });

    const asDevice = await deviceSet({
      configDir: dir,
      baseUrl: hub.url,
      accessToken: s.deviceToken,
      device: s.device.id,
      meta: { temp: "41" },
    });
    assert.equal(asDevice.field, "device-meta");
    assert.deepEqual(asDevice.reply, { status: "ok" });
    assert.deepEqual(hub.device("dev1")!.deviceMeta, { temp: "41" });
    await assert.rejects(
      deviceSet({ ...opts, device: "dev1", meta: {} }),
      (e: unknown) => isPvrError(e, "USAGE"),
    );
  });
});

Deno.test("devicePs returns the summaries of the caller's devices", async () => {
  await using hub = await startHub();
  const s = await seedUserDevice(hub);
  await withTempDir(async (dir) => {
    const { devices } = await devicePs(await asUser(hub, dir, s.userToken));
    assert.equal(devices.length, 1);
    assert.equal(devices[0].deviceid, s.device.id);
    assert.equal(devices[0]["device-nick"], "dev1");
    assert.equal(typeof devices[0]["state-sha"], "string");
  });
});

Deno.test("deviceLogs: one pass by default, with the Go query in sorted key order", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1, 12));
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  await postLogs(hub, s.deviceToken, [
    { msg: "one", src: "/pantavisor.log", lvl: "INFO", rev: "0", plat: "pv" },
    { msg: "two", src: "/pantavisor.log", lvl: "DEBUG", rev: "0", plat: "pv" },
  ]);
  clock.advance(1500);
  await postLogs(hub, s.deviceToken, [{ msg: "three", src: "/app.log", lvl: "INFO", rev: "1" }]);
  await withTempDir(async (dir) => {
    const opts = { ...(await asUser(hub, dir, s.userToken)), now: clock.now };
    hub.clearRequests();
    const all = await deviceLogs(opts);
    assert.deepEqual(all.entries.map((e) => e.msg), ["one", "two", "three"]);
    assert.deepEqual(lines(hub), ["GET /logs/", "POST /logs/cursor"]);
    assert.equal(
      hub.requests[0].query,
      "?after=2024-01-01T11%3A59%3A01Z&cursor=true&page=3000&sort=time-created",
    );

    hub.clearRequests();
    const filtered = await deviceLogs({
      ...opts,
      filter: `${s.device.id}/pantavisor.log@INFO#pv`,
      from: "2024-01-01",
      to: "P1D",
    });
    assert.equal(
      filtered.entries.length,
      0,
      "src matches exactly: /pantavisor.log ≠ pantavisor.log",
    );
    assert.equal(
      hub.requests[0].query,
      "?after=2024-01-01T00%3A00%3A00Z&before=2024-01-02T00%3A00%3A00Z&cursor=true" +
        `&dev=prn%3A%3A%3Adevices%3A%2F${s.device.id}&lvl=INFO&page=3000&plat=pv&sort=time-created` +
        "&src=pantavisor.log",
    );
    const bySource = await deviceLogs({
      ...opts,
      source: "/pantavisor.log",
      level: "DEBUG",
      rev: 0,
    });
    assert.deepEqual(bySource.entries.map((e) => e.msg), ["two"]);
    await assert.rejects(
      deviceLogs({ ...opts, rev: 0, to: "PT1H" }),
      (e: unknown) => isPvrError(e, "USAGE"),
    );
    await assert.rejects(
      deviceLogs({ ...opts, from: "yesterday" }),
      (e: unknown) => isPvrError(e, "USAGE"),
    );
  });
});

function lines(hub: Hub): string[] {
  return hub.requests.map((r) => `${r.method} ${r.path}`);
}

Deno.test("deviceLogs --follow streams new entries once each, until the limit", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1, 12));
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  await postLogs(hub, s.deviceToken, [{ msg: "first" }]);
  await withTempDir(async (dir) => {
    const opts = await asUser(hub, dir, s.userToken);
    const got: LogEntry[] = [];
    let polls = 0;
    const r = await deviceLogs({
      ...opts,
      now: clock.now,
      follow: true,
      limit: 3,
      onEntry: (e) => {
        got.push(e);
      },
      // Each poll: time passes and the device logs something new.
      sleep: async () => {
        polls++;
        clock.advance(400);
        await postLogs(hub, s.deviceToken, [{ msg: `poll ${polls}` }]);
      },
    });
    assert.equal(r.count, 3);
    assert.deepEqual(got.map((e) => e.msg), ["first", "poll 1", "poll 2"]);
    assert.deepEqual(r.entries, [], "entries go to onEntry");
  });
});

Deno.test("deviceLogs --follow stops at `until` and when the signal aborts", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1, 12));
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  await withTempDir(async (dir) => {
    const opts = await asUser(hub, dir, s.userToken);
    let polls = 0;
    const r = await deviceLogs({
      ...opts,
      now: clock.now,
      follow: true,
      until: clock.now() + 5000,
      sleep: () => {
        polls++;
        clock.advance(1000);
        return Promise.resolve();
      },
    });
    assert.equal(r.count, 0);
    assert.equal(polls, 5);
    const ac = new AbortController();
    const r2 = await deviceLogs({
      ...opts,
      now: clock.now,
      follow: true,
      signal: ac.signal,
      sleep: () => {
        ac.abort();
        return Promise.resolve();
      },
    });
    assert.equal(r2.count, 0);
  });
});
