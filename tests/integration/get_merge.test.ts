/** `get()` and `merge()` from local sources: checkout roots, bare dirs, tarballs; fragments. */

import assert from "node:assert/strict";
import {
  add,
  canonicalJson,
  checkout,
  commit,
  exportRepo,
  get,
  init,
  merge,
  put,
  status,
} from "../../mod.ts";
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

const SPEC = "pantavisor-service-system@1";

/**
 * Makes a second repository at `<root>/src` with its own objects dir (`<root>/src-objects`,
 * named in its `.pvr/config`), holding and committing `files`.
 */
async function makeSource(r: TestRepo, files: Record<string, string>): Promise<string> {
  const dir = `${r.root}/src`;
  await init({ dir, configDir: r.configDir, objectsDir: `${r.root}/src-objects` });
  await writeFiles(dir, files);
  await add({ dir, configDir: r.configDir });
  await commit({ dir, configDir: r.configDir });
  return dir;
}

function committed(r: TestRepo, files: Record<string, string>): Promise<void> {
  return commitFiles(r, files);
}

/** The committed state of the test repo as canonical JSON text. */
function pristine(r: TestRepo): Promise<string> {
  return Deno.readTextFile(`${r.dir}/.pvr/json`);
}

/** The canonical state made of `entries` (values: object contents, or JSON for .json keys). */
function stateText(entries: Record<string, string>, spec = SPEC): string {
  const o: Record<string, unknown> = { "#spec": spec };
  for (const [k, v] of Object.entries(entries)) {
    o[k] = k.endsWith(".json") ? JSON.parse(v) : sha256Hex(v);
  }
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(",")}}`;
}

const LOCAL = {
  "app/run.json": '{"app":"local"}',
  "bsp/kernel.img": "old kernel",
  "bsp/old.bin": "old",
  "bsp2/x.bin": "bsp2 local",
  "bspfoo.json": '{"foo":1}',
};

const REMOTE = {
  "app/run.json": '{"app":"remote","extra":true}',
  "bsp/kernel.img": "new kernel",
  "bsp/modules.squashfs": "modules",
  "bsp2/x.bin": "bsp2 remote",
  "os/root.squashfs": "root",
};

Deno.test("get() from a checkout root replaces the committed state and copies its objects; the tree is untouched", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    const tree = await snapshotTree(r.dir, { skip: [".pvr"] });
    const res = await get({ ...r.opts, ref: src });
    assert.equal(await pristine(r), stateText(REMOTE));
    assert.equal(res.imported, 4);
    assert.equal(res.objectsDir, r.objectsDir);
    for (const content of ["new kernel", "modules", "bsp2 remote", "root"]) {
      assert.equal(await Deno.readTextFile(`${r.objectsDir}/${sha256Hex(content)}`), content);
    }
    assert.deepEqual(await snapshotTree(r.dir, { skip: [".pvr"] }), tree);
    await checkout(r.opts);
    assert.equal(await Deno.readTextFile(`${r.dir}/os/root.squashfs`), "root");
    assert.equal(await Deno.readTextFile(`${r.dir}/bsp/kernel.img`), "new kernel");
  });
});

Deno.test("get() of objects the store already has counts them as cached", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r, REMOTE);
    const first = await get({ ...r.opts, ref: src });
    assert.equal(first.imported, 4);
    const second = await get({ ...r.opts, ref: src });
    assert.equal(second.imported, 0);
    assert.ok(second.objects.every((o) => o.cached));
  });
});

Deno.test("get() reads a bare repo dir (a .pvr, with ObjectsDir in its config)", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r, REMOTE);
    await get({ ...r.opts, ref: `${src}/.pvr` });
    assert.equal(await pristine(r), stateText(REMOTE));
    assert.ok(await exists(`${r.objectsDir}/${sha256Hex("root")}`));
  });
});

Deno.test("get() reads a bare json + objects/ dir made by put", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r, REMOTE);
    await put({ dir: src, configDir: r.configDir, target: `${r.root}/bare` });
    await get({ ...r.opts, ref: `${r.root}/bare` });
    assert.equal(await pristine(r), stateText(REMOTE));
  });
});

Deno.test("get() reads an export tarball", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r, REMOTE);
    await exportRepo({ dir: src, configDir: r.configDir, output: `${r.root}/src.tgz` });
    const res = await get({ ...r.opts, ref: `${r.root}/src.tgz` });
    assert.equal(await pristine(r), stateText(REMOTE));
    assert.equal(res.imported, 4);
    for (const content of ["new kernel", "modules", "bsp2 remote", "root"]) {
      assert.ok(await exists(`${r.objectsDir}/${sha256Hex(content)}`));
    }
  });
});

Deno.test("get() #bsp replaces bsp/ only: bsp2/ and bspfoo.json are kept (the / boundary)", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    const res = await get({ ...r.opts, ref: `${src}#bsp` });
    assert.equal(
      await pristine(r),
      stateText({
        "app/run.json": LOCAL["app/run.json"],
        "bsp/kernel.img": "new kernel",
        "bsp/modules.squashfs": "modules",
        "bsp2/x.bin": "bsp2 local",
        "bspfoo.json": LOCAL["bspfoo.json"],
      }),
    );
    assert.deepEqual(res.objects.map((o) => o.key), ["bsp/kernel.img", "bsp/modules.squashfs"]);
    assert.equal(await exists(`${r.objectsDir}/${sha256Hex("root")}`), false, "only bsp objects");
  });
});

Deno.test("get() #bsp,os,-app selects two parts and removes a third", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    await get({ ...r.opts, ref: `${src}#bsp,os,-app` });
    assert.equal(
      await pristine(r),
      stateText({
        "bsp/kernel.img": "new kernel",
        "bsp/modules.squashfs": "modules",
        "bsp2/x.bin": "bsp2 local",
        "bspfoo.json": LOCAL["bspfoo.json"],
        "os/root.squashfs": "root",
      }),
    );
  });
});

Deno.test("get() #a-single-key selects just that key", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    await get({ ...r.opts, ref: `${src}#app/run.json` });
    assert.equal(
      await pristine(r),
      stateText({ ...LOCAL, "app/run.json": REMOTE["app/run.json"] }),
    );
  });
});

Deno.test("get() with parts keeps the local #spec; without parts takes the source's", async () => {
  await withRepo(async (r) => {
    const dir = `${r.root}/src`;
    await init({ dir, configDir: r.configDir, spec: "other-spec@2" });
    await writeFiles(dir, { "bsp/k": "k" });
    await add({ dir, configDir: r.configDir });
    await commit({ dir, configDir: r.configDir });
    await get({ ...r.opts, ref: `${dir}#bsp` });
    assert.match(await pristine(r), /^\{"#spec":"pantavisor-service-system@1",/);
    await get({ ...r.opts, ref: dir });
    assert.match(await pristine(r), /^\{"#spec":"other-spec@2",/);
  });
});

Deno.test("get() remembers the reference as DefaultGetUrl and uses it when called without one", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    await get({ ...r.opts, ref: `${src}#bsp` });
    assert.match(
      await Deno.readTextFile(`${r.dir}/.pvr/config`),
      new RegExp(`\t"DefaultGetUrl": "${src}#bsp",\n\t"DefaultPutUrl": "",\n`),
    );
    // Change the source; a get without a reference fetches #bsp from it again.
    await writeFiles(src, { "bsp/kernel.img": "newer kernel", "os/root.squashfs": "root2" });
    await commit({ dir: src, configDir: r.configDir });
    const res = await get(r.opts);
    assert.equal(res.ref, `${src}#bsp`);
    const state = JSON.parse(await pristine(r));
    assert.equal(state["bsp/kernel.img"], sha256Hex("newer kernel"));
    assert.equal(state["os/root.squashfs"], undefined, "still only #bsp");
  });
});

Deno.test("get() without a reference or a DefaultGetUrl fails with USAGE", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(get(r.opts), "USAGE");
    await rejectsWithCode(merge(r.opts), "USAGE");
  });
});

Deno.test("get() of a path that is no repository fails with BAD_REFERENCE and changes nothing", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const before = await pristine(r);
    await rejectsWithCode(get({ ...r.opts, ref: `${r.root}/nothing-here` }), "BAD_REFERENCE");
    await Deno.mkdir(`${r.root}/empty`);
    await rejectsWithCode(get({ ...r.opts, ref: `${r.root}/empty` }), "BAD_REFERENCE");
    assert.equal(await pristine(r), before);
  });
});

Deno.test("merge() deep-merges inline JSON, keeps local-only keys and the source's nulls", async () => {
  await withRepo(async (r) => {
    await committed(r, {
      "app/run.json": '{"app":"local","keep":1,"nested":{"a":1}}',
      "l.bin": "l",
    });
    const src = await makeSource(r, {
      "app/run.json": '{"app":"remote","nested":{"b":2},"gone":null}',
      "r.bin": "r",
    });
    const res = await merge({ ...r.opts, ref: src });
    assert.equal(res.imported, 1);
    assert.equal(
      await pristine(r),
      `{"#spec":"${SPEC}",` +
        '"app/run.json":{"app":"remote","gone":null,"keep":1,"nested":{"a":1,"b":2}},' +
        `"l.bin":"${sha256Hex("l")}","r.bin":"${sha256Hex("r")}"}`,
    );
  });
});

Deno.test("merge() #part,-part merges one part and removes another", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    await merge({ ...r.opts, ref: `${src}#os,-bsp2` });
    assert.equal(
      await pristine(r),
      stateText({
        "app/run.json": LOCAL["app/run.json"],
        "bsp/kernel.img": "old kernel",
        "bsp/old.bin": "old",
        "bspfoo.json": LOCAL["bspfoo.json"],
        "os/root.squashfs": "root",
      }),
    );
  });
});

Deno.test("merge() leaves the working tree alone; status shows what checkout would change", async () => {
  await withRepo(async (r) => {
    await committed(r, LOCAL);
    const src = await makeSource(r, REMOTE);
    await merge({ ...r.opts, ref: `${src}#os` });
    assert.equal(await exists(`${r.dir}/os`), false);
    assert.deepEqual((await status(r.opts)).removed, ["os/root.squashfs"]);
    await checkout(r.opts);
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test("get() result state is what .pvr/json holds", async () => {
  await withRepo(async (r) => {
    const src = await makeSource(r, REMOTE);
    const res = await get({ ...r.opts, ref: src });
    assert.equal(canonicalJson(res.state), await pristine(r));
  });
});
