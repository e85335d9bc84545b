/**
 * The FFI stat paths (statx through libc) bypass Deno's permission checks, so they are
 * only taken for a tree that Deno's read permission covers. A caller that may read the
 * repository's `.pvr/` but not its working tree gets no answer from the status snapshot
 * (and the full computation reports the denial), and a hardlink checkout into a tree it
 * may write but not read is refused and leaves nothing behind.
 */

import assert from "node:assert/strict";
import { checkout, status } from "../../mod.ts";
import { readStatusSnapshot } from "../../core/repo/stat_cache.ts";
import { ffiProbeForTests } from "../../native/walk_stat.ts";
import {
  commitFiles,
  makeRepo,
  pvrProcess,
  settleTree,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

const ffi = ffiProbeForTests();
// Made before the tests are registered: the restricted tests name its paths.
const r: TestRepo = await makeRepo();
const other = `${r.root}/other`;

Deno.test("set-up: a committed repository with a status snapshot", async () => {
  await commitFiles(r, { "a.bin": "aaaa", "d/b.bin": "bbbb", "x.json": '{"k":1}' });
  await settleTree(r);
  await status(r.opts); // writes the snapshot
  assert.deepEqual(readStatusSnapshot(r.dir, ffi ?? undefined), {
    added: [],
    removed: [],
    changed: [],
    untracked: [],
  });
  // A second working tree of the same repository, empty but for its .pvr/.
  await Deno.mkdir(`${other}/.pvr`, { recursive: true });
  for (const f of ["json", "config"]) {
    await Deno.copyFile(`${r.dir}/.pvr/${f}`, `${other}/.pvr/${f}`).catch(() => {});
  }
});

Deno.test({
  name: "without read permission on the working tree, the snapshot does not answer",
  ignore: ffi === null,
  permissions: {
    read: [`${r.dir}/.pvr`, r.configDir],
    ffi: true,
    env: true,
    sys: true,
  },
  fn() {
    assert.equal(readStatusSnapshot(r.dir, ffi!), null);
  },
});

Deno.test({
  name: "without read permission on the working tree, status is refused, not answered",
  permissions: {
    read: [`${r.dir}/.pvr`, r.configDir],
    write: [`${r.dir}/.pvr`],
    ffi: true,
    env: true,
    sys: true,
  },
  async fn() {
    await assert.rejects(status(r.opts), /^PvrError: cannot read directory .*read access/);
  },
});

Deno.test({
  name: "a hardlink checkout into a tree it may write but not read is refused",
  permissions: {
    read: [`${other}/.pvr`, r.configDir],
    write: [other, r.configDir],
    ffi: true,
    env: true,
    sys: true,
  },
  async fn() {
    await assert.rejects(
      checkout({ dir: other, configDir: r.configDir, hardlink: true }),
      /read access/,
    );
  },
});

Deno.test("clean-up: the refused checkout left nothing of the state behind", async () => {
  try {
    const left = [...Deno.readDirSync(other)].map((e) => e.name).filter((n) => n !== ".pvr");
    assert.deepEqual(left, []);
  } finally {
    await r.cleanup();
  }
});

/** `pvr args` as a subprocess that may not read `denied` (everything else allowed). */
async function runDenied(t: TestRepo, denied: string, args: string[]) {
  const out = await pvrProcess(args, {
    cwd: t.dir,
    env: t.env,
    denoFlags: [`--deny-read=${denied}`],
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("a directory that cannot be read fails status and commit when it holds tracked files", async () => {
  await withRepo(async (t) => {
    await commitFiles(t, { "t/a.bin": "aaaa", "t/b.json": '{"b":1}', "top.bin": "top" });
    await t.write({ "u/x.bin": "untracked" });
    const before = await Deno.readTextFile(`${t.dir}/.pvr/json`);
    await Deno.remove(`${t.dir}/.pvr/stat-cache`).catch(() => {}); // no snapshot to answer

    // Tracked files inside: one line naming the directory, non-zero exit, nothing committed
    // (the Go pvr skipped the directory, reported its files removed and committed that).
    for (const args of [["status"], ["diff"], ["commit", "-m", "x"]]) {
      const r = await runDenied(t, `${t.dir}/t`, args);
      assert.notEqual(r.code, 0, `${args[0]}: ${r.stdout}`);
      assert.match(r.stderr, /cannot read directory t: /, args[0]);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
    assert.equal(await Deno.readTextFile(`${t.dir}/.pvr/json`), before);

    // Nothing tracked inside: skipped, as in the Go pvr.
    const r = await runDenied(t, `${t.dir}/u`, ["status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const full = await t.run(["status"]);
    assert.equal(full.stdout, "? u/x.bin\n");
  });
});
