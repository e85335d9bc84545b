/**
 * The status snapshot (core/repo/stat_cache.ts) and the lean `pvr status` path
 * (commands/lean_status.ts): a stored result is only ever returned when it is what a
 * full computation gives, and the lean path prints byte for byte what the CLI prints.
 */

import assert from "node:assert/strict";
import { add } from "../../mod.ts";
import { statusWithProbe } from "../../core/ops/status.ts";
import { noteStatusSnapshotMiss, readStatusSnapshot } from "../../core/repo/stat_cache.ts";
import type { StatusResult } from "../../core/model/status.ts";
import { denoProbe, ffiProbeForTests, type StatProbe } from "../../native/walk_stat.ts";
import { leanStatus } from "../../commands/lean_status.ts";
import {
  commitFiles,
  PAST,
  PROJECT_ROOT,
  settleTree,
  spawnPvr,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

const ffi = ffiProbeForTests();
const probes: StatProbe[] = ffi ? [ffi, denoProbe] : [denoProbe];

const FILES = {
  "a.bin": "aaaa",
  "d/b.bin": "bbbb",
  "d/e/c.bin": "cccc",
  "x.json": '{"k":[1,2,3]}',
  "é 𝄞/y.json": '{"u":"ü"}',
};

/** The full computation: no snapshot to answer from. */
async function truth(r: TestRepo, probe: StatProbe): Promise<StatusResult> {
  await Deno.remove(`${r.dir}/.pvr/stat-cache`).catch(() => {});
  return await statusWithProbe(r.opts, probe);
}

/** Status twice after settling: the second answer must come from the snapshot. */
async function snapshotted(r: TestRepo, probe: StatProbe): Promise<StatusResult> {
  await settleTree(r);
  const computed = await statusWithProbe(r.opts, probe);
  const stored = readStatusSnapshot(r.dir, probe);
  assert.ok(stored, `${probe.kind}: no snapshot after a settled status`);
  assert.deepEqual(stored, computed);
  assert.deepEqual(await statusWithProbe(r.opts, probe), computed);
  return computed;
}

const EMPTY: StatusResult = { added: [], removed: [], changed: [], untracked: [] };

interface Change {
  name: string;
  /** Changes the tree after a snapshot was taken. */
  apply(r: TestRepo): Promise<void>;
  expect: Partial<StatusResult>;
}

const CHANGES: Change[] = [
  {
    name: "a raw file replaced by rename, same size, mtime put back",
    async apply(r) {
      await r.write({ "a.new": "AAAA" });
      await Deno.utime(`${r.dir}/a.new`, PAST, PAST);
      await Deno.rename(`${r.dir}/a.new`, `${r.dir}/a.bin`);
    },
    expect: { changed: ["a.bin"] },
  },
  {
    name: "a raw file rewritten in place, another size, mtime put back",
    async apply(r) {
      await r.write({ "a.bin": "AAAAA" });
      await Deno.utime(`${r.dir}/a.bin`, PAST, PAST);
    },
    expect: { changed: ["a.bin"] },
  },
  {
    name: "a JSON file with another value",
    apply: (r) => r.write({ "x.json": '{"k":[1,2,4]}' }),
    expect: { changed: ["x.json"] },
  },
  {
    name: "a JSON file reformatted (same value)",
    apply: (r) => r.write({ "x.json": '{ "k": [ 1, 2, 3 ] }\n' }),
    expect: {},
  },
  {
    name: "a tracked file deleted",
    apply: (r) => Deno.remove(`${r.dir}/d/e/c.bin`),
    expect: { removed: ["d/e/c.bin"] },
  },
  {
    name: "an untracked file in a subdirectory",
    apply: (r) => r.write({ "d/e/new.txt": "n" }),
    expect: { untracked: ["d/e/new.txt"] },
  },
  {
    name: "an untracked directory",
    apply: (r) => r.write({ "u/v/w.txt": "w" }),
    expect: { untracked: ["u/v/w.txt"] },
  },
  {
    name: "a file added with pvr add",
    async apply(r) {
      await r.write({ "n.bin": "new" });
      await add({ ...r.opts, paths: ["n.bin"] });
    },
    expect: { added: ["n.bin"] },
  },
  {
    name: "a tracked file replaced by a symbolic link to an equal file",
    async apply(r) {
      await r.write({ "same.bin": "aaaa" });
      await Deno.remove(`${r.dir}/a.bin`);
      await Deno.symlink("same.bin", `${r.dir}/a.bin`);
    },
    expect: { untracked: ["same.bin"] },
  },
  {
    name: "a tracked file renamed",
    apply: (r) => Deno.rename(`${r.dir}/d/b.bin`, `${r.dir}/d/b2.bin`),
    expect: { removed: ["d/b.bin"], untracked: ["d/b2.bin"] },
  },
  {
    name: "a directory replaced by a file",
    async apply(r) {
      await Deno.remove(`${r.dir}/d/e`, { recursive: true });
      await r.write({ "d/e": "now a file" });
    },
    expect: { removed: ["d/e/c.bin"], untracked: ["d/e"] },
  },
];

for (const probe of probes) {
  Deno.test(`status snapshot (${probe.kind}): a clean tree is answered from the snapshot`, async () => {
    await withRepo(async (r) => {
      await commitFiles(r, FILES);
      assert.deepEqual(await snapshotted(r, probe), EMPTY);
    });
  });

  for (const change of CHANGES) {
    Deno.test(`status snapshot (${probe.kind}): ${change.name}`, async () => {
      await withRepo(async (r) => {
        await commitFiles(r, FILES);
        await snapshotted(r, probe);
        await change.apply(r);
        assert.equal(readStatusSnapshot(r.dir, probe), null, "a stale snapshot answered");
        const want = { ...EMPTY, ...change.expect };
        assert.deepEqual(await statusWithProbe(r.opts, probe), want);
        assert.deepEqual(await truth(r, probe), want);
        // And once settled again, the new result is answered from the snapshot.
        assert.deepEqual(await snapshotted(r, probe), want);
      });
    });
  }
}

Deno.test("status snapshot (statx): an in-place rewrite with size and mtime kept is seen (ctime)", async () => {
  if (!ffi) return;
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await snapshotted(r, ffi);
    await r.write({ "a.bin": "AAAA" });
    await Deno.utime(`${r.dir}/a.bin`, PAST, PAST);
    // statx has the ctime in nanoseconds (Deno's FileInfo only in whole seconds).
    assert.equal(readStatusSnapshot(r.dir, ffi), null);
  });
});

Deno.test("status snapshot: a noted miss skips exactly the next check of that tree", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    const want = await snapshotted(r, denoProbe);
    noteStatusSnapshotMiss(r.dir);
    assert.equal(readStatusSnapshot(`${r.dir}/elsewhere`, denoProbe), null);
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
    assert.deepEqual(readStatusSnapshot(r.dir, denoProbe), want);
  });
});

Deno.test("status snapshot: a change of tracked keys (.pvr/json, .pvr/new) is never answered", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await r.write({ "n.bin": "n" });
    await snapshotted(r, denoProbe);
    // The same tree, another `.pvr/new`: n.bin goes from untracked to added.
    await Deno.writeTextFile(
      `${r.dir}/.pvr/new`,
      '{"n.bin":{"ForceObject":false,"Sha":""}}',
    );
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
    assert.deepEqual((await statusWithProbe(r.opts, denoProbe)).added, ["n.bin"]);
  });
});

Deno.test("status snapshot: racy entries (not older than the snapshot) are not trusted", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await snapshotted(r, denoProbe);
    // The snapshot now looks written before every recorded mtime.
    await Deno.utime(`${r.dir}/.pvr/stat-cache`, new Date(0), new Date(0));
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
    if (ffi) assert.equal(readStatusSnapshot(r.dir, ffi), null);
  });
});

Deno.test("status snapshot: records of one probe are never compared with another's", async () => {
  if (!ffi) return;
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await snapshotted(r, ffi);
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
  });
});

Deno.test("status snapshot: a pending journal is never answered", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await snapshotted(r, denoProbe);
    await Deno.writeTextFile(`${r.dir}/.pvr/journal`, "{}");
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
  });
});

Deno.test("status snapshot: a damaged snapshot is ignored and replaced", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await r.write({ "u.txt": "u" });
    const want = await snapshotted(r, denoProbe);
    const cache = `${r.dir}/.pvr/stat-cache`;
    const good = await Deno.readFile(cache);
    const total = new DataView(good.buffer).getUint32(20, true); // the snapshot's length
    assert.ok(total > 100 && total < good.length);
    const damaged = [
      good.subarray(0, 30), // truncated inside the header
      good.subarray(0, total >> 1), // truncated inside the records
      good.subarray(0, total - 1), // one byte short
      Uint8Array.from([...good.subarray(0, 8), 0xff, 0xff, 0xff, 0x7f]), // absurd lengths
      new TextEncoder().encode("PVRSNAP1 and then nothing that makes sense"),
    ];
    for (const bytes of damaged) {
      await Deno.writeFile(cache, bytes);
      await Deno.utime(cache, new Date(), new Date());
      assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
      if (ffi) assert.equal(readStatusSnapshot(r.dir, ffi), null);
      assert.deepEqual(await statusWithProbe(r.opts, denoProbe), want);
    }
  });
});

Deno.test("status snapshot: another save of the stat cache drops it", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await snapshotted(r, denoProbe);
    await r.write({ "n.bin": "n" });
    await add({ ...r.opts, paths: ["n.bin"] }); // saves the cache
    assert.equal(readStatusSnapshot(r.dir, denoProbe), null);
    const text = await Deno.readTextFile(`${r.dir}/.pvr/stat-cache`);
    assert.ok(text.startsWith('{"v":1'), "the cache is plain JSON again");
  });
});

// -- the lean CLI path ---------------------------------------------------------------------

Deno.test("the lean status module's import graph has no npm: and no node: module", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "commands/lean_status.ts"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const specifiers = info.modules.map((m) => m.specifier);
  assert.ok(specifiers.some((s) => s.endsWith("/core/repo/stat_cache.ts")));
  assert.deepEqual(specifiers.filter((s) => !s.startsWith("file:")), []);
});

/** What `pvr <args>` prints through the full CLI (in-process, no snapshot to use). */
async function cliTruth(r: TestRepo, args: string[]) {
  await Deno.remove(`${r.dir}/.pvr/stat-cache`).catch(() => {});
  return await r.run(args);
}

for (const args of [["status"], ["s"], ["status", "--json"], ["s", "--json"]]) {
  Deno.test(`lean \`pvr ${args.join(" ")}\` prints what the CLI prints`, async () => {
    await withRepo(async (r) => {
      await commitFiles(r, FILES);
      await r.write({ "a.bin": "changed", "u.txt": "u" });
      await settleTree(r);
      await r.run(args); // writes the snapshot
      const lean = leanStatus(args, r.env, r.dir);
      assert.notEqual(lean, null, "the lean path did not answer");
      const full = await cliTruth(r, args);
      assert.equal(full.code, 0);
      assert.equal(full.stderr, "");
      assert.equal(lean, full.stdout);
      assert.match(full.stdout, /a\.bin/);
    });
  });
}

Deno.test("lean status leaves every other command line and environment to the CLI", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await settleTree(r);
    await r.run(["status"]);
    assert.equal(leanStatus(["status"], r.env, r.dir), "");
    for (
      const args of [
        [],
        ["diff"],
        ["status", "-h"],
        ["status", "--json", "x"],
        ["status", "x"],
        ["--debug", "status"],
        ["stat"],
      ]
    ) {
      assert.equal(leanStatus(args, r.env, r.dir), null, args.join(" "));
    }
    // No config dir to resolve: the CLI reports that.
    assert.equal(leanStatus(["status"], {}, r.dir), null);
    assert.equal(leanStatus(["status"], r.env, `${r.root}/config`), null); // not a repo
  });
});

/** `main.ts` in a subprocess against the in-process CLI: code, stdout and stderr. */
async function sameAsCli(r: TestRepo, args: string[], prepare?: () => Promise<void>) {
  await prepare?.();
  const spawned = await spawnPvr(args, { cwd: r.dir, env: r.env });
  await prepare?.();
  const full = await r.run(args);
  assert.deepEqual(spawned, full, `pvr ${args.join(" ")}`);
  return full;
}

Deno.test("pvr status through main.ts equals the CLI: clean, changed, errors, recovery", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, FILES);
    await settleTree(r);
    await r.run(["status"]);
    assert.equal(leanStatus(["status"], r.env, r.dir), "", "snapshot not usable");
    assert.equal((await sameAsCli(r, ["status"])).stdout, "");
    assert.equal((await sameAsCli(r, ["s", "--json"])).code, 0);
    await r.write({ "x.json": '{"k":[]}', "new.txt": "n" });
    assert.equal((await sameAsCli(r, ["status"])).stdout, "C x.json\n? new.txt\n");
    await settleTree(r);
    await r.run(["status"]);
    assert.notEqual(leanStatus(["status"], r.env, r.dir), null);
    assert.equal((await sameAsCli(r, ["status"])).stdout, "C x.json\n? new.txt\n");
    // Damaged .pvr/json.
    const json = await Deno.readFile(`${r.dir}/.pvr/json`);
    await Deno.writeTextFile(`${r.dir}/.pvr/json`, '{"a.bin": ');
    const bad = await sameAsCli(r, ["status"]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^ERROR: /);
    await Deno.writeFile(`${r.dir}/.pvr/json`, json);
    // An interrupted checkout: the journal makes the next command finish it.
    const restore = async () => {
      await Deno.writeTextFile(
        `${r.dir}/.pvr/journal`,
        '{"op":"checkout","hardlink":false,"canonical":false,"remove":[]}',
      );
      await r.write({ "a.bin": "half-written" });
    };
    const recovered = await sameAsCli(r, ["status"], restore);
    assert.equal(recovered.stdout, "? new.txt\n");
    assert.equal(await Deno.readTextFile(`${r.dir}/a.bin`), "aaaa");
  });
});

Deno.test("pvr status through main.ts outside a repository equals the CLI", async () => {
  await withRepo(async (r) => {
    const out = await sameAsCli(r, ["status"]);
    assert.equal(out.code, 3);
  }, { init: false });
});
