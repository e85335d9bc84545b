/** `checkout()` on real temp dirs: copy, hardlink and canonical modes; what is (not) rewritten. */

import assert from "node:assert/strict";
import { add, checkout, commit, get, init, status } from "../../mod.ts";
import {
  commitFiles,
  exists,
  rejectsWithCode,
  sha256Hex,
  type TestRepo,
  withRepo,
  writeFiles,
} from "../support/cli.ts";

const FILES = {
  "a.txt": "hello\n",
  "bsp/kernel.img": "KERNEL",
  "c.json": '{"b": 1.50, "a": "<x>", "l": [1, {"z": null}]}',
};

/**
 * Replaces an object's bytes with `text` (the same size) and moves its mtime 5 s on: a
 * write in the same clock tick as the commit's would keep the mtime the stat cache has.
 */
async function damageObject(path: string, text: string): Promise<void> {
  const before = (await Deno.stat(path)).mtime!;
  await Deno.chmod(path, 0o644);
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, 0o444);
  await Deno.utime(path, new Date(), new Date(before.getTime() + 5000));
}

/** Writes, ages (so the stat cache trusts them), adds and commits `files`. */
function committed(r: TestRepo, files: Record<string, string> = FILES): Promise<void> {
  return commitFiles(r, files, { age: true });
}

Deno.test("checkout() restores deleted files: objects copied, JSON 4-space indented and HTML-escaped", async () => {
  await withRepo(async (r) => {
    await committed(r);
    for (const k of Object.keys(FILES)) await Deno.remove(`${r.dir}/${k}`);
    await checkout(r.opts);
    assert.equal(await Deno.readTextFile(`${r.dir}/a.txt`), "hello\n");
    assert.equal(await Deno.readTextFile(`${r.dir}/bsp/kernel.img`), "KERNEL");
    assert.equal(
      await Deno.readTextFile(`${r.dir}/c.json`),
      '{\n    "a": "\\u003cx\\u003e",\n    "b": 1.5E0,\n    "l": [\n        1,\n        {\n' +
        '            "z": null\n        }\n    ]\n}',
    );
    const st = await Deno.stat(`${r.dir}/a.txt`);
    const obj = await Deno.stat(`${r.objectsDir}/${sha256Hex("hello\n")}`);
    assert.notEqual(st.ino, obj.ino, "a copy, not a link");
    assert.equal(st.mode! & 0o777, 0o644, "copies are writable");
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test("checkout() with canonical writes inline JSON canonically", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await checkout({ ...r.opts, canonical: true });
    assert.equal(
      await Deno.readTextFile(`${r.dir}/c.json`),
      '{"a":"<x>","b":1.5E0,"l":[1,{"z":null}]}',
    );
  });
});

Deno.test("checkout() with hardlink shares the object's inode, read-only, and writes JSON canonically", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.dir}/bsp`, { recursive: true });
    const res = await checkout({ ...r.opts, hardlink: true });
    assert.equal(res.written.hardlink, 2, "a.txt is replaced by the link too");
    for (const [key, content] of [["a.txt", "hello\n"], ["bsp/kernel.img", "KERNEL"]]) {
      const file = await Deno.stat(`${r.dir}/${key}`);
      const obj = await Deno.stat(`${r.objectsDir}/${sha256Hex(content)}`);
      assert.equal(file.ino, obj.ino, `${key} is a hardlink to its object`);
      assert.equal(file.mode! & 0o777, 0o444);
      assert.equal(obj.mode! & 0o777, 0o444);
    }
    assert.equal(
      await Deno.readTextFile(`${r.dir}/c.json`),
      '{"a":"<x>","b":1.5E0,"l":[1,{"z":null}]}',
    );
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
    // Run again: the links are already right.
    const again = await checkout({ ...r.opts, hardlink: true });
    assert.equal(again.written.hardlink, 0);
    assert.equal(again.written.inline, 0, "an unchanged JSON file is not rewritten");
    assert.equal(again.unchanged, 3);
  });
});

Deno.test("checkout() does not rewrite unchanged object files", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const before = await Deno.stat(`${r.dir}/bsp/kernel.img`);
    const res = await checkout(r.opts);
    assert.equal(res.unchanged, 2);
    assert.equal(res.written.copy + res.written.reflink + res.written.hardlink, 0);
    const after = await Deno.stat(`${r.dir}/bsp/kernel.img`);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
  });
});

Deno.test("checkout() reverts an edited tracked file to its committed content", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await r.write({ "a.txt": "edited" });
    const res = await checkout(r.opts);
    assert.equal(res.unchanged, 1);
    assert.equal(await Deno.readTextFile(`${r.dir}/a.txt`), "hello\n");
  });
});

Deno.test("checkout() never touches untracked files", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await r.write({ "notes.txt": "mine", "bsp/extra.bin": "x" });
    await checkout(r.opts);
    assert.equal(await Deno.readTextFile(`${r.dir}/notes.txt`), "mine");
    assert.equal(await Deno.readTextFile(`${r.dir}/bsp/extra.bin`), "x");
  });
});

Deno.test("checkout() clears .pvr/new (added files become untracked again)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await r.write({ "n.txt": "n" });
    await add({ ...r.opts, paths: ["n.txt"] });
    assert.ok(await exists(`${r.dir}/.pvr/new`));
    await checkout(r.opts);
    assert.equal(await exists(`${r.dir}/.pvr/new`), false);
    assert.equal(await Deno.readTextFile(`${r.dir}/n.txt`), "n");
    assert.deepEqual((await status(r.opts)).untracked, ["n.txt"]);
  });
});

Deno.test("checkout() deletes unchanged files that left the state and keeps edited ones", async () => {
  await withRepo(async (r) => {
    await committed(r, { "keep.txt": "keep", "x.txt": "x", "y.txt": "y" });
    // A source state that has only keep.txt.
    const src = `${r.root}/src`;
    await writeFiles(src, {
      json: JSON.stringify({
        "#spec": "pantavisor-service-system@1",
        "keep.txt": sha256Hex("keep"),
      }),
      [`objects/${sha256Hex("keep")}`]: "keep",
    });
    await r.write({ "y.txt": "edited y" });
    await get({ ...r.opts, ref: src });
    const res = await checkout(r.opts);
    assert.deepEqual(res.removed, ["x.txt"]);
    assert.equal(await exists(`${r.dir}/x.txt`), false, "unchanged and in the store: removed");
    assert.equal(await Deno.readTextFile(`${r.dir}/y.txt`), "edited y", "edited: kept");
    assert.equal(await Deno.readTextFile(`${r.dir}/keep.txt`), "keep");
    assert.deepEqual(await status(r.opts), {
      added: [],
      removed: [],
      changed: [],
      untracked: ["y.txt"],
    });
  });
});

Deno.test("checkout() of an object missing from the store fails with OBJECT_MISSING", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.dir}/a.txt`);
    await Deno.remove(`${r.objectsDir}/${sha256Hex("hello\n")}`);
    await rejectsWithCode(checkout(r.opts), "OBJECT_MISSING");
    assert.equal(await exists(`${r.dir}/.pvr/journal`), false, "no journal left to replay");
    assert.deepEqual((await status(r.opts)).removed, ["a.txt"], "later commands still work");
  });
});

Deno.test("checkout() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(checkout(r.opts), "NOT_A_REPO");
  }, { init: false });
});

Deno.test("checkout() refused for a damaged object changes no file, in copy and hardlink mode", async () => {
  await withRepo(async (r) => {
    await committed(r, { ...FILES, "z.bin": "zzzz\n" });
    const obj = `${r.objectsDir}/${sha256Hex("zzzz\n")}`;
    await damageObject(obj, "ZZZZ\n");
    await Deno.writeTextFile(`${r.dir}/a.txt`, "edited\n"); // comes first: would be reverted
    await Deno.writeTextFile(`${r.dir}/c.json`, '{"edited": true}');
    await Deno.remove(`${r.dir}/z.bin`);
    for (const hardlink of [false, true]) {
      await rejectsWithCode(checkout({ ...r.opts, hardlink }), "OBJECT_CORRUPT");
      assert.equal(await Deno.readTextFile(`${r.dir}/a.txt`), "edited\n", `hardlink ${hardlink}`);
      assert.equal(await Deno.readTextFile(`${r.dir}/c.json`), '{"edited": true}');
      assert.equal(await exists(`${r.dir}/z.bin`), false);
      assert.equal(await exists(`${r.dir}/.pvr/journal`), false);
    }
  });
});

/** Every path under `dir` (files and directories), `.pvr` left out, sorted. */
async function treeListing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (key === ".pvr") continue;
      out.push(e.isDirectory ? `${key}/` : key);
      if (e.isDirectory) await walk(key);
    }
  };
  await walk("");
  return out.sort();
}

const NESTED = {
  "a.txt": "hello\n",
  "bsp/kernel.img": "KERNEL",
  "bsp/modules/m1.ko": "M1",
  "bsp/modules/m2.ko": "M2",
  "c.json": '{"k": 1}',
  "z/deep/er/zz.bin": "ZZ",
};

for (const damage of ["missing", "corrupt"] as const) {
  Deno.test(`checkout --hardlink into an empty tree with a ${damage} object takes back every link and directory it made`, async () => {
    await withRepo(async (r) => {
      await committed(r, NESTED);
      for (const top of ["a.txt", "bsp", "c.json", "z"]) {
        await Deno.remove(`${r.dir}/${top}`, { recursive: true });
      }
      await Deno.writeTextFile(`${r.dir}/untracked.txt`, "mine\n");
      const before = await treeListing(r.dir);
      // The last blob in state order: every other link is made before it fails.
      const obj = `${r.objectsDir}/${sha256Hex("ZZ")}`;
      if (damage === "missing") {
        await Deno.remove(obj);
      } else {
        await damageObject(obj, "Zz");
      }
      await rejectsWithCode(
        checkout({ ...r.opts, hardlink: true }),
        damage === "missing" ? "OBJECT_MISSING" : "OBJECT_CORRUPT",
      );
      assert.deepEqual(await treeListing(r.dir), before, "the tree is as it was");
      assert.equal(await exists(`${r.dir}/.pvr/journal`), false);
      if (damage === "corrupt") assert.equal(await Deno.readTextFile(obj), "Zz", "object kept");
      // The other objects are intact and still usable.
      assert.equal((await Deno.stat(`${r.objectsDir}/${sha256Hex("M1")}`)).nlink, 1);
    });
  });
}

Deno.test("checkout --hardlink into an empty tree verifies objects the repo never verified, through the link", async () => {
  await withRepo(async (r) => {
    await committed(r, NESTED);
    for (const top of ["a.txt", "bsp", "c.json", "z"]) {
      await Deno.remove(`${r.dir}/${top}`, { recursive: true });
    }
    await Deno.remove(`${r.dir}/.pvr/stat-cache`); // nothing is trusted any more
    const res = await checkout({ ...r.opts, hardlink: true });
    assert.equal(res.written.hardlink, 5);
    for (const [key, content] of Object.entries(NESTED)) {
      if (key.endsWith(".json")) continue;
      const file = await Deno.stat(`${r.dir}/${key}`);
      const obj = await Deno.stat(`${r.objectsDir}/${sha256Hex(content)}`);
      assert.equal(file.ino, obj.ino, `${key} is a hardlink to its object`);
    }
    const cache = JSON.parse(
      new TextDecoder().decode(await Deno.readFile(`${r.dir}/.pvr/stat-cache`)),
    );
    assert.equal(Object.keys(cache.objects).length, 5, "every object is now trusted");
    assert.equal(Object.keys(cache.files).length, 5, "every link is recorded");
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
  });
});

Deno.test("checkout --hardlink with an object that is wrong for a new path leaves an edited existing file alone", async () => {
  await withRepo(async (r) => {
    await committed(r, NESTED);
    await Deno.remove(`${r.dir}/z`, { recursive: true });
    await Deno.remove(`${r.dir}/.pvr/stat-cache`);
    await Deno.writeTextFile(`${r.dir}/a.txt`, "edited\n"); // would be replaced
    const obj = `${r.objectsDir}/${sha256Hex("ZZ")}`;
    await damageObject(obj, "Zz");
    await rejectsWithCode(checkout({ ...r.opts, hardlink: true }), "OBJECT_CORRUPT");
    assert.equal(await Deno.readTextFile(`${r.dir}/a.txt`), "edited\n");
    assert.equal(await exists(`${r.dir}/z`), false, "the directories made for it are gone");
  });
});

Deno.test({
  name: "checkout --hardlink with the store on another file system copies the new files",
  ignore: (() => {
    try {
      return !Deno.statSync("/dev/shm").isDirectory;
    } catch {
      return true;
    }
  })(),
  fn: async () => {
    await withRepo(async (r) => {
      if (Deno.statSync(r.dir).dev === Deno.statSync("/dev/shm").dev) return;
      const store = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "pvr-test-" });
      try {
        const dir = `${r.root}/other`;
        await init({ dir, configDir: r.configDir, objectsDir: store });
        const opts = { dir, configDir: r.configDir };
        await writeFiles(dir, NESTED);
        await add(opts);
        await commit(opts);
        for (const top of ["a.txt", "bsp", "c.json", "z"]) {
          await Deno.remove(`${dir}/${top}`, { recursive: true });
        }
        const res = await checkout({ ...opts, hardlink: true });
        assert.deepEqual(res.written, { inline: 1, hardlink: 0, reflink: 0, copy: 5 });
        for (const [key, content] of Object.entries(NESTED)) {
          if (key.endsWith(".json")) continue;
          assert.equal(await Deno.readTextFile(`${dir}/${key}`), content, key);
          const obj = await Deno.stat(`${store}/${sha256Hex(content)}`);
          assert.notEqual((await Deno.stat(`${dir}/${key}`)).ino, obj.ino, `${key} is a copy`);
        }
        assert.deepEqual(await status(opts), {
          added: [],
          removed: [],
          changed: [],
          untracked: [],
        });
      } finally {
        await Deno.remove(store, { recursive: true });
      }
    });
  },
});
