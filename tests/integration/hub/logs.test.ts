/** Stand-in Pantahub: device logs, filters, cursors (pantahub-api.md §7). */

import assert from "node:assert/strict";
import { manualClock, startHub } from "../../support/hub/server.ts";
import { call, seedUserDevice } from "../../support/hub/testing.ts";

Deno.test("hub: a device posts log entries (object or array); users list them newest first", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1, 12));
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  const post = (json: unknown) => call(hub, "POST", "/logs/", { token: s.deviceToken, json });
  const one = await post({ tsec: 10, tnano: 5, src: "pantavisor.log", msg: "first", rev: "0" });
  assert.equal(one.status, 200);
  assert.deepEqual(one.json(), { status: "ok" });
  clock.advance(1000);
  await post([
    { tsec: 11, src: "lxc/app", lvl: "ERROR", msg: "second", rev: "1", plat: "app" },
    { tsec: 12, src: "pantavisor.log", lvl: "DEBUG", msg: "third", rev: "1" },
  ]);
  const r = await call(hub, "GET", "/logs/", { token: s.userToken });
  assert.equal(r.status, 200);
  const page = r.json();
  assert.equal(page.start, 0);
  assert.equal(page.count, 3);
  assert.equal(page["next-cursor"], undefined);
  assert.deepEqual(page.entries.map((e: { msg: string }) => e.msg), ["third", "second", "first"]);
  const first = page.entries[2];
  assert.deepEqual(Object.keys(first), [
    "id",
    "dev",
    "own",
    "time-created",
    "tsec",
    "tnano",
    "rev",
    "src",
    "lvl",
    "msg",
  ]);
  assert.equal(first.dev, s.device.prn);
  assert.equal(first.own, hub.user("alice")?.prn);
  assert.equal(first.lvl, "INFO");
  assert.equal(first["time-created"], "2024-01-01T12:00:00Z");
  // Only devices with an owner post; only users read.
  assert.equal((await call(hub, "POST", "/logs/", { token: s.userToken, json: {} })).status, 403);
  assert.equal((await call(hub, "GET", "/logs/", { token: s.deviceToken })).status, 403);
  const unclaimed = hub.addDevice();
  const u = await hub.issueToken(unclaimed.id);
  assert.equal((await call(hub, "POST", "/logs/", { token: u, json: {} })).status, 403);
  // Other users see nothing; an empty page omits entries.
  hub.addUser("bob", "b");
  const bob = await call(hub, "GET", "/logs/", { token: await hub.issueToken("bob") });
  assert.deepEqual(bob.json(), { start: 0, page: 0, count: 0 });
});

Deno.test("hub: log filters: dev (prn, id, nick, unresolvable), src/lvl/plat/rev lists, after/before, sort", async () => {
  const clock = manualClock(Date.UTC(2024, 0, 1, 12));
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  const d2 = hub.addDevice({ owner: "alice", nick: "dev2" });
  const t2 = await hub.issueToken(d2.id);
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    await call(hub, "POST", "/logs/", {
      token: i % 2 === 0 ? s.deviceToken : t2,
      json: {
        tsec: 100 - i,
        msg: `m${i}`,
        src: `s${i % 2}`,
        lvl: i === 3 ? "ERROR" : "INFO",
        rev: String(i),
      },
    });
  }
  const msgs = async (q: string) =>
    ((await call(hub, "GET", `/logs/${q}`, { token: s.userToken })).json().entries ?? []).map((
      e: { msg: string },
    ) => e.msg);
  assert.deepEqual(await msgs(`?dev=${encodeURIComponent(s.device.prn)}`), ["m2", "m0"]);
  assert.deepEqual(await msgs(`?dev=${d2.id}`), ["m3", "m1"]);
  assert.deepEqual(await msgs("?dev=dev2"), ["m3", "m1"]);
  assert.deepEqual(await msgs("?dev=nosuch"), ["m3", "m2", "m1", "m0"]);
  assert.deepEqual(await msgs("?src=s0"), ["m2", "m0"]);
  assert.deepEqual(await msgs("?lvl=ERROR,DEBUG"), ["m3"]);
  assert.deepEqual(await msgs("?rev=1,2"), ["m2", "m1"]);
  assert.deepEqual(await msgs("?after=2024-01-01T12:00:02Z"), ["m3", "m2"]);
  assert.deepEqual(await msgs("?before=2024-01-01T12:00:02Z"), ["m0"]);
  assert.deepEqual(await msgs("?sort=time-created"), ["m0", "m1", "m2", "m3"]);
  assert.deepEqual(await msgs("?sort=tsec"), ["m3", "m2", "m1", "m0"]);
  assert.deepEqual(await msgs("?sort=src,-tsec"), ["m0", "m2", "m1", "m3"]);
  assert.deepEqual(await msgs("?sort=time-created&start=1&page=2"), ["m1", "m2"]);
  assert.equal(
    (await call(hub, "GET", "/logs/?after=yesterday", { token: s.userToken })).status,
    400,
  );
});

Deno.test("hub: cursor paging walks all entries, then a page without entries", async () => {
  const clock = manualClock();
  await using hub = await startHub({ now: clock.now });
  const s = await seedUserDevice(hub);
  const entries = Array.from({ length: 7 }, (_, i) => ({ tsec: i, msg: `m${i}` }));
  await call(hub, "POST", "/logs/", { token: s.deviceToken, json: entries });
  const first = await call(hub, "GET", "/logs/?cursor=true&page=3&sort=tsec", {
    token: s.userToken,
  });
  const seen: string[] = first.json().entries.map((e: { msg: string }) => e.msg);
  let cursor: string = first.json()["next-cursor"];
  assert.equal(typeof cursor, "string");
  for (;;) {
    const r = await call(hub, "POST", "/logs/cursor", {
      token: s.userToken,
      json: { "next-cursor": cursor },
    });
    assert.equal(r.status, 200);
    const page = r.json();
    if (page.entries === undefined) {
      assert.equal(page.count, 0);
      break;
    }
    assert.ok(page.entries.length <= 3);
    seen.push(...page.entries.map((e: { msg: string }) => e.msg));
    cursor = page["next-cursor"];
  }
  assert.deepEqual(seen, entries.map((e) => e.msg));
  // Foreign, garbage and expired cursors are 403; the GET variant needs a body.
  hub.addUser("bob", "b");
  const bob = await hub.issueToken("bob");
  assert.equal(
    (await call(hub, "POST", "/logs/cursor", { token: bob, json: { "next-cursor": cursor } }))
      .status,
    403,
  );
  assert.equal(
    (await call(hub, "POST", "/logs/cursor", { token: s.userToken, json: { "next-cursor": "x" } }))
      .status,
    403,
  );
  assert.equal((await call(hub, "GET", "/logs/cursor", { token: s.userToken })).status, 400);
  clock.advance(121_000);
  const token = await hub.issueToken("alice");
  assert.equal(
    (await call(hub, "POST", "/logs/cursor", { token, json: { "next-cursor": cursor } })).status,
    403,
  );
});
