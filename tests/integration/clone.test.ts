/** `clone()` from local sources: checkout roots, bare dirs, tarballs, fragments, names. */

import assert from "node:assert/strict";
import { add, clone, commit, exportRepo, init, put, status } from "../../mod.ts";
import {
  exists,
  rejectsWithCode,
  sha256Hex,
  type TestRepo,
  withRepo,
  writeFiles,
} from "../support/cli.ts";

const FILES = {
  "bsp/kernel.img": "kernel",
  "bsp2/x.bin": "x",
  "app/run.json": '{"name":"app","n":1.50}',
};

async function makeSource(r: TestRepo): Promise<string> {
  const dir = `${r.root}/src`;
  await init({ dir, configDir: r.configDir, objectsDir: `${r.root}/src-objects` });
  await writeFiles(dir, FILES);
  await add({ dir, configDir: r.configDir });
  await commit({ dir, configDir: r.configDir });
  return dir;
}

async function expectCheckedOut(dir: string, configDir: string): Promise<void> {
  assert.equal(await Deno.readTextFile(`${dir}/bsp/kernel.img`), "kernel");
  assert.equal(await Deno.readTextFile(`${dir}/bsp2/x.bin`), "x");
  assert.equal(
    await Deno.readTextFile(`${dir}/app/run.json`),
    '{\n    "n": 1.5E0,\n    "name": "app"\n}',
  );
  assert.deepEqual(await status({ dir, configDir }), {
    added: [],
    removed: [],
    changed: [],
    untracked: [],
  });
}

Deno.test("clone() of a checkout root creates a checked-out repository named after it", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    const res = await clone({ ref: src, cwd: `${r.root}/out`, configDir: r.configDir });
    assert.equal(res.dir, `${r.root}/out/src`);
    assert.equal(res.imported, 2);
    await expectCheckedOut(res.dir, r.configDir);
    assert.equal(
      await Deno.readTextFile(`${res.dir}/.pvr/json`),
      await Deno.readTextFile(`${src}/.pvr/json`),
    );
    // The objects came into the clone's store (the config dir's), not borrowed.
    assert.ok(await exists(`${r.objectsDir}/${sha256Hex("kernel")}`));
  });
});

Deno.test("clone() remembers the absolute source as DefaultGetUrl and writes an absolute ObjectsDir", async () => {
  await withRepo(async (r) => {
    await makeSource(r);
    const res = await clone({ ref: "src", target: "copy", cwd: r.root, configDir: r.configDir });
    assert.equal(res.dir, `${r.root}/copy`);
    const cfg = await Deno.readTextFile(`${res.dir}/.pvr/config`);
    assert.match(cfg, new RegExp(`\t"DefaultGetUrl": "${r.root}/src",\n`));
    assert.match(cfg, new RegExp(`\t"ObjectsDir": "${r.configDir}/objects",\n`));
  });
});

Deno.test("clone() of a .pvr dir names the clone after the repository, not .pvr", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    const res = await clone({ ref: `${src}/.pvr`, cwd: `${r.root}/out`, configDir: r.configDir });
    assert.equal(res.dir, `${r.root}/out/src`);
    await expectCheckedOut(res.dir, r.configDir);
  });
});

Deno.test("clone() of a bare json + objects/ dir works", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    await put({ dir: src, configDir: r.configDir, target: `${r.root}/bare` });
    const res = await clone({
      ref: `${r.root}/bare`,
      cwd: `${r.root}/out`,
      configDir: r.configDir,
    });
    assert.equal(res.dir, `${r.root}/out/bare`);
    await expectCheckedOut(res.dir, r.configDir);
  });
});

Deno.test("clone() of a tarball names the clone without .tgz", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    await exportRepo({ dir: src, configDir: r.configDir, output: `${r.root}/device.tgz` });
    const res = await clone({
      ref: `${r.root}/device.tgz`,
      cwd: `${r.root}/out`,
      configDir: r.configDir,
    });
    assert.equal(res.dir, `${r.root}/out/device`);
    await expectCheckedOut(res.dir, r.configDir);
  });
});

Deno.test("clone() with #bsp takes bsp/ only (not bsp2/)", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    const res = await clone({
      ref: `${src}#bsp`,
      target: `${r.root}/c`,
      cwd: r.root,
      configDir: r.configDir,
    });
    assert.equal(
      await Deno.readTextFile(`${res.dir}/.pvr/json`),
      `{"#spec":"pantavisor-service-system@1","bsp/kernel.img":"${sha256Hex("kernel")}"}`,
    );
    assert.equal(await exists(`${res.dir}/bsp2`), false);
    assert.equal(await exists(`${res.dir}/app`), false);
  });
});

Deno.test("clone() with canonical writes JSON files canonically", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    const res = await clone({
      ref: src,
      target: `${r.root}/c`,
      cwd: r.root,
      configDir: r.configDir,
      canonical: true,
    });
    assert.equal(await Deno.readTextFile(`${res.dir}/app/run.json`), '{"n":1.5E0,"name":"app"}');
  });
});

Deno.test("clone() into an empty directory replaces it", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    await Deno.mkdir(`${r.root}/empty`);
    const res = await clone({
      ref: src,
      target: `${r.root}/empty`,
      cwd: r.root,
      configDir: r.configDir,
    });
    await expectCheckedOut(res.dir, r.configDir);
  });
});

Deno.test("clone() into a non-empty directory fails and leaves it and its parent as they were", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r);
    await writeFiles(`${r.root}/full`, { "mine.txt": "mine" });
    await rejectsWithCode(
      clone({ ref: src, target: `${r.root}/full`, cwd: r.root, configDir: r.configDir }),
      "FAILED",
    );
    const names = [];
    for await (const e of Deno.readDir(`${r.root}/full`)) names.push(e.name);
    assert.deepEqual(names, ["mine.txt"]);
    for await (const e of Deno.readDir(r.root)) assert.ok(!e.name.startsWith("pvr-clone-"));
  });
});

Deno.test("clone() of a missing source fails with BAD_REFERENCE and leaves no temp dir", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(
      clone({ ref: `${r.root}/nope`, target: `${r.root}/c`, cwd: r.root, configDir: r.configDir }),
      "BAD_REFERENCE",
    );
    const names = [];
    for await (const e of Deno.readDir(r.root)) names.push(e.name);
    assert.deepEqual(names.sort(), ["config", "repo"]);
  });
});
