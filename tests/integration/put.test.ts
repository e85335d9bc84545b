/** `put()` to local directories: the bare layout, only referenced objects, then clone from it. */

import assert from "node:assert/strict";
import { clone, put } from "../../mod.ts";
import {
  commitFiles,
  exists,
  rejectsWithCode,
  sha256Hex,
  snapshotTree,
  type TestRepo,
  withRepo,
  writeFiles,
} from "../support/cli.ts";

function committed(r: TestRepo, files: Record<string, string>): Promise<void> {
  return commitFiles(r, files);
}

async function listDir(path: string): Promise<string[]> {
  const names = [];
  for await (const e of Deno.readDir(path)) names.push(e.name);
  return names.sort();
}

Deno.test("put() to a new directory writes json and only the referenced objects", async () => {
  await withRepo(async (r) => {
    // An object in the shared store that the state does not reference.
    await committed(r, { "old.bin": "old" });
    await Deno.remove(`${r.dir}/old.bin`);
    await committed(r, { "a.bin": "a", "d/b.bin": "b", "same.bin": "a", "c.json": '{"x":1}' });
    const target = `${r.root}/bare`;
    const res = await put({ ...r.opts, target });
    assert.deepEqual(res, { target, sent: 2, skipped: 0 });
    assert.deepEqual(await listDir(target), ["json", "objects"]);
    assert.deepEqual(await listDir(`${target}/objects`), [sha256Hex("a"), sha256Hex("b")].sort());
    assert.equal(
      await Deno.readTextFile(`${target}/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
    assert.equal(await exists(`${target}/objects/${sha256Hex("old")}`), false);
  });
});

Deno.test("put() to an existing bare repo copies only the objects it lacks", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    const target = `${r.root}/bare`;
    await put({ ...r.opts, target });
    await committed(r, { "b.bin": "b" });
    const res = await put({ ...r.opts, target });
    assert.deepEqual(res, { target, sent: 1, skipped: 1 });
    assert.deepEqual(await listDir(`${target}/objects`), [sha256Hex("a"), sha256Hex("b")].sort());
    const forced = await put({ ...r.opts, target, force: true });
    assert.deepEqual(forced, { target, sent: 2, skipped: 0 });
  });
});

Deno.test("put() then clone() from the put target reproduces the repository", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a", "d/b.bin": "b", "c.json": '{"x":[1,2]}' });
    await put({ ...r.opts, target: `${r.root}/bare` });
    const other = `${r.root}/other-config`;
    const res = await clone({
      ref: `${r.root}/bare`,
      cwd: r.root,
      target: "copy",
      configDir: other,
    });
    assert.equal(
      await Deno.readTextFile(`${res.dir}/.pvr/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
    // The same files (JSON files are rewritten 4-space indented by the checkout).
    assert.deepEqual(
      await snapshotTree(res.dir, { skip: [".pvr", "c.json"] }),
      await snapshotTree(r.dir, { skip: [".pvr", "c.json"] }),
    );
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${res.dir}/c.json`)), { x: [1, 2] });
  });
});

Deno.test("put() remembers DefaultPutUrl (and DefaultGetUrl when empty) and reuses it", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    await put({ ...r.opts, target: "../bare" });
    const cfg = await Deno.readTextFile(`${r.dir}/.pvr/config`);
    assert.match(cfg, /\t"DefaultGetUrl": "\.\.\/bare",\n\t"DefaultPutUrl": "\.\.\/bare",\n/);
    await committed(r, { "b.bin": "b" });
    const res = await put(r.opts);
    assert.equal(res.target, `${r.root}/bare`);
    assert.equal(res.sent, 1);
  });
});

Deno.test("put() refuses a non-empty directory that is not a repository (BAD_REFERENCE)", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    await writeFiles(`${r.root}/full`, { "mine.txt": "mine" });
    await rejectsWithCode(put({ ...r.opts, target: `${r.root}/full` }), "BAD_REFERENCE");
    assert.deepEqual(await listDir(`${r.root}/full`), ["mine.txt"]);
  });
});

Deno.test("put() onto the repository itself is a usage error", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(put({ ...r.opts, target: "." }), "USAGE");
    await rejectsWithCode(put({ ...r.opts, target: ".pvr" }), "USAGE");
  });
});

Deno.test("put() without a target or DefaultPutUrl is a usage error", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(put(r.opts), "USAGE");
  });
});

Deno.test("put() that fails on a missing object leaves no half-made target, and a later put works", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a", "b.bin": "b" });
    const obj = `${r.objectsDir}/${sha256Hex("b")}`;
    await Deno.rename(obj, `${r.root}/b.saved`);
    const target = `${r.root}/bare`;
    const err = await rejectsWithCode(put({ ...r.opts, target }), "OBJECT_MISSING");
    assert.match(err.message, new RegExp(sha256Hex("b")));
    assert.equal(await exists(target), false);
    await Deno.rename(`${r.root}/b.saved`, obj);
    assert.equal((await put({ ...r.opts, target })).sent, 2);
  });
});
