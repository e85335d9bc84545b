/**
 * `get()`, `merge()` and `clone()` from Pantahub URLs against the stand-in hub: states,
 * parts, remembered defaults, and the download guarantees (verified, resumed, retried,
 * refreshed; a failure changes nothing).
 */

import assert from "node:assert/strict";
import { clone, get, merge } from "../../mod.ts";
import { exists, rejectsWithCode } from "../support/cli.ts";
import { BLOB_PATH, bytesOf, remoteFixture, requestLines } from "../support/remote.ts";
import { partialName } from "../../core/remote/pantahub/download.ts";

const SPEC = "pantavisor-service-system@1";

function committed(dir: string): Promise<Record<string, unknown>> {
  return Deno.readTextFile(`${dir}/.pvr/json`).then((t) => JSON.parse(t));
}

Deno.test("get() from a trail URL stores the remote state and every object, verified", async () => {
  await using f = await remoteFixture();
  const r = await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  assert.equal(r.imported, 3);
  assert.deepEqual(await committed(f.repo.dir), f.state);
  for (const bytes of Object.values(f.files)) {
    assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${f.sha(bytes)}`), bytes);
    assert.equal((await Deno.stat(`${f.repo.objectsDir}/${f.sha(bytes)}`)).mode! & 0o777, 0o444);
  }
  const cfg = JSON.parse(await Deno.readTextFile(`${f.repo.dir}/.pvr/config`));
  assert.equal(cfg.DefaultGetUrl, f.trailUrl);
  assert.equal(cfg.DefaultPutUrl, f.trailUrl);
  assert.equal(cfg.DefaultPostUrl, f.trailUrl);
  // A second get finds everything in the store and downloads nothing.
  f.hub.clearRequests();
  const again = await get({ ...f.repo.opts, ...f.remote });
  assert.equal(again.imported, 0);
  assert.ok(again.objects.every((o) => o.cached));
  assert.equal(f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).length, 0);
});

Deno.test("get() of /steps/<rev> with #parts takes those parts only, fragments with / kept", async () => {
  await using f = await remoteFixture();
  const extra = bytesOf(700, 9);
  await f.hub.addObject("alice", extra, { name: "os/x" });
  await f.hub.addStep(f.deviceId, { ...f.state, "os/x": f.sha(extra) });
  const r = await get({ ...f.repo.opts, ...f.remote, ref: `${f.trailUrl}/steps/0#bsp` });
  assert.deepEqual(r.objects.map((o) => o.key), ["bsp/kernel.img"]);
  assert.deepEqual(await committed(f.repo.dir), {
    "#spec": SPEC,
    "bsp/kernel.img": f.state["bsp/kernel.img"],
    "bsp/run.json": { linux: "kernel.img" },
  });
  // A fragment naming a file inside a directory (the Go pvr refused `/` in fragments).
  await get({ ...f.repo.opts, ...f.remote, ref: `${f.trailUrl}#app/config.txt,os` });
  const state = await committed(f.repo.dir);
  assert.equal(state["app/config.txt"], f.state["app/config.txt"]);
  assert.equal(state["os/x"], f.sha(extra));
  assert.equal(state["app/root.squashfs"], undefined);
  assert.ok(!(await exists(`${f.repo.objectsDir}/${f.state["app/root.squashfs"]}`)));
});

Deno.test("merge() from a URL merges the remote state into the committed one", async () => {
  await using f = await remoteFixture();
  await f.repo.write({ "local.txt": "mine" });
  await f.repo.run(["add", "local.txt"]);
  await f.repo.run(["commit"]);
  await merge({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const state = await committed(f.repo.dir);
  assert.ok("local.txt" in state);
  assert.equal(state["bsp/kernel.img"], f.state["bsp/kernel.img"]);
});

Deno.test("clone() of a trail URL names the directory after the trail and checks it out", async () => {
  await using f = await remoteFixture();
  const r = await clone({
    ...f.remote,
    ref: f.trailUrl,
    cwd: f.repo.root,
    configDir: f.repo.configDir,
  });
  assert.equal(r.dir, `${f.repo.root}/${f.deviceId}`);
  assert.deepEqual(await Deno.readFile(`${r.dir}/bsp/kernel.img`), f.files["bsp/kernel.img"]);
  assert.equal(
    await Deno.readTextFile(`${r.dir}/bsp/run.json`),
    '{\n    "linux": "kernel.img"\n}',
  );
  const part = await clone({
    ...f.remote,
    ref: `${f.trailUrl}/steps/0#app`,
    target: "apponly",
    cwd: f.repo.root,
    configDir: f.repo.configDir,
  });
  assert.ok(await exists(`${part.dir}/app/config.txt`));
  assert.ok(!(await exists(`${part.dir}/bsp`)));
});

Deno.test("a connection dropped mid-body is resumed with a Range request", async () => {
  await using f = await remoteFixture({ files: { "big.bin": bytesOf(300_000, 3) } });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 100_000 },
  });
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const sha = f.sha(f.files["big.bin"]);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), f.files["big.bin"]);
  const blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path) && q.method === "GET");
  assert.equal(blobs.length, 2, requestLines(f.hub).join("\n"));
  const range = /^bytes=(\d+)-$/.exec(blobs[1].request.range ?? "");
  assert.ok(range && Number(range[1]) > 0 && Number(range[1]) <= 100_000, blobs[1].request.range);
  assert.equal(blobs[1].status, 206);
  assert.equal(Number(blobs[1].response["content-length"]), 300_000 - Number(range![1]));
  assert.ok(!(await exists(`${f.repo.objectsDir}/${partialName(sha)}`)));
});

Deno.test("a partial file left by a killed pvr is resumed; a wrong one restarts from 0", async () => {
  const big = bytesOf(200_000, 4);
  await using f = await remoteFixture({ files: { "big.bin": big } });
  const sha = f.sha(big);
  await Deno.mkdir(f.repo.objectsDir, { recursive: true });
  await Deno.writeFile(`${f.repo.objectsDir}/${partialName(sha)}`, big.subarray(0, 77_777));
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  let blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path));
  assert.deepEqual(blobs.map((q) => q.request.range), ["bytes=77777-"]);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), big);

  // A partial whose bytes are wrong: the resumed result does not hash, so it starts over.
  await Deno.chmod(`${f.repo.objectsDir}/${sha}`, 0o644);
  await Deno.remove(`${f.repo.objectsDir}/${sha}`);
  const wrong = big.slice(0, 50_000);
  wrong[10] ^= 0xff;
  await Deno.writeFile(`${f.repo.objectsDir}/${partialName(sha)}`, wrong);
  f.hub.clearRequests();
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path));
  assert.deepEqual(blobs.map((q) => q.request.range), ["bytes=50000-", undefined]);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), big);
});

Deno.test("a server that ignores Range answers 200 and the download restarts cleanly", async () => {
  await using f = await remoteFixture({
    files: { "big.bin": bytesOf(120_000, 5) },
    hub: { range: "ignore" },
  });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 40_000 },
  });
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path));
  assert.equal(blobs.length, 2);
  assert.match(blobs[1].request.range ?? "", /^bytes=\d+-$/);
  assert.equal(blobs[1].status, 200);
  const sha = f.sha(f.files["big.bin"]);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), f.files["big.bin"]);
});

Deno.test("wrong bytes from the server: OBJECT_CORRUPT, no object, no partial, state unchanged", async () => {
  await using f = await remoteFixture({ files: { "a.bin": bytesOf(5000, 10) } });
  const before = await Deno.readTextFile(`${f.repo.dir}/.pvr/json`);
  const cfgBefore = await Deno.readTextFile(`${f.repo.dir}/.pvr/config`);
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    action: { kind: "wrong-bytes", mode: "flip", offset: 100 },
  });
  const err = await rejectsWithCode(
    get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }),
    "OBJECT_CORRUPT",
  );
  assert.match(err.message, /a\.bin/);
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`), before);
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/config`), cfgBefore);
  for await (const e of Deno.readDir(f.repo.objectsDir)) assert.fail(`left behind: ${e.name}`);
  // One full download, no retry of a download that came whole but wrong.
  assert.equal(f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).length, 1);
});

Deno.test("500s, 503s and dropped connections are retried, then the get succeeds", async () => {
  await using f = await remoteFixture();
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 2,
    action: { kind: "status", status: 500 },
  });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    skip: 2,
    times: 1,
    action: { kind: "status", status: 503, retryAfter: 0 },
  });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    skip: 3,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 0 },
  });
  f.hub.faults.add({
    method: "GET",
    path: /\/objects\/[0-9a-f]{64}$/,
    times: 1,
    action: { kind: "status", status: 503 },
  });
  const r = await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  assert.equal(r.imported, 3);
  assert.deepEqual(await committed(f.repo.dir), f.state);
  const faulted = f.hub.requests.filter((q) => q.faults.length > 0);
  assert.equal(faulted.length, 5, requestLines(f.hub).join("\n"));
});

Deno.test("retries give up: REMOTE after the attempts, state unchanged", async () => {
  await using f = await remoteFixture();
  const before = await Deno.readTextFile(`${f.repo.dir}/.pvr/json`);
  f.hub.faults.add({ method: "GET", path: BLOB_PATH, action: { kind: "status", status: 502 } });
  const err = await rejectsWithCode(
    get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }),
    "REMOTE",
  );
  assert.match(err.message, /after 5 tries/);
  assert.doesNotMatch(err.message, /local-s3\/[^[]/);
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`), before);
});

Deno.test("an expired signed URL (403 from the blob server) is refreshed", async () => {
  await using f = await remoteFixture({ files: { "a.bin": bytesOf(1000, 6) } });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: { kind: "expire-signed-url" },
  });
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const lines = requestLines(f.hub);
  assert.equal(
    lines.filter((l) => /objects\/[0-9a-f]{64} 200$/.test(l)).length,
    2,
    lines.join("\n"),
  );
  assert.deepEqual(
    f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).map((q) => q.status),
    [403, 200],
  );
});

Deno.test("a state with a ../ key or a non-hex object is refused before anything is written", async () => {
  await using f = await remoteFixture();
  const before = await Deno.readTextFile(`${f.repo.dir}/.pvr/json`);
  const statePath = /\/steps\/\d+\/state$/;
  const evil = { "#spec": SPEC, "../escape.txt": f.state["bsp/kernel.img"] };
  f.hub.faults.add({
    method: "GET",
    path: statePath,
    times: 1,
    action: { kind: "status", status: 200, body: evil },
  });
  await rejectsWithCode(get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }), "UNSAFE_PATH");
  const nonHex = { "#spec": SPEC, "bsp/kernel.img": "../../etc/passwd" };
  f.hub.faults.add({
    method: "GET",
    path: statePath,
    times: 1,
    action: { kind: "status", status: 200, body: nonHex },
  });
  await rejectsWithCode(get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }), "BAD_STATE");
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`), before);
  assert.equal(f.hub.requests.filter((q) => /objects|s3/.test(q.path)).length, 0);
  assert.ok(!(await exists(`${f.repo.root}/escape.txt`)));
  for await (const _ of Deno.readDir(f.repo.objectsDir)) assert.fail("an object was written");
});

Deno.test("the state GET's status is checked: an error body is never taken for the state", async () => {
  await using f = await remoteFixture();
  const before = await Deno.readTextFile(`${f.repo.dir}/.pvr/json`);
  f.hub.faults.add({
    method: "GET",
    path: /\/state$/,
    times: 1,
    action: { kind: "status", status: 404, body: { error: "x", code: 404 } },
  });
  await rejectsWithCode(get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }), "REMOTE");
  // Pantahub's 200 {} for a step that is not visible is refused too.
  f.hub.faults.add({
    method: "GET",
    path: /\/state$/,
    times: 1,
    action: { kind: "status", status: 200, body: {} },
  });
  await rejectsWithCode(get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }), "REMOTE");
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`), before);
});

Deno.test("two gets into one objects dir at once: both succeed, one copy of each object", async () => {
  await using f = await remoteFixture({
    files: { "a.bin": bytesOf(400_000, 7), "b.bin": bytesOf(9, 8) },
  });
  const second = `${f.repo.root}/second`;
  await Deno.mkdir(second);
  await f.repo.run(["init"], { cwd: second });
  await Promise.all([
    get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl }),
    get({ dir: second, configDir: f.repo.configDir, ...f.remote, ref: f.trailUrl }),
  ]);
  const names = [];
  for await (const e of Deno.readDir(f.repo.objectsDir)) names.push(e.name);
  assert.deepEqual(names.sort(), Object.values(f.files).map((b) => f.sha(b)).sort());
});

Deno.test("get() of a user/device reference resolves against repoBaseUrl", async () => {
  await using f = await remoteFixture();
  // The stand-in hub has no nick resolver (open question §12.1): the request shows the URL.
  await rejectsWithCode(get({ ...f.repo.opts, ...f.remote, ref: "alice/box#bsp/x" }), "REMOTE");
  assert.equal(f.hub.requests.at(-1)?.path, "/alice/box/.pvrremote");
});

Deno.test("downloads run in parallel up to jobs, and report progress events in order", async () => {
  const files: Record<string, Uint8Array<ArrayBuffer>> = {};
  for (let i = 0; i < 6; i++) files[`f${i}.bin`] = bytesOf(50_000 + i, 100 + i);
  await using f = await remoteFixture({ files });
  let inFlight = 0;
  let peak = 0;
  const counting: typeof fetch = async (input, init) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    try {
      const res = await fetch(input, init);
      await new Promise((r) => setTimeout(r, 20));
      return res;
    } finally {
      inFlight--;
    }
  };
  const events: string[] = [];
  const reporter = {
    start: (t: { objects: number }) => events.push(`start ${t.objects}`),
    objectStart: () => events.push("objectStart"),
    objectProgress: () => events.push("progress"),
    objectDone: (_: string, outcome: string) => events.push(`done ${outcome}`),
    finish: () => events.push("finish"),
  };
  await get({ ...f.repo.opts, ...f.remote, fetch: counting, jobs: 2, reporter, ref: f.trailUrl });
  assert.equal(peak, 2);
  assert.equal(events[0], "start 6");
  assert.equal(events.at(-1), "finish");
  assert.equal(events.filter((e) => e === "done ok").length, 6);
  assert.ok(events.indexOf("progress") > events.indexOf("objectStart"));

  await Deno.remove(f.repo.objectsDir, { recursive: true });
  await Deno.mkdir(f.repo.objectsDir);
  peak = 0;
  await get({ ...f.repo.opts, ...f.remote, fetch: counting, ref: f.trailUrl });
  assert.equal(peak, 6);
});

Deno.test("a resumed download that does not hash right is downloaded once more from 0", async () => {
  await using f = await remoteFixture({ files: { "big.bin": bytesOf(150_000, 11) } });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: [
      { kind: "wrong-bytes", mode: "flip", offset: 10 },
      { kind: "drop-mid-body", afterBytes: 60_000 },
    ],
  });
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const ranges = f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).map((q) => q.request.range);
  assert.equal(ranges.length, 3, requestLines(f.hub).join("\n"));
  assert.equal(ranges[0], undefined);
  assert.match(ranges[1] ?? "", /^bytes=\d+-$/);
  assert.equal(ranges[2], undefined);
  const sha = f.sha(f.files["big.bin"]);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), f.files["big.bin"]);
});

Deno.test("a large object is written out while it arrives, resumes after a drop and is stored whole", async () => {
  // Past the 32 MiB writeback step, with a drop after it.
  const big = bytesOf(40 << 20, 41);
  await using f = await remoteFixture({ files: { "bsp/big.img": big } });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: 36 << 20 },
  });
  await get({ ...f.repo.opts, ...f.remote, ref: f.trailUrl });
  const sha = f.sha(big);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), big);
  const blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path) && q.method === "GET");
  assert.equal(blobs.length, 2, requestLines(f.hub).join("\n"));
  const range = /^bytes=(\d+)-$/.exec(blobs[1].request.range ?? "");
  assert.ok(range && Number(range[1]) > 32 << 20, blobs[1].request.range);
  assert.ok(!(await exists(`${f.repo.objectsDir}/${partialName(sha)}`)));
  // No handle of the object (or of its partial) stays open in this process.
  const open: string[] = [];
  for await (const fd of Deno.readDir("/proc/self/fd")) {
    const target = await Deno.readLink(`/proc/self/fd/${fd.name}`).catch(() => "");
    if (target.startsWith(f.repo.objectsDir)) open.push(target);
  }
  assert.deepEqual(open, []);
});
