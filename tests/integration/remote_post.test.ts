/**
 * `post()`, `put()` to a remote, `putObjects()` and `fastcopy()` against the stand-in
 * hub: what is sent (exact registration bodies, only what the remote lacks, each object
 * once), retries, refreshed signed URLs, 409 object/link, and the errors.
 */

import assert from "node:assert/strict";
import { add, clone, commit, fastcopy, post, put, putObjects } from "../../mod.ts";
import { rejectsWithCode } from "../support/cli.ts";
import { BLOB_PATH, bytesOf, remoteFixture, requestLines, testSession } from "../support/remote.ts";
import type { PantahubCaller, PantahubRequest } from "../../core/remote/pantahub/types.ts";
import { objectsUploader } from "../../core/remote/pantahub/upload.ts";
import { Repo } from "../../core/repo/repo.ts";
import { login } from "../support/hub/testing.ts";
import { manualClock } from "../support/hub/server.ts";
import { HttpClient } from "../../core/remote/http.ts";
import { PantahubSession } from "../../core/remote/pantahub/session.ts";
import { defaultTokenKey, FileTokenStore } from "../../core/remote/pantahub/token_store.ts";

const SPEC = "pantavisor-service-system@1";

/** Commits `files` in the fixture's repository. */
async function commitFiles(
  dir: string,
  configDir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  for (const [k, v] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${k}`.replace(/\/[^/]*$/, ""), { recursive: true });
    if (typeof v === "string") await Deno.writeTextFile(`${dir}/${k}`, v);
    else await Deno.writeFile(`${dir}/${k}`, v);
  }
  await add({ dir, configDir });
  await commit({ dir, configDir, message: "test" });
}

/** A caller that records every request it passes on. */
function recording(inner: PantahubCaller): PantahubCaller & { log: PantahubRequest[] } {
  const log: PantahubRequest[] = [];
  return {
    log,
    call(req) {
      log.push(req);
      return inner.call(req);
    },
  };
}

const puts = (f: { hub: { requests: readonly { method: string; path: string }[] } }) =>
  f.hub.requests.filter((q) => q.method === "PUT" && BLOB_PATH.test(q.path));

Deno.test("post() uploads the objects the remote lacks and creates the next step", async () => {
  await using f = await remoteFixture();
  const { dir, configDir } = f.repo;
  await commitFiles(dir, configDir, {
    "bsp/kernel.img": f.files["bsp/kernel.img"],
    "app/new.bin": bytesOf(10_000, 20),
    "app/copy.bin": bytesOf(10_000, 20),
    "conf/x.json": '{"a":1}',
  });
  const caller = recording(f.remote.caller!);
  const r = await post({ ...f.repo.opts, ...f.remote, caller, target: f.trailUrl, message: "hi" });
  assert.equal(r.rev, "1");
  assert.equal(r.trailId, f.deviceId);
  const step = f.hub.step(f.deviceId, 1)!;
  assert.equal(step.commitMsg, "hi");
  assert.equal(r.stateSha, step.stateSha);
  assert.equal(r.stateSha.length, 64);
  const pristine = await Repo.open(f.repo.opts);
  assert.equal(step.state.get("app/new.bin"), pristine.pristine.get("app/new.bin"));
  // The kernel is in the baseline (the remote state has it): not registered. The two
  // keys with the same bytes: registered and sent once.
  const regs = caller.log.filter((q) => q.method === "POST" && q.url.endsWith("/objects/"));
  assert.equal(regs.length, 1);
  const sha = pristine.pristine.get("app/copy.bin");
  assert.equal(
    regs[0].body,
    `{"id":"","storage-id":"","owner":"","objectname":"app/copy.bin","sha256sum":"${sha}",` +
      `"size":"10000","mime-type":"application/octet-stream","signed-puturl":"",` +
      `"signed-geturl":"","now":"","expire-time":""}`,
  );
  assert.equal(puts(f).length, 1);
  assert.deepEqual(
    r.objects.map((o) => [o.key, o.outcome]),
    [["app/copy.bin", "uploaded"], ["bsp/kernel.img", "baseline"]],
  );
  // The step POST: canonical envelope with rev -1, as text/plain.
  const stepPost = caller.log.find((q) => q.method === "POST" && q.url.endsWith("/steps"))!;
  assert.equal(stepPost.headers?.["Content-Type"], "text/plain; charset=utf-8");
  assert.match(String(stepPost.body), /^\{"commit-msg":"hi","rev":-1,"state":\{"#spec":/);
  const cfg = (await Repo.open(f.repo.opts)).config;
  assert.equal(cfg.DefaultPostUrl, f.trailUrl);
  assert.equal(cfg.DefaultGetUrl, f.trailUrl);
});

Deno.test("a second post after one file changed sends only that object", async () => {
  await using f = await remoteFixture();
  const { dir, configDir } = f.repo;
  await commitFiles(dir, configDir, {
    "a.bin": bytesOf(50_000, 21),
    "b.bin": bytesOf(50_000, 22),
    "c.bin": bytesOf(50_000, 23),
  });
  await post({ ...f.repo.opts, ...f.remote, target: f.trailUrl });
  assert.equal(puts(f).length, 3);
  f.hub.clearRequests();
  await commitFiles(dir, configDir, { "b.bin": bytesOf(50_000, 99) });
  const r = await post({ ...f.repo.opts, ...f.remote }); // DefaultPostUrl
  assert.equal(r.rev, "2");
  assert.equal(r.uploaded, 1);
  assert.equal(r.bytes, 50_000);
  assert.equal(puts(f).length, 1, requestLines(f.hub).join("\n"));
  assert.equal(f.hub.requests.filter((q) => q.path.endsWith("/objects/")).length, 1);
});

Deno.test("post() with --rev, --envelope and user/device against repoBaseUrl", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, { "x.txt": "x" });
  const caller = recording(f.remote.caller!);
  const r = await post({
    ...f.repo.opts,
    ...f.remote,
    caller,
    target: f.trailUrl,
    rev: 1,
    envelope: '{"meta":{"k":"v"},"committer":"me"}',
  });
  assert.equal(r.rev, "1");
  const step = f.hub.step(f.deviceId, 1)!;
  assert.deepEqual({ ...step.meta }, { k: "v" });
  assert.equal(step.committer, "me");
  const body = String(caller.log.find((q) => q.url.endsWith("/steps"))!.body);
  assert.match(body, /^\{"committer":"me","meta":\{"k":"v"\},"rev":1,"state":/);
  // rev 1 again: the server refuses a duplicate (500) — a one-line REMOTE error.
  const err = await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: f.trailUrl, rev: 1 }),
    "REMOTE",
  );
  assert.doesNotMatch(err.message, /\n/);
  await rejectsWithCode(post({ ...f.repo.opts, ...f.remote, target: "alice" }), "USAGE");
  await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: "a/b/c" }),
    "BAD_REFERENCE",
  );
  await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: f.trailUrl, envelope: "[1]" }),
    "USAGE",
  );
});

Deno.test("uploads retry 500, 503 and dropped connections, and refresh an expired signed URL", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, {
    "one.bin": bytesOf(200_000, 30),
    "two.bin": bytesOf(300_000, 31),
  });
  // one.bin's PUTs fail three ways; two.bin's signed URL expires. (Told apart by size:
  // a dropped PUT may have stored its bytes, so its object must not also see the
  // expiry, whose re-registration would then answer "exists".)
  const size = (n: number) => (req: Request) => req.headers.get("content-length") === String(n);
  const one = { method: "PUT", path: BLOB_PATH, match: size(200_000) };
  const two = { method: "PUT", path: BLOB_PATH, match: size(300_000) };
  f.hub.faults.add({ ...one, times: 1, action: { kind: "status", status: 500 } });
  f.hub.faults.add({ ...one, skip: 1, times: 1, action: { kind: "status", status: 503 } });
  f.hub.faults.add({ ...one, skip: 2, times: 1, action: { kind: "drop-mid-body", afterBytes: 0 } });
  f.hub.faults.add({ ...two, times: 1, action: { kind: "expire-signed-url" } });
  f.hub.faults.add({
    method: "POST",
    path: /\/objects\/$/,
    times: 1,
    action: { kind: "status", status: 500 },
  });
  const r = await post({ ...f.repo.opts, ...f.remote, target: f.trailUrl });
  assert.equal(r.uploaded, 2);
  const statuses = puts(f).map((q) => (q as unknown as { status: number }).status);
  assert.deepEqual(statuses.filter((s) => s !== 200).sort(), [403, 500, 503]);
  for (const [k, seed, size] of [["one.bin", 30, 200_000], ["two.bin", 31, 300_000]] as const) {
    assert.deepEqual(await f.hub.blob("alice", f.sha(bytesOf(size, seed))), bytesOf(size, seed), k);
  }
  // The expired URL was replaced by registering the object again.
  assert.ok(f.hub.requests.filter((q) => q.path.endsWith("/objects/")).length >= 4);
});

Deno.test("putObjects(): 409 object is skipped unless --force; a 409 link never is sent", async () => {
  await using f = await remoteFixture();
  // Bob's public device holds an object alice does not have: alice's registration of
  // the same bytes is linked (409 link).
  f.hub.addUser("bob", "pw");
  const bobDev = f.hub.addDevice({ owner: "bob", nick: "pub", public: true });
  const shared = bytesOf(4000, 40);
  const rec = await f.hub.addObject("bob", shared, { name: "shared.bin" });
  await f.hub.addTrail(bobDev.id, { "#spec": SPEC, "shared.bin": rec.sha256sum });
  await commitFiles(f.repo.dir, f.repo.configDir, {
    "bsp/kernel.img": f.files["bsp/kernel.img"],
    "shared.bin": shared,
    "mine.bin": bytesOf(1000, 41),
  });
  const endpoint = `${f.hub.url}/objects`;
  const r1 = await putObjects({ ...f.repo.opts, ...f.remote, endpoint });
  assert.deepEqual(r1.objects.map((o) => [o.key, o.outcome]), [
    ["bsp/kernel.img", "exists"],
    ["mine.bin", "uploaded"],
    ["shared.bin", "link"],
  ]);
  assert.equal(puts(f).length, 1);
  f.hub.clearRequests();
  const r2 = await putObjects({ ...f.repo.opts, ...f.remote, endpoint, force: true });
  assert.deepEqual(r2.objects.map((o) => o.outcome), ["uploaded", "uploaded", "link"]);
  assert.equal(puts(f).length, 2);
  await rejectsWithCode(putObjects({ ...f.repo.opts, ...f.remote, endpoint: "objects" }), "USAGE");
});

Deno.test("a missing local object fails before anything is sent; a damaged one as OBJECT_CORRUPT", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, { "a.bin": bytesOf(1000, 50) });
  const sha = f.sha(bytesOf(1000, 50));
  const path = `${f.repo.objectsDir}/${sha}`;
  const saved = await Deno.readFile(path);
  await Deno.chmod(path, 0o644);
  await Deno.remove(path);
  f.hub.clearRequests();
  await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: f.trailUrl }),
    "OBJECT_MISSING",
  );
  assert.equal(f.hub.requests.filter((q) => q.method !== "GET").length, 0);
  const damaged = saved.slice();
  damaged[0] ^= 1;
  await Deno.writeFile(path, damaged);
  await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: f.trailUrl }),
    "OBJECT_CORRUPT",
  );
  assert.equal(f.hub.step(f.deviceId, 1), undefined);
});

Deno.test("put() to a remote step that is still NEW sends objects, then replaces its state", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, { "x.bin": bytesOf(2000, 60) });
  await post({ ...f.repo.opts, ...f.remote, target: f.trailUrl });
  await commitFiles(f.repo.dir, f.repo.configDir, { "y.bin": bytesOf(3000, 61) });
  const r = await put({ ...f.repo.opts, ...f.remote, target: `${f.trailUrl}/steps/1` });
  assert.equal(r.sent, 1);
  const step = f.hub.step(f.deviceId, 1)!;
  assert.equal(step.state.get("y.bin"), f.sha(bytesOf(3000, 61)));
  assert.equal(f.hub.steps(f.deviceId).length, 2);
  const cfg = (await Repo.open(f.repo.opts)).config;
  assert.equal(cfg.DefaultPutUrl, `${f.trailUrl}/steps/1`);
  // Step 0 is DONE: the server refuses (400) — REMOTE, one line.
  await rejectsWithCode(
    put({ ...f.repo.opts, ...f.remote, target: `${f.trailUrl}/steps/0` }),
    "REMOTE",
  );
});

Deno.test("fastcopy() copies parts between devices, renamed by the destination fragment", async () => {
  await using f = await remoteFixture();
  const dest = f.hub.addDevice({ owner: "alice", nick: "box2" });
  const other = bytesOf(100, 70);
  const rec = await f.hub.addObject("alice", other, { name: "keep.bin" });
  await f.hub.addTrail(dest.id, {
    "#spec": SPEC,
    "keep.bin": rec.sha256sum,
    "app/old": rec.sha256sum,
  });
  const destUrl = `${f.hub.url}/trails/${dest.id}`;
  const r = await fastcopy({
    ...f.remote,
    source: `${f.trailUrl}#app,bsp/run.json`,
    dest: `${destUrl}#app2,bsp/run2.json`,
    message: "copied",
  });
  assert.equal(r.rev, "1");
  assert.equal(r.trailId, dest.id);
  const step = f.hub.step(dest.id, 1)!;
  assert.deepEqual([...step.state.keys()].sort(), [
    "#spec",
    "app/old",
    "app2/config.txt",
    "app2/root.squashfs",
    "bsp/run2.json",
    "keep.bin",
  ]);
  assert.equal(step.state.get("app2/root.squashfs"), f.state["app/root.squashfs"]);
  // No object bytes moved.
  assert.equal(f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).length, 0);
  // Without fragments the destination becomes the source's state.
  await fastcopy({ ...f.remote, source: f.trailUrl, dest: destUrl });
  assert.deepEqual(
    [...f.hub.step(dest.id, 2)!.state.keys()].sort(),
    Object.keys(f.state).sort(),
  );
  await rejectsWithCode(
    fastcopy({ ...f.remote, source: f.trailUrl, dest: `${destUrl}#a` }),
    "USAGE",
  );
  await rejectsWithCode(
    fastcopy({ ...f.remote, source: `${f.trailUrl}#a,b`, dest: `${destUrl}#c` }),
    "USAGE",
  );
});

Deno.test("server refusals: another user's trail is AUTH, a 500 on the step post is REMOTE", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, { "x.txt": "x" });
  f.hub.addUser("eve", "pw");
  const eve = testSession(f.repo.configDir, await login(f.hub, "eve", "pw"));
  const err = await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, caller: eve, target: f.trailUrl }),
    "AUTH",
  );
  assert.doesNotMatch(err.message, /eyJ/);
  f.hub.faults.add({ method: "POST", path: /\/steps$/, action: { kind: "status", status: 500 } });
  const e2 = await rejectsWithCode(
    post({ ...f.repo.opts, ...f.remote, target: f.trailUrl }),
    "REMOTE",
  );
  assert.match(e2.message, /500/);
});

Deno.test("objectsUploader() sends every object to <baseUrl>/objects with force (device create)", async () => {
  await using f = await remoteFixture();
  await commitFiles(f.repo.dir, f.repo.configDir, {
    "bsp/kernel.img": f.files["bsp/kernel.img"],
    "n.bin": bytesOf(10, 80),
  });
  const repo = await Repo.open(f.repo.opts);
  const upload = objectsUploader({ state: repo.pristine, store: repo.store });
  await upload(f.remote.caller!, f.hub.url);
  // The kernel exists (409 object) and is sent again with force; n.bin is new.
  assert.equal(puts(f).length, 2);
  assert.ok(f.hub.object("alice", f.sha(bytesOf(10, 80))));
});

Deno.test("a clone of a posted revision gets back the same bytes", async () => {
  await using f = await remoteFixture();
  const big = bytesOf(1_000_000, 90);
  await commitFiles(f.repo.dir, f.repo.configDir, { "big.bin": big, "a.json": '{"b":[1,2]}' });
  await post({ ...f.repo.opts, ...f.remote, target: f.trailUrl });
  const c = await clone({
    ...f.remote,
    ref: `${f.trailUrl}/steps/1`,
    target: "back",
    cwd: f.repo.root,
    configDir: `${f.repo.root}/other-config`,
  });
  assert.deepEqual(await Deno.readFile(`${c.dir}/big.bin`), big);
  assert.equal(
    await Deno.readTextFile(`${c.dir}/.pvr/json`),
    await Deno.readTextFile(`${f.repo.dir}/.pvr/json`),
  );
});

Deno.test("a token that expires during a push is refreshed mid-push and the post completes", async () => {
  const clock = manualClock(Date.now());
  await using f = await remoteFixture({ hub: { now: clock.now } });
  const { dir, configDir } = f.repo;
  // alice's token saved as `pvr login` saves it; the session has no fixed token.
  await new FileTokenStore(configDir).set(defaultTokenKey(f.hub.url), {
    accessToken: f.token,
    refreshToken: f.token,
  });
  const caller = new PantahubSession({
    configDir,
    http: new HttpClient({ baseDelayMs: 5, maxDelayMs: 20 }),
    now: clock.now,
  });
  await commitFiles(dir, configDir, {
    "a.bin": bytesOf(20_000, 31),
    "b.bin": bytesOf(20_000, 32),
    "c.bin": bytesOf(20_000, 33),
    "d.bin": bytesOf(20_000, 34),
  });
  // 57 minutes pass (the token lives 60) when the second object is registered: the
  // session refreshes it before its next request (Pantahub refreshes only tokens that
  // have not expired yet) and the push goes on.
  let registrations = 0;
  f.hub.faults.add({
    method: "POST",
    path: /\/objects\/?$/,
    match: () => {
      if (++registrations === 2) clock.advance(57 * 60 * 1000);
      return false; // the rule only moves the clock; the request goes through as is
    },
    action: { kind: "delay", ms: 0 },
  });
  const r = await post({ ...f.repo.opts, ...f.remote, caller, target: f.trailUrl, jobs: 1 })
    .catch((e) => {
      throw new Error(requestLines(f.hub).join("\n"), { cause: e });
    });
  assert.equal(r.uploaded, 4, requestLines(f.hub).join("\n"));
  const refreshes = f.hub.requests.filter((q) => q.method === "GET" && q.path === "/auth/login");
  assert.ok(refreshes.some((q) => q.status === 200), requestLines(f.hub).join("\n"));
  const saved = await new FileTokenStore(configDir).get(defaultTokenKey(f.hub.url));
  assert.notEqual(saved?.accessToken, f.token, "the refreshed token is saved");
});
