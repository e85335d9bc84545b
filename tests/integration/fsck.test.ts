/** `fsck()`: every object the committed state references is re-hashed. */

import assert from "node:assert/strict";
import { checkout, fsck } from "../../mod.ts";
import {
  commitFiles,
  exists,
  rejectsWithCode,
  sha256Hex,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

const FILES = { "a.bin": "a", "b.bin": "b", "c.bin": "c", "same.bin": "a", "x.json": '{"k":1}' };

function committed(r: TestRepo): Promise<void> {
  return commitFiles(r, FILES);
}

async function corrupt(r: TestRepo, content: string, replacement: string): Promise<void> {
  const path = `${r.objectsDir}/${sha256Hex(content)}`;
  await Deno.chmod(path, 0o644);
  await Deno.writeTextFile(path, replacement);
}

Deno.test("fsck() of a sound repository checks each distinct object once and finds nothing", async () => {
  await withRepo(async (r) => {
    await committed(r);
    assert.deepEqual(await fsck(r.opts), { objects: 3, problems: [], tempsRemoved: 0 });
  });
});

Deno.test("fsck() finds a missing and a corrupt object, in key order", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.objectsDir}/${sha256Hex("c")}`);
    await corrupt(r, "a", "not a");
    assert.deepEqual(await fsck(r.opts), {
      objects: 3,
      problems: [
        { sha: sha256Hex("a"), key: "a.bin", kind: "corrupt" },
        { sha: sha256Hex("c"), key: "c.bin", kind: "missing" },
      ],
      tempsRemoved: 0,
    });
  });
});

Deno.test("fsck() re-hashes objects even when the stat cache trusts them", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await checkout({ ...r.opts, hardlink: true }); // verifies and records the objects
    const path = `${r.objectsDir}/${sha256Hex("b")}`;
    const st = await Deno.stat(path);
    await Deno.chmod(path, 0o644);
    await Deno.writeTextFile(path, "B"); // same size
    await Deno.utime(path, st.atime!, st.mtime!);
    assert.deepEqual((await fsck(r.opts)).problems, [
      { sha: sha256Hex("b"), key: "b.bin", kind: "corrupt" },
    ]);
  });
});

Deno.test("pvr fsck lists problems on stdout and exits 4", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.objectsDir}/${sha256Hex("b")}`);
    const out = await r.run(["fsck"]);
    assert.equal(out.code, 4);
    assert.equal(out.stdout, `missing ${sha256Hex("b")} b.bin\n`);
    assert.equal(out.stderr, "ERROR: 1 of 3 objects are missing or damaged\n");
  });
});

Deno.test("fsck() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(fsck(r.opts), "NOT_A_REPO");
  }, { init: false });
});

Deno.test("fsck() removes partial objects of dead writers and keeps a live writer's", async () => {
  await withRepo(async (r) => {
    await committed(r);
    // A pid that cannot be running (above the kernel's pid_max) and this process's own.
    const dead = `${r.objectsDir}/.${"ab".repeat(32)}.4194305.0a1b2c.tmp`;
    const live = `${r.objectsDir}/.${"cd".repeat(32)}.${Deno.pid}.0a1b2c.tmp`;
    await Deno.writeTextFile(dead, "partial");
    await Deno.writeTextFile(live, "partial");
    assert.equal((await fsck(r.opts)).tempsRemoved, 1);
    assert.equal(await exists(dead), false);
    assert.equal(await exists(live), true);
  });
});
