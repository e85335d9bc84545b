/** `status()` on real temp dirs: classification, order, nulls, exact numbers, stat cache. */

import assert from "node:assert/strict";
import { add, commit, status } from "../../mod.ts";
import { Repo } from "../../core/repo/repo.ts";
import { prepareRead } from "../../core/repo/transaction.ts";
import { computeWorkingState } from "../../core/repo/working_state.ts";
import { ageFiles, commitFiles, rejectsWithCode, type TestRepo, withRepo } from "../support/cli.ts";

/** Sets the mtime of the given working files into the past (not racy for the stat cache). */
function age(r: TestRepo, keys: string[], when?: Date): Promise<void> {
  return ageFiles(r.dir, keys, when);
}

/** How many files one working-state computation had to hash. */
async function hashedCount(r: TestRepo): Promise<number> {
  const repo = await Repo.open(r.opts);
  const cache = await prepareRead(repo);
  const ws = await computeWorkingState(repo, { cache });
  await cache.save();
  return ws.hashed;
}

function committed(r: TestRepo, files: Record<string, string>): Promise<void> {
  return commitFiles(r, files);
}

Deno.test("status() of a freshly committed tree is empty", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.txt": "a", "c.json": '{"x":1}' });
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test('status() reports an added file as "A" and a new file as "?"', async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "a", "n.txt": "n" });
    await add({ ...r.opts, paths: ["a.txt"] });
    const s = await status(r.opts);
    assert.deepEqual(s.added, ["a.txt"]);
    assert.deepEqual(s.untracked, ["n.txt"]);
  });
});

Deno.test('status() reports a removed file as "D"', async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.txt": "a", "b.txt": "b" });
    await Deno.remove(`${r.dir}/a.txt`);
    assert.deepEqual(await status(r.opts), {
      added: [],
      removed: ["a.txt"],
      changed: [],
      untracked: [],
    });
  });
});

Deno.test('status() reports a changed object file and a changed JSON file as "C"', async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.txt": "a", "c.json": '{"x":{"y":1,"z":2}}' });
    await r.write({ "a.txt": "A", "c.json": '{"x":{"y":1,"z":3}}' });
    assert.deepEqual((await status(r.opts)).changed, ["a.txt", "c.json"]);
  });
});

Deno.test("status() sorts every group by code point, not by UTF-16 unit", async () => {
  await withRepo(async (r) => {
    // UTF-16 order would put the astral 😀 (D83D…) before ｚ (FF5A); code points do not.
    const names = ["😀.txt", "ｚ.txt", "é.txt", "b.txt", "Z.txt", "a/b.txt", "a.txt"];
    const files: Record<string, string> = {};
    for (const n of names) files[n] = n;
    await r.write(files);
    const expected = ["Z.txt", "a.txt", "a/b.txt", "b.txt", "é.txt", "ｚ.txt", "😀.txt"];
    assert.deepEqual((await status(r.opts)).untracked, expected);
    await add(r.opts);
    assert.deepEqual((await status(r.opts)).added, expected);
    await commit(r.opts);
    for (const n of names) await Deno.writeTextFile(`${r.dir}/${n}`, "changed");
    assert.deepEqual((await status(r.opts)).changed, expected);
    for (const n of names) await Deno.remove(`${r.dir}/${n}`);
    assert.deepEqual((await status(r.opts)).removed, expected);
  });
});

Deno.test('status() treats a .json file containing null as present, not "D" for ever', async () => {
  await withRepo(async (r) => {
    await committed(r, { "n.json": "null", "o.json": '{"k":null}' });
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{"#spec":"pantavisor-service-system@1","n.json":null,"o.json":{"k":null}}',
    );
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
    await Deno.remove(`${r.dir}/n.json`);
    assert.deepEqual((await status(r.opts)).removed, ["n.json"]);
  });
});

Deno.test("status() compares numbers by exact value: big integers differ, 1.0 equals 1", async () => {
  await withRepo(async (r) => {
    await committed(r, { "n.json": '{"big":12345678901234567890,"f":1.0}' });
    await r.write({ "n.json": '{"big": 12345678901234567890, "f": 1}' });
    assert.deepEqual((await status(r.opts)).changed, [], "same values, other text");
    await r.write({ "n.json": '{"big":12345678901234567891,"f":1}' });
    assert.deepEqual((await status(r.opts)).changed, ["n.json"], "beyond 2^53 still differs");
  });
});

Deno.test("status() does not report a reformatted JSON file", async () => {
  await withRepo(async (r) => {
    await committed(r, { "c.json": '{"b":[1,2],"a":"x"}' });
    await r.write({ "c.json": '{\n  "a": "x",\n  "b": [ 1, 2 ]\n}\n' });
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test("status() of an unchanged tree hashes no file (stat cache)", async () => {
  await withRepo(async (r) => {
    const files = { "a.bin": "a", "d/b.bin": "b", "d/e/c.bin": "c", "x.json": "{}" };
    await r.write(files);
    await age(r, Object.keys(files));
    await add(r.opts);
    await commit(r.opts);
    assert.equal(await hashedCount(r), 0, "commit left the cache warm");
    assert.equal(await hashedCount(r), 0);
    await status(r.opts);
    assert.equal(await hashedCount(r), 0);
  });
});

Deno.test("status() re-hashes exactly the edited file", async () => {
  await withRepo(async (r) => {
    const files = { "a.bin": "a", "b.bin": "b", "c.bin": "c" };
    await r.write(files);
    await age(r, Object.keys(files));
    await add(r.opts);
    await commit(r.opts);
    await r.write({ "b.bin": "B" });
    await age(r, ["b.bin"], new Date("2021-05-06T07:08:09Z"));
    assert.equal(await hashedCount(r), 1);
    assert.deepEqual((await status(r.opts)).changed, ["b.bin"]);
    assert.equal(await hashedCount(r), 0, "the new stat is cached");
  });
});

Deno.test("status() sees a same-size file replaced by rename even when the mtime is put back", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.bin": "aaaa" });
    await age(r, ["a.bin"]);
    await add(r.opts);
    await commit(r.opts);
    // A new inode with the same size and mtime (as `tar x` or an editor's save-by-rename).
    await r.write({ "a.new": "bbbb" });
    await age(r, ["a.new"]);
    await Deno.rename(`${r.dir}/a.new`, `${r.dir}/a.bin`);
    assert.deepEqual((await status(r.opts)).changed, ["a.bin"]);
  });
});

Deno.test("status() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(status(r.opts), "NOT_A_REPO");
  }, { init: false });
});
