/** `commit()` on real temp dirs: the state switch, messages, checkpoints, exact values. */

import assert from "node:assert/strict";
import { add, commit, json, status } from "../../mod.ts";
import { exists, rejectsWithCode, sha256Hex, withRepo } from "../support/cli.ts";

Deno.test("commit() writes .pvr/json canonically, stores objects, clears .pvr/new", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "hello\n", "c.json": '{"b": 1.50, "a": "<x>"}\n' });
    await add(r.opts);
    const res = await commit(r.opts);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{"#spec":"pantavisor-service-system@1",' +
        `"a.txt":"${sha256Hex("hello\n")}","c.json":{"a":"<x>","b":1.5E0}}`,
    );
    assert.equal(await exists(`${r.dir}/.pvr/new`), false);
    assert.deepEqual(res.added.map((f) => [f.key, f.inline, f.sha]), [
      ["a.txt", false, sha256Hex("hello\n")],
      ["c.json", true, undefined],
    ]);
    assert.equal(res.added[0].path, `${r.dir}/a.txt`);
    const obj = `${r.objectsDir}/${sha256Hex("hello\n")}`;
    assert.equal(await Deno.readTextFile(obj), "hello\n");
    assert.equal((await Deno.stat(obj)).mode! & 0o777, 0o444, "objects are read-only");
  });
});

Deno.test("commit() without a message writes the Go default to .pvr/commitmsg", async () => {
  await withRepo(async (r) => {
    await commit(r.opts);
    assert.equal(await Deno.readTextFile(`${r.dir}/.pvr/commitmsg`), "** No commit message **");
  });
});

Deno.test("commit() writes the message to .pvr/commitmsg without a newline", async () => {
  await withRepo(async (r) => {
    await commit({ ...r.opts, message: "first: é\nsecond line" });
    assert.equal(await Deno.readTextFile(`${r.dir}/.pvr/commitmsg`), "first: é\nsecond line");
  });
});

Deno.test("commit() reports changed and removed files and the next status is clean", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "a", "b.txt": "b", "c.json": '{"v":1}' });
    await add(r.opts);
    await commit(r.opts);
    await r.write({ "a.txt": "A", "c.json": '{"v":2}' });
    await Deno.remove(`${r.dir}/b.txt`);
    const res = await commit(r.opts);
    assert.deepEqual(res.added, []);
    assert.deepEqual(res.changed.map((f) => [f.key, f.inline]), [["a.txt", false], [
      "c.json",
      true,
    ]]);
    assert.deepEqual(res.removed, ["b.txt"]);
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
    assert.equal(await Deno.readTextFile(`${r.objectsDir}/${sha256Hex("A")}`), "A");
  });
});

Deno.test("commit() does not commit untracked files", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "a", "u.txt": "u" });
    await add({ ...r.opts, paths: ["a.txt"] });
    const res = await commit(r.opts);
    assert.equal(res.state.has("u.txt"), false);
    assert.equal(await exists(`${r.objectsDir}/${sha256Hex("u")}`), false);
    assert.deepEqual((await status(r.opts)).untracked, ["u.txt"]);
  });
});

Deno.test("commit() keeps nulls and big numbers exactly (the Go pvr dropped and rounded them)", async () => {
  await withRepo(async (r) => {
    await r.write({
      "n.json": '{"a":null,"arr":[null,{"b":null}],"big":12345678901234567891,"f":-0.000001}',
      "z.json": "null",
    });
    await add(r.opts);
    await commit(r.opts);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{"#spec":"pantavisor-service-system@1",' +
        '"n.json":{"a":null,"arr":[null,{"b":null}],"big":12345678901234567891,"f":-1.0E-6},' +
        '"z.json":null}',
    );
    // A changed big number stays exact too.
    await r.write({ "n.json": '{"a":null,"arr":[null,{"b":null}],"big":98765432109876543211}' });
    await commit(r.opts);
    assert.match(await Deno.readTextFile(`${r.dir}/.pvr/json`), /"big":98765432109876543211\}/);
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test("commit() with checkpoint writes checkpoint.json from the injected clock and commits it", async () => {
  await withRepo(async (r) => {
    const when = new Date(2024, 0, 2, 3, 4, 5); // local time
    const off = -when.getTimezoneOffset();
    const pad = (n: number) => String(Math.abs(n)).padStart(2, "0");
    const zone = off === 0
      ? "Z"
      : `${off < 0 ? "-" : "+"}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
    const expected = `{"major":"2024-01-02T03:04:05${zone}"}`;
    const res = await commit({ ...r.opts, checkpoint: true, now: () => when });
    assert.equal(await Deno.readTextFile(`${r.dir}/checkpoint.json`), expected);
    assert.equal((await Deno.stat(`${r.dir}/checkpoint.json`)).mode! & 0o777, 0o640);
    assert.deepEqual(res.added.map((f) => [f.key, f.inline]), [["checkpoint.json", true]]);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      `{"#spec":"pantavisor-service-system@1","checkpoint.json":${expected}}`,
    );
  });
});

Deno.test("commit() of a .json file that does not parse fails with BAD_JSON and changes nothing", async () => {
  await withRepo(async (r) => {
    await r.write({ "c.json": "{broken" });
    await add(r.opts);
    const before = await Deno.readTextFile(`${r.dir}/.pvr/json`);
    await rejectsWithCode(commit(r.opts), "BAD_JSON");
    await rejectsWithCode(json(r.opts), "BAD_JSON");
    assert.equal(await Deno.readTextFile(`${r.dir}/.pvr/json`), before);
    assert.equal(await exists(`${r.dir}/.pvr/new`), true);
  });
});

Deno.test("commit() of a .json file with trailing data fails with BAD_JSON", async () => {
  await withRepo(async (r) => {
    await r.write({ "c.json": '{"a":1} {"b":2}' });
    await add(r.opts);
    await rejectsWithCode(commit(r.opts), "BAD_JSON");
  });
});

Deno.test("commit() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(commit(r.opts), "NOT_A_REPO");
  }, { init: false });
});
