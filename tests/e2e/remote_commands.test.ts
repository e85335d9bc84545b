/**
 * The remote commands end to end against the stand-in hub, with the token in
 * `PVR_ACCESSTOKEN`: clone, get, merge, post (po), put, putobjects, fastcopy (fcp),
 * inspect, remoteinfo (ri), stepinfo, deploy; `--json`; exit codes and one-line errors
 * without secrets; and a download killed with SIGKILL that the next `get` resumes.
 */

import assert from "node:assert/strict";
import { pvrProcess, runPvr } from "../support/cli.ts";
import { BLOB_PATH, bytesOf, remoteFixture, requestLines } from "../support/remote.ts";
import { partialName } from "../../core/remote/pantahub/download.ts";

const SPEC = "pantavisor-service-system@1";

/** Output that must never contain a secret: the token, a signed-URL token. */
function assertNoSecrets(text: string, token: string): void {
  assert.ok(!text.includes(token), "the access token leaked");
  assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{10,}/, "a JWT leaked");
  assert.doesNotMatch(text, /local-s3\/(?!\[redacted\])/, "a signed URL leaked");
}

Deno.test("clone, edit, commit, post (po), get, merge and inspect through the CLI", async () => {
  await using f = await remoteFixture();
  const root = f.repo.root;
  const run = (args: string[], cwd = root) => runPvr(args, { cwd, env: f.env });
  const c = await run(["clone", f.trailUrl, "dev"]);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, `Successfully cloned: ${root}/dev\n`);
  const dev = `${root}/dev`;
  await Deno.writeTextFile(`${dev}/app/config.txt`, "a=2\n");
  assert.equal((await run(["commit", "-m", "a=2"], dev)).code, 0);
  const p = await run(["po", "-m", "second"], dev);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(p.stdout, "");
  assert.match(p.stderr, /^app\/config.txt \[OK\]\n/m);
  assert.match(
    p.stderr,
    new RegExp(`Successfully posted Revision 1 \\([0-9a-f]{8}\\) to device id ${f.deviceId}\\n$`),
  );
  assert.equal(f.hub.step(f.deviceId, 1)?.commitMsg, "second");

  // get of the old revision's app part into a fresh repo, then merge of the latest.
  const g = await run(["get", "-q", `${f.trailUrl}/steps/0#app`], f.repo.dir);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.stderr, "");
  // The clone put every object into the shared objects dir already.
  assert.match(g.stdout, /^\nImported 0 objects to /);
  const m = await run(["merge", `${f.trailUrl}#bsp`], f.repo.dir);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /^bsp\/kernel.img \[OK cache\]$/m);
  const state = JSON.parse(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`));
  assert.deepEqual(Object.keys(state).sort(), [
    "#spec",
    "app/config.txt",
    "app/root.squashfs",
    "bsp/kernel.img",
    "bsp/run.json",
  ]);

  const i = await run(["inspect", `${f.trailUrl}#bsp`]);
  assert.equal(i.code, 0, i.stderr);
  assert.equal(
    i.stdout,
    `{\n\t"bsp/kernel.img": "${f.state["bsp/kernel.img"]}",\n\t"bsp/run.json": {\n` +
      `\t\t"linux": "kernel.img"\n\t}\n}\n`,
  );
  const ij = await run(["inspect", "--json"], dev);
  assert.equal(ij.stdout, (await Deno.readTextFile(`${dev}/.pvr/json`)) + "\n");
});

Deno.test("remoteinfo (ri) and stepinfo print the descriptor and the step; --json is compact", async () => {
  await using f = await remoteFixture();
  const run = (args: string[]) => runPvr(args, { cwd: f.repo.root, env: f.env });
  const step = `${f.hub.url}/trails/${f.deviceId}/steps/0`;
  const ri = await run(["ri", f.trailUrl]);
  assert.equal(ri.code, 0, ri.stderr);
  assert.equal(
    ri.stdout,
    `{\n\t"pvr-spec": "pvr-pantahub-1",\n\t"json-get-url": "${step}/state",\n` +
      `\t"json-key": "state",\n\t"objects-endpoint": "${step}/objects",\n` +
      `\t"post-url": "${f.trailUrl}/steps",\n\t"post-fields": [\n\t\t"commit-msg"\n\t],\n` +
      `\t"post-fields-opt": [\n\t\t"rev"\n\t]\n}\n`,
  );
  const rj = await run(["remoteinfo", "--json", `${step}#bsp`]);
  assert.deepEqual(JSON.parse(rj.stdout), {
    "pvr-spec": "pvr-pantahub-1",
    "json-get-url": `${step}/state`,
    "json-key": "state",
    "objects-endpoint": `${step}/objects`,
    "post-url": `${f.trailUrl}/steps`,
    "post-fields": ["msg"],
    "post-fields-opt": [],
  });
  const si = await run(["stepinfo", "--json", f.trailUrl]);
  assert.equal(si.code, 0, si.stderr);
  const doc = JSON.parse(si.stdout);
  assert.equal(doc.rev, 0);
  assert.equal(doc["commit-msg"], "Factory State (rev 0)");
  assert.equal(doc.state["#spec"], SPEC);
  const text = await run(["stepinfo", f.trailUrl]);
  assert.match(text.stdout, /^\{\n\t"commit-msg": "Factory State \(rev 0\)",\n/);
  // No argument and no remembered remote: a usage error.
  const none = await runPvr(["ri"], { cwd: f.repo.dir, env: f.env });
  assert.equal(none.code, 2);
});

Deno.test("put to a NEW step, putobjects, fastcopy (fcp) and deploy through the CLI", async () => {
  await using f = await remoteFixture();
  const run = (args: string[], cwd = f.repo.dir) => runPvr(args, { cwd, env: f.env });
  await f.repo.write({ "x.bin": bytesOf(3000, 1), "y.bin": bytesOf(4000, 2) });
  assert.equal((await run(["add"])).code, 0);
  assert.equal((await run(["commit"])).code, 0);
  const po = await run(["post", "--rev", "1", "-e", '{"meta":{"a":"b"}}', f.trailUrl]);
  assert.equal(po.code, 0, po.stderr);
  await f.repo.write({ "z.bin": bytesOf(10, 3) });
  assert.equal((await run(["add"])).code, 0);
  assert.equal((await run(["commit"])).code, 0);
  const p = await run(["put", "-j", "2", `${f.trailUrl}/steps/1`]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stderr, /^z\.bin \[OK\]$/m);
  assert.ok(f.hub.step(f.deviceId, 1)!.state.has("z.bin"));

  const po2 = await run(["putobjects", "-f", `${f.hub.url}/objects`]);
  assert.equal(po2.code, 0, po2.stderr);
  assert.match(po2.stderr, /Uploaded 3 objects \(7010 bytes\); 0 already on the remote/);

  const other = f.hub.addDevice({ owner: "alice", nick: "box2" });
  const rec = await f.hub.addObject("alice", bytesOf(5, 4), { name: "k" });
  await f.hub.addTrail(other.id, { "#spec": SPEC, "k": rec.sha256sum });
  const fc = await run(["fcp", `${f.trailUrl}#x.bin`, `${f.hub.url}/trails/${other.id}#copy.bin`]);
  assert.equal(fc.code, 0, fc.stderr);
  assert.match(
    fc.stderr,
    new RegExp(`^Successfully posted Revision 1 \\([0-9a-f]{8}\\) to device id ${other.id}\\n$`),
  );
  assert.ok(f.hub.step(other.id, 1)!.state.has("copy.bin"));
  assert.ok(f.hub.step(other.id, 1)!.state.has("k"));

  const d = await run(["deploy", `${f.repo.root}/trail`, `${f.trailUrl}/steps/0#app`], f.repo.root);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /Deployment finished/);
  assert.deepEqual(
    await Deno.readFile(`${f.repo.root}/trail/app/root.squashfs`),
    f.files["app/root.squashfs"],
  );
});

Deno.test("errors: one line, the documented exit codes, no secrets", async () => {
  await using f = await remoteFixture({ files: { "a.bin": bytesOf(5000, 5) } });
  const run = (args: string[], env = f.env) => runPvr(args, { cwd: f.repo.dir, env });
  const check = (r: { code: number; stdout: string; stderr: string }, code: number) => {
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, /^ERROR: [^\n]+\n$/);
    assertNoSecrets(r.stdout + r.stderr, f.token);
  };
  // A server error (500 on the step post, not retried for a POST): exit 7.
  await f.repo.write({ "n.txt": "n" });
  await run(["add"]);
  await run(["commit"]);
  f.hub.faults.add({
    method: "POST",
    path: /\/steps$/,
    times: 1,
    action: { kind: "status", status: 500 },
  });
  check(await run(["post", f.trailUrl]), 7);
  // An unknown trail (the server answers 500 on .pvrremote, retried, then given up): 7.
  f.hub.faults.add({
    method: "GET",
    path: /\.pvrremote$/,
    times: 1,
    action: { kind: "status", status: 404 },
  });
  check(await run(["get", f.trailUrl]), 7);
  // Wrong bytes from the blob server: exit 4, nothing stored, state unchanged.
  const before = await Deno.readTextFile(`${f.repo.dir}/.pvr/json`);
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    action: { kind: "wrong-bytes", mode: "flip" },
  });
  check(await run(["get", f.trailUrl]), 4);
  assert.equal(await Deno.readTextFile(`${f.repo.dir}/.pvr/json`), before);
  f.hub.faults.clear();
  // A token the server refuses: exit 8.
  check(await run(["get", f.trailUrl], { ...f.env, PVR_ACCESSTOKEN: f.token + "x" }), 8);
  // Usage: bad --jobs, missing device nick.
  check(await run(["get", "-j", "0", f.trailUrl]), 2);
  check(await run(["post", "alice"]), 2);
  // Not a URL, not a path, not user/device: exit 7.
  check(await run(["get", "./no/such"]), 7);
});

/** Deno's cache dir of this process (the child must find the npm packages there). */
/** Runs main.ts as a child process (the handle is returned, to be killed). */
function spawnMain(args: string[], cwd: string, env: Record<string, string>) {
  return pvrProcess(args, { cwd, env }).spawn();
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("a get killed with SIGKILL half-way resumes from where it stopped on the next get", async () => {
  const size = 8 * 1024 * 1024;
  const big = bytesOf(size, 6);
  await using f = await remoteFixture({ files: { "big.bin": big } });
  const sha = f.sha(big);
  const partial = `${f.repo.objectsDir}/${partialName(sha)}`;
  // The first blob GET breaks after 3 MiB (they are written to the partial file); the
  // retry (with its Range) gets its headers, then the body stalls: the process is
  // killed while it waits, with 3 MiB on disk.
  const cut = 3 * 1024 * 1024;
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    times: 1,
    action: { kind: "drop-mid-body", afterBytes: cut },
  });
  f.hub.faults.add({
    method: "GET",
    path: BLOB_PATH,
    skip: 1,
    times: 1,
    action: { kind: "delay", ms: 60_000, where: "body" },
  });
  const child = spawnMain(["get", f.trailUrl], f.repo.dir, f.env);
  try {
    await waitFor(() => f.hub.requests.filter((q) => BLOB_PATH.test(q.path)).length >= 2);
    await waitFor(async () => ((await Deno.stat(partial).catch(() => null))?.size ?? 0) >= cut);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // it ended by itself: the output says why
    }
    const out = await child.output();
    if (out.code !== 137 && out.signal !== "SIGKILL") {
      assert.fail(`pvr ended by itself (${out.code}): ${new TextDecoder().decode(out.stderr)}`);
    }
  }
  const got = (await Deno.stat(partial)).size;
  assert.ok(got > 0 && got < size, `partial holds ${got} bytes`);
  assert.ok(!(await Deno.stat(`${f.repo.objectsDir}/${sha}`).catch(() => null)), "no object yet");
  assert.equal(
    (await Deno.readTextFile(`${f.repo.dir}/.pvr/json`)).includes("big.bin"),
    false,
    "the state did not change",
  );
  f.hub.faults.clear();
  f.hub.clearRequests();
  const again = await runPvr(["get", f.trailUrl], { cwd: f.repo.dir, env: f.env });
  assert.equal(again.code, 0, again.stderr);
  const blobs = f.hub.requests.filter((q) => BLOB_PATH.test(q.path));
  assert.equal(blobs.length, 1, requestLines(f.hub).join("\n"));
  const start = Number(/^bytes=(\d+)-$/.exec(blobs[0].request.range ?? "")?.[1] ?? 0);
  assert.equal(start, got);
  assert.equal(blobs[0].status, 206);
  const transferred = Number(blobs[0].response["content-length"]);
  assert.equal(transferred, size - got);
  assert.ok(transferred < size);
  assert.deepEqual(await Deno.readFile(`${f.repo.objectsDir}/${sha}`), big);
  assert.ok(!(await Deno.stat(partial).catch(() => null)));
});
