/** `json()`: the working state (tracked files only). */

import assert from "node:assert/strict";
import { add, canonicalJson, commit, json } from "../../mod.ts";
import { rejectsWithCode, sha256Hex, withRepo } from "../support/cli.ts";

Deno.test("json() of a fresh repository is just #spec", async () => {
  await withRepo(async (r) => {
    assert.equal(
      canonicalJson((await json(r.opts)).state),
      '{"#spec":"pantavisor-service-system@1"}',
    );
  });
});

Deno.test("json() holds added and committed files, not untracked ones, exact numbers kept", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "a", "c.json": '{"n":1.50,"big":12345678901234567891}' });
    await add(r.opts);
    await commit(r.opts);
    await r.write({ "b.txt": "b", "u.txt": "u" });
    await add({ ...r.opts, paths: ["b.txt"] });
    assert.equal(
      canonicalJson((await json(r.opts)).state),
      `{"#spec":"pantavisor-service-system@1","a.txt":"${sha256Hex("a")}",` +
        `"b.txt":"${sha256Hex("b")}","c.json":{"big":12345678901234567891,"n":1.5E0}}`,
    );
  });
});

Deno.test("json() leaves out a tracked file that was deleted", async () => {
  await withRepo(async (r) => {
    await r.write({ "a.txt": "a", "b.txt": "b" });
    await add(r.opts);
    await commit(r.opts);
    await Deno.remove(`${r.dir}/a.txt`);
    assert.deepEqual([...(await json(r.opts)).state.keys()], ["#spec", "b.txt"]);
  });
});

Deno.test("pvr json prints tab-indented canonical values; -c prints canonical JSON", async () => {
  await withRepo(async (r) => {
    await r.write({ "c.json": '{"b": 1.50, "a": "<x>"}' });
    await add(r.opts);
    const out = await r.run(["json"]);
    assert.equal(
      out.stdout,
      '{\n\t"#spec": "pantavisor-service-system@1",\n\t"c.json": {\n\t\t"a": "<x>",\n\t\t"b": 1.5E0\n\t}\n}\n',
    );
    const c = await r.run(["json", "-c"]);
    assert.equal(
      c.stdout,
      '{"#spec":"pantavisor-service-system@1","c.json":{"a":"<x>","b":1.5E0}}\n',
    );
  });
});

Deno.test("json() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(json(r.opts), "NOT_A_REPO");
  }, { init: false });
});
