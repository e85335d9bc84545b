/** `init()` on real temp dirs: the exact `.pvr/` layout the Go pvr writes. */

import assert from "node:assert/strict";
import { init } from "../../mod.ts";
import { exists, rejectsWithCode, withRepo } from "../support/cli.ts";

Deno.test('init() writes .pvr/json as the literal { "#spec": … } text', async () => {
  await withRepo(async (r) => {
    const res = await init(r.opts);
    assert.equal(res.spec, "pantavisor-service-system@1");
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{ "#spec": "pantavisor-service-system@1" }',
    );
  }, { init: false });
});

Deno.test("init() writes .pvr/config tab-indented in the Go layout with an absolute ObjectsDir", async () => {
  await withRepo(async (r) => {
    await init(r.opts);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/config`),
      "{\n" +
        '\t"DefaultGetUrl": "",\n' +
        '\t"DefaultPutUrl": "",\n' +
        '\t"DefaultPostUrl": "",\n' +
        `\t"ObjectsDir": "${r.configDir}/objects",\n` +
        '\t"AccessTokens": {},\n' +
        '\t"RefreshTokens": {}\n' +
        "}",
    );
    assert.ok((await Deno.stat(`${r.configDir}/objects`)).isDirectory);
  }, { init: false });
});

Deno.test("init() creates only json and config in .pvr and adds no files", async () => {
  await withRepo(async (r) => {
    await init(r.opts);
    const names = [];
    for await (const e of Deno.readDir(`${r.dir}/.pvr`)) names.push(e.name);
    assert.deepEqual(names.sort(), ["config", "json"]);
    const top = [];
    for await (const e of Deno.readDir(r.dir)) top.push(e.name);
    assert.deepEqual(top, [".pvr"]);
  }, { init: false });
});

Deno.test("init() with a spec and a relative objects dir stores the spec and an absolute path", async () => {
  await withRepo(async (r) => {
    const res = await init({ ...r.opts, spec: "pantavisor-multi-platform@1", objectsDir: "objs" });
    assert.equal(res.objectsDir, `${r.dir}/objs`);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{ "#spec": "pantavisor-multi-platform@1" }',
    );
    assert.match(
      await Deno.readTextFile(`${r.dir}/.pvr/config`),
      new RegExp(`\t"ObjectsDir": "${r.dir}/objs",\n`),
    );
    assert.ok(await exists(`${r.dir}/objs`));
  }, { init: false });
});

Deno.test("init() creates a missing target directory", async () => {
  await withRepo(async (r) => {
    const dir = `${r.root}/new/deep`;
    await init({ dir, configDir: r.configDir });
    assert.ok(await exists(`${dir}/.pvr/json`));
  }, { init: false });
});

Deno.test("init() twice fails with ALREADY_A_REPO and leaves the repo as it was", async () => {
  await withRepo(async (r) => {
    const before = await Deno.readTextFile(`${r.dir}/.pvr/config`);
    await rejectsWithCode(init(r.opts), "ALREADY_A_REPO");
    await rejectsWithCode(init({ ...r.opts, spec: "other@1" }), "ALREADY_A_REPO");
    assert.equal(await Deno.readTextFile(`${r.dir}/.pvr/config`), before);
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      '{ "#spec": "pantavisor-service-system@1" }',
    );
  });
});

Deno.test("init() refuses a directory where .pvr is a plain file (ALREADY_A_REPO)", async () => {
  await withRepo(async (r) => {
    await Deno.writeTextFile(`${r.dir}/.pvr`, "not a dir");
    await rejectsWithCode(init(r.opts), "ALREADY_A_REPO");
    assert.equal(await Deno.readTextFile(`${r.dir}/.pvr`), "not a dir");
  }, { init: false });
});
