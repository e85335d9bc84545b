/** native/walk_stat.ts: the statx (FFI) probe against the Deno probe, on real files. */

import assert from "node:assert/strict";
import {
  denoProbe,
  ffiProbeForTests,
  mtimeBefore,
  RECORD_WORDS,
  sameRecord,
  STAT_MISSING,
  STAT_OK,
  STAT_OTHER,
  type StatProbe,
  statRegularFile,
  Want,
} from "../../../native/walk_stat.ts";
import { withTempDir, writeTree } from "../../support/temp.ts";

const ffi = ffiProbeForTests();
const probes: StatProbe[] = ffi ? [denoProbe, ffi] : [denoProbe];

const NAMES = ["plain.txt", "with space.bin", "é-ü.json", "𝄞-clef.txt", "d/inner.txt"];

async function tree(dir: string): Promise<void> {
  await writeTree(dir, Object.fromEntries(NAMES.map((n, i) => [n, "x".repeat(i + 1)])));
  await Deno.symlink("plain.txt", `${dir}/link`);
  await Deno.symlink("nowhere", `${dir}/dangling`);
  await Deno.symlink("d", `${dir}/dirlink`);
}

function rec(probe: StatProbe, root: string, rel: string, want: Want): [number, Uint32Array] {
  const r = probe.open(root);
  assert.ok(r, `${probe.kind}: open ${root}`);
  try {
    const out = new Uint32Array(RECORD_WORDS);
    return [r.stat(rel, want, out, 0), out];
  } finally {
    r.close();
  }
}

Deno.test("the FFI probe is available on Linux with --allow-ffi", () => {
  if (Deno.build.os === "linux") assert.ok(ffi, "statx probe not loaded");
});

for (const probe of probes) {
  Deno.test(`${probe.kind} probe: outcomes for files, links, dirs and missing paths`, async () => {
    await withTempDir(async (dir) => {
      await tree(dir);
      for (const n of NAMES) assert.equal(rec(probe, dir, n, Want.File)[0], STAT_OK, n);
      assert.equal(rec(probe, dir, "link", Want.File)[0], STAT_OK); // followed
      assert.equal(rec(probe, dir, "link", Want.Dir)[0], STAT_OTHER); // a link is no dir
      assert.equal(rec(probe, dir, "dangling", Want.File)[0], STAT_MISSING);
      assert.equal(rec(probe, dir, "dangling", Want.Any)[0], STAT_OK);
      assert.equal(rec(probe, dir, "dirlink", Want.File)[0], STAT_OTHER);
      assert.equal(rec(probe, dir, "dirlink", Want.Dir)[0], STAT_OTHER);
      assert.equal(rec(probe, dir, "d", Want.Dir)[0], STAT_OK);
      assert.equal(rec(probe, dir, "d", Want.File)[0], STAT_OTHER);
      assert.equal(rec(probe, dir, "", Want.Dir)[0], STAT_OK); // the root itself
      assert.equal(rec(probe, dir, "missing", Want.File)[0], STAT_MISSING);
      assert.equal(rec(probe, dir, "missing", Want.Any)[0], STAT_MISSING);
      assert.equal(rec(probe, dir, "plain.txt/below", Want.File)[0], STAT_OTHER); // ENOTDIR
      assert.equal(rec(probe, dir, "bad\0name", Want.File)[0], STAT_OTHER);
      // The link's record is its target's.
      assert.ok(sameRecord(
        rec(probe, dir, "link", Want.File)[1],
        0,
        rec(probe, dir, "plain.txt", Want.File)[1],
        0,
      ));
      // statBytes takes the same name as NUL-terminated UTF-8.
      const r = probe.open(dir)!;
      const a = new Uint32Array(RECORD_WORDS);
      const b = new Uint32Array(RECORD_WORDS);
      for (const n of NAMES) {
        assert.equal(r.stat(n, Want.File, a, 0), STAT_OK);
        assert.equal(r.statBytes(new TextEncoder().encode(`${n}\0tail`), Want.File, b, 0), STAT_OK);
        assert.ok(sameRecord(a, 0, b, 0), n);
      }
      r.close();
    });
  });

  Deno.test(`${probe.kind} probe: a record is stable, and changes with size, mtime, ctime and inode`, async () => {
    await withTempDir(async (dir) => {
      await writeTree(dir, { f: "abc" });
      const t0 = new Date("2020-01-02T03:04:05Z");
      await Deno.utime(`${dir}/f`, t0, t0);
      const [, first] = rec(probe, dir, "f", Want.File);
      assert.ok(sameRecord(first, 0, rec(probe, dir, "f", Want.File)[1], 0));
      // Same size, mtime put back: ctime moved (the Deno probe's ctime is in whole
      // seconds, so only its other fields are checked here).
      await Deno.writeTextFile(`${dir}/f`, "xyz");
      await Deno.utime(`${dir}/f`, t0, t0);
      const [, rewritten] = rec(probe, dir, "f", Want.File);
      if (probe.kind === "statx") assert.ok(!sameRecord(first, 0, rewritten, 0));
      await Deno.writeTextFile(`${dir}/f`, "abcd");
      await Deno.utime(`${dir}/f`, t0, t0);
      assert.ok(!sameRecord(first, 0, rec(probe, dir, "f", Want.File)[1], 0), "size");
      await Deno.utime(`${dir}/f`, t0, new Date("2021-01-01T00:00:00Z"));
      const [, later] = rec(probe, dir, "f", Want.File);
      assert.ok(!sameRecord(first, 0, later, 0), "mtime");
      assert.ok(mtimeBefore(first, 0, later, 0));
      assert.ok(!mtimeBefore(later, 0, first, 0));
      assert.ok(!mtimeBefore(first, 0, first, 0));
      // Replaced by another file (new inode).
      await Deno.writeTextFile(`${dir}/g`, "abcd");
      await Deno.rename(`${dir}/g`, `${dir}/f`);
      await Deno.utime(`${dir}/f`, t0, new Date("2021-01-01T00:00:00Z"));
      assert.ok(!sameRecord(later, 0, rec(probe, dir, "f", Want.File)[1], 0), "inode");
    });
  });
}

Deno.test("the statx probe reads the same size, inode, mode and mtime as Deno.statSync", async () => {
  if (!ffi) return;
  await withTempDir(async (dir) => {
    await tree(dir);
    for (const n of [...NAMES, "link", "d", ""]) {
      const want = n === "d" || n === "" ? Want.Dir : Want.File;
      const [, x] = rec(ffi, dir, n, want);
      const st = Deno.statSync(n ? `${dir}/${n}` : dir);
      assert.equal(x[3] + x[4] * 2 ** 32, st.size, `${n}: size`);
      assert.equal(x[1] + x[2] * 2 ** 32, st.ino, `${n}: ino`);
      assert.equal(x[0] & 0o7777, st.mode! & 0o7777, `${n}: mode`);
      const ms = (x[5] + x[6] * 2 ** 32) * 1000 + Math.floor(x[7] / 1e6);
      assert.equal(ms, st.mtime!.getTime(), `${n}: mtime`);
    }
  });
});

for (const probe of probes) {
  Deno.test(`${probe.kind} probe: matchAll confirms unchanged records and refuses anything else`, async () => {
    await withTempDir(async (dir) => {
      await tree(dir);
      const paths: [string, Want][] = [
        ["", Want.Dir],
        ["d", Want.Dir],
        ["plain.txt", Want.File],
        ["d/inner.txt", Want.File],
        ["é-ü.json", Want.File],
        ["𝄞-clef.txt", Want.File],
      ];
      const enc = new TextEncoder();
      const parts = paths.map(([p]) => enc.encode(`${p}\0`));
      const names = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
      const offsets = new Uint32Array(paths.length);
      let at = 0;
      parts.forEach((b, i) => {
        offsets[i] = at;
        names.set(b, at);
        at += b.length;
      });
      const wants = Uint8Array.from(paths.map(([, w]) => w));
      const records = new Uint32Array(paths.length * RECORD_WORDS);
      const root = probe.open(dir);
      assert.ok(root);
      try {
        paths.forEach(([p, w], i) =>
          assert.equal(root.stat(p, w, records, i * RECORD_WORDS), STAT_OK)
        );
        assert.equal(root.matchAll(names, offsets, wants, records), true);
        assert.equal(
          root.matchAll(names, offsets.subarray(0, 0), wants.subarray(0, 0), records),
          true,
        );
        // Malformed input: decreasing offsets, a name without its NUL, a want of Any, a
        // directory wanted as a file, records too short.
        const swapped = offsets.slice();
        [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
        assert.equal(root.matchAll(names, swapped, wants, records), false);
        assert.equal(
          root.matchAll(names.subarray(0, names.length - 1), offsets, wants, records),
          false,
        );
        const noNul = names.slice();
        noNul[offsets[3] - 1] = 0x78; // "plain.txt" runs into "d/inner.txt"
        assert.equal(root.matchAll(noNul, offsets, wants, records), false);
        const anyWant = wants.slice();
        anyWant[2] = Want.Any;
        assert.equal(root.matchAll(names, offsets, anyWant, records), false);
        const dirAsFile = wants.slice();
        dirAsFile[1] = Want.File;
        assert.equal(root.matchAll(names, offsets, dirAsFile, records), false);
        assert.equal(root.matchAll(names, offsets, wants, records.subarray(1)), false);
        // A change to one file (size and mtime) is seen, and only through its record.
        await Deno.writeTextFile(`${dir}/d/inner.txt`, "changed");
        assert.equal(root.matchAll(names, offsets, wants, records), false);
        assert.equal(root.stat("d/inner.txt", Want.File, records, 3 * RECORD_WORDS), STAT_OK);
        assert.equal(root.matchAll(names, offsets, wants, records), true);
      } finally {
        root.close();
      }
    });
  });
}

Deno.test("statRegularFile gives Deno.statSync's numbers for a regular file, and null otherwise", async () => {
  if (!ffi) return; // no FFI here: callers take Deno.statSync
  const roots = [await Deno.makeTempDir()];
  try {
    roots.push(await Deno.makeTempDir({ dir: "/dev/shm" })); // another file system (tmpfs)
  } catch {
    // no /dev/shm here
  }
  try {
    for (const root of roots) {
      await tree(root);
      await Deno.utime(`${root}/plain.txt`, 1_000_000_000.123456, 1_234_567_890.987654);
      for (const rel of [...NAMES, "link"]) {
        const got = statRegularFile(`${root}/${rel}`);
        const want = Deno.statSync(`${root}/${rel}`); // symbolic links followed, as here
        assert.ok(got, `${root}/${rel}`);
        assert.deepEqual(got, {
          size: want.size,
          mtimeMs: want.mtime!.getTime(),
          ctimeMs: want.ctime!.getTime(),
          ino: want.ino,
          dev: want.dev,
        }, `${root}/${rel}`);
      }
      // Every other case is left to Deno.statSync, which reports it.
      for (const rel of ["d", "dirlink", "dangling", "missing", "plain.txt\0x"]) {
        assert.equal(statRegularFile(`${root}/${rel}`), null, rel);
      }
      assert.equal(statRegularFile(`${root}/${"x/".repeat(2100)}y`), null);
    }
  } finally {
    for (const root of roots) await Deno.remove(root, { recursive: true });
  }
});
