/** `add()` on real temp dirs: what gets recorded in `.pvr/new`, and how patterns match. */

import assert from "node:assert/strict";
import { add, commit, json } from "../../mod.ts";
import { rejectsWithCode, sha256Hex, type TestRepo, withRepo } from "../support/cli.ts";

const TREE = {
  "a.txt": "a\n",
  "b.json": '{"b":1}',
  "bsp/kernel.img": "K",
  "bsp/sub/deep.bin": "D",
  "bsp2/x.bin": "X",
  "conf/one.json": '{"one":1}',
  "conf/nested/two.json": '{"two":2}',
  ".pvrignore": "not skipped",
  ".git/HEAD": "ref",
};

/** The keys of `.pvr/new`, sorted (empty when there is no `.pvr/new`). */
async function newKeys(r: TestRepo): Promise<string[]> {
  try {
    return Object.keys(JSON.parse(await Deno.readTextFile(`${r.dir}/.pvr/new`))).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

const ALL = [
  ".git/HEAD",
  ".pvrignore",
  "a.txt",
  "b.json",
  "bsp/kernel.img",
  "bsp/sub/deep.bin",
  "bsp2/x.bin",
  "conf/nested/two.json",
  "conf/one.json",
];

Deno.test("add() without paths records every file (hidden ones too, not .pvr)", async () => {
  await withRepo(async (r) => {
    const res = await add(r.opts);
    assert.deepEqual(res.added, ALL);
    assert.deepEqual(await newKeys(r), ALL);
  }, { files: TREE });
});

Deno.test('add() with "." records every file', async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["."] })).added, ALL);
  }, { files: TREE });
});

Deno.test("add() writes .pvr/new canonically with ForceObject before Sha", async () => {
  await withRepo(async (r) => {
    await add({ ...r.opts, paths: ["a.txt", "b.json"] });
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/new`),
      `{"a.txt":{"ForceObject":false,"Sha":"${sha256Hex("a\n")}"},` +
        `"b.json":{"ForceObject":false,"Sha":"${sha256Hex('{"b":1}')}"}}`,
    );
  }, { files: TREE });
});

Deno.test("add() of named files records just those", async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["a.txt", "bsp2/x.bin"] })).added, [
      "a.txt",
      "bsp2/x.bin",
    ]);
  }, { files: TREE });
});

Deno.test("add() of a directory recurses into it (bsp does not take bsp2)", async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["bsp"] })).added, [
      "bsp/kernel.img",
      "bsp/sub/deep.bin",
    ]);
  }, { files: TREE });
});

Deno.test('add() understands "./x" and "dir/"', async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["./a.txt", "conf/"] })).added, [
      "a.txt",
      "conf/nested/two.json",
      "conf/one.json",
    ]);
  }, { files: TREE });
});

Deno.test("add() accepts an absolute path inside the repository", async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: [`${r.dir}/a.txt`] })).added, ["a.txt"]);
  }, { files: TREE });
});

Deno.test("add() glob * stays within one path segment", async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["*.json"] })).added, ["b.json"]);
    assert.deepEqual((await add({ ...r.opts, paths: ["conf/*.json"] })).added, ["conf/one.json"]);
  }, { files: TREE });
});

Deno.test("add() glob ** crosses directories", async () => {
  await withRepo(async (r) => {
    assert.deepEqual((await add({ ...r.opts, paths: ["**/*.json"] })).added, [
      "b.json",
      "conf/nested/two.json",
      "conf/one.json",
    ]);
    assert.deepEqual((await add({ ...r.opts, paths: ["bsp/**"] })).added, [
      "bsp/kernel.img",
      "bsp/sub/deep.bin",
    ]);
  }, { files: TREE });
});

Deno.test("add() accumulates entries until commit", async () => {
  await withRepo(async (r) => {
    await add({ ...r.opts, paths: ["a.txt"] });
    await add({ ...r.opts, paths: ["b.json"] });
    assert.deepEqual(await newKeys(r), ["a.txt", "b.json"]);
    await commit(r.opts);
    assert.deepEqual(await newKeys(r), []);
  }, { files: TREE });
});

Deno.test("add() of a pattern that matches nothing fails with USAGE and records nothing", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(add({ ...r.opts, paths: ["nope.txt"] }), "USAGE");
    await rejectsWithCode(add({ ...r.opts, paths: ["a.txt", "*.nomatch"] }), "USAGE");
    assert.deepEqual(await newKeys(r), []);
  }, { files: TREE });
});

Deno.test("add() refuses a path outside the repository with UNSAFE_PATH", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(add({ ...r.opts, paths: ["../x"] }), "UNSAFE_PATH");
    await rejectsWithCode(add({ ...r.opts, paths: [`${r.root}/config`] }), "UNSAFE_PATH");
  }, { files: TREE });
});

Deno.test("add() --raw records ForceObject and the .json file is committed as an object", async () => {
  await withRepo(async (r) => {
    await add({ ...r.opts, paths: ["b.json"], raw: true });
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/new`),
      `{"b.json":{"ForceObject":true,"Sha":"${sha256Hex('{"b":1}')}"}}`,
    );
    const { state } = await json(r.opts);
    assert.equal(state.get("b.json"), sha256Hex('{"b":1}'));
    await commit(r.opts);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      `{"#spec":"pantavisor-service-system@1","b.json":"${sha256Hex('{"b":1}')}"}`,
    );
    assert.equal(
      await Deno.readTextFile(`${r.configDir}/objects/${sha256Hex('{"b":1}')}`),
      '{"b":1}',
    );
  }, { files: TREE });
});

Deno.test("add() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(add(r.opts), "NOT_A_REPO");
  }, { init: false, files: { "a.txt": "a" } });
});
