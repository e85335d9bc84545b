import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { commitStaged, exportToPath, readExport, writeExport } from "../../../core/archive/mod.ts";
import { FsObjectStore } from "../../../core/store/fs_store.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { isPvrError } from "../../../core/errors.ts";
import { StatCache } from "../../../core/repo/stat_cache.ts";
import { exportRepo, importRepo } from "../../../mod.ts";
import { commitFiles, withRepo } from "../../support/cli.ts";
import { PANTAVISOR_FIXTURES, withTempDir } from "../../support/temp.ts";
import {
  bytes,
  chunkedStream,
  collector,
  concat,
  exportEntries,
  gnuTar,
  onlyObjectFiles,
  rawEntry,
  rawTar,
  sha256,
  stateOf,
  storeWith,
} from "./archive_helpers.ts";

const FIXTURE = `${PANTAVISOR_FIXTURES}pvwificonnect.tgz`;
const FIXTURE_OBJECTS = [
  "25b1baa45a1ff796001980743878b169b7623c368f55a0a073df893121791929",
  "3768b42894f3ad1867563c7aa68cb67d8d8ec04f1f27208268750df6d1f6b959",
  "d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c",
];

async function sampleExport(dir: string) {
  const blobs = [bytes("one\n"), bytes("two\n".repeat(300)), new Uint8Array(3 << 20).fill(7)];
  const { store, shas } = await storeWith(`${dir}/src`, blobs);
  const state = stateOf({
    "#spec": "pantavisor-service-system@1",
    "a/one.txt": shas[0],
    "a/two.txt": shas[1],
    "b/big.img": shas[2],
    "b/config.json": { x: [1, 2.50, "y"] },
  });
  return { store, state, shas, blobs };
}

Deno.test("readExport reads the pvwificonnect fixture: its state and 3 verified objects", async () => {
  await withTempDir(async (dir) => {
    const { state, objects } = await readExport(FIXTURE, `${dir}/staging`);
    assert.equal(state.get("#spec"), "pantavisor-service-system@1");
    assert.equal(state.get("pvwificonnect/root.squashfs"), FIXTURE_OBJECTS[2]);
    assert.ok(state.get("_sigs/pvwificonnect.json") instanceof Map);
    assert.deepEqual([...objects].sort(), FIXTURE_OBJECTS);
    for (const sha of FIXTURE_OBJECTS) {
      assert.equal(sha256(await Deno.readFile(`${dir}/staging/${sha}`)), sha);
    }
    const names = [];
    for await (const e of Deno.readDir(`${dir}/staging`)) names.push(e.name);
    assert.deepEqual(names.sort(), FIXTURE_OBJECTS);
  });
});

for (const gzip of [false, true]) {
  Deno.test(`export then import round-trips the state and objects (gzip: ${gzip})`, async () => {
    await withTempDir(async (dir) => {
      const { store, state, shas, blobs } = await sampleExport(dir);
      const file = `${dir}/x.${gzip ? "tgz" : "tar"}`;
      await exportToPath(file, { state, store });
      const r = await readExport(file, `${dir}/staging`);
      assert.equal(canonicalJson(r.state), canonicalJson(state));
      assert.deepEqual([...r.objects].sort(), [...shas].sort());
      for (let i = 0; i < shas.length; i++) {
        assert.deepEqual(await Deno.readFile(`${dir}/staging/${shas[i]}`), blobs[i]);
      }
    });
  });
}

Deno.test("gzip is detected by content, not by name", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sampleExport(dir);
    await exportToPath(`${dir}/gz.tar`, { state, store, gzip: true });
    await exportToPath(`${dir}/plain.tgz`, { state, store, gzip: false });
    for (const name of ["gz.tar", "plain.tgz"]) {
      const r = await readExport(`${dir}/${name}`, `${dir}/staging-${name}`);
      assert.equal(canonicalJson(r.state), canonicalJson(state));
    }
  });
});

Deno.test("readExport reads a stream whose chunks split headers and data anywhere", async () => {
  await withTempDir(async (dir) => {
    const { store, state, shas } = await sampleExport(dir);
    for (const gzip of [false, true]) {
      const out = collector();
      await writeExport({ state, store, output: out.stream, gzip });
      const archive = out.bytes();
      const r = await readExport(
        chunkedStream(archive, [1, 511, 3, 1000, 7, 65536, 513]),
        `${dir}/staging-${gzip}`,
      );
      assert.equal(canonicalJson(r.state), canonicalJson(state));
      assert.equal(r.objects.size, shas.length);
    }
  });
});

Deno.test("an archive made by GNU tar with ./ names and directory entries imports", async () => {
  await withTempDir(async (dir) => {
    const content = bytes("hello");
    const sha = sha256(content);
    await Deno.mkdir(`${dir}/tree/objects`, { recursive: true });
    await Deno.writeFile(`${dir}/tree/objects/${sha}`, content);
    await Deno.writeTextFile(`${dir}/tree/json`, JSON.stringify({ "#spec": "x@1", "f": sha }));
    await gnuTar(["-czf", `${dir}/t.tgz`, "-C", `${dir}/tree`, "."]);
    const r = await readExport(`${dir}/t.tgz`, `${dir}/staging`);
    assert.deepEqual([...r.objects], [sha]);
    assert.equal(r.state.get("f"), sha);
  });
});

Deno.test("objects repeated in the archive (as the Go tool writes them) are staged once", async () => {
  await withTempDir(async (dir) => {
    const { json, objects } = exportEntries({ "a.bin": "same", "b.bin": "same" });
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, ...objects));
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.deepEqual([...r.objects], [sha256("same")]);
  });
});

Deno.test("objects in the existing store need not be in the archive and are not staged", async () => {
  await withTempDir(async (dir) => {
    const { json, objects, state } = exportEntries({ "a.bin": "in archive", "b.bin": "in store" });
    const { store } = await storeWith(`${dir}/repo`, [bytes("in store")]);
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, objects[0]));
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`, { existing: store });
    assert.deepEqual([...r.objects], [state["a.bin"]]);
    await Deno.writeFile(`${dir}/y.tar`, rawTar(json, ...objects));
    const r2 = await readExport(`${dir}/y.tar`, `${dir}/staging2`, { existing: store });
    assert.deepEqual([...r2.objects], [state["a.bin"]]);
  });
});

Deno.test("an object that is neither in the archive nor in the store fails with OBJECT_MISSING naming its key", async () => {
  await withTempDir(async (dir) => {
    const { json, objects } = exportEntries({ "a.bin": "here", "lost/b.bin": "gone" });
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, objects[0]));
    const { store } = await storeWith(`${dir}/repo`, []);
    await assert.rejects(
      readExport(`${dir}/x.tar`, `${dir}/staging`, { existing: store }),
      (e) => isPvrError(e, "OBJECT_MISSING") && e.message.includes("lost/b.bin"),
    );
  });
});

Deno.test("commitStaged moves staged objects into the store and counts only new ones", async () => {
  await withTempDir(async (dir) => {
    const { objects } = await readExport(FIXTURE, `${dir}/staging`);
    const { store } = await storeWith(`${dir}/repo`, []);
    assert.equal(await commitStaged(objects, `${dir}/staging`, store), 3);
    for (const sha of FIXTURE_OBJECTS) assert.equal(await store.verify(sha), "ok");
    const again = await readExport(FIXTURE, `${dir}/staging2`);
    assert.equal(await commitStaged(again.objects, `${dir}/staging2`, store), 0);
  });
});

Deno.test("commitStaged copies when the store is on another file system", {
  ignore: !(await Deno.stat("/dev/shm").then((i) => i.isDirectory, () => false)),
}, async () => {
  const staging = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "pvr-staging-" });
  try {
    await withTempDir(async (dir) => {
      const { objects } = await readExport(FIXTURE, staging);
      const store = await FsObjectStore.open(`${dir}/objects`, { create: true, fsync: false });
      assert.equal(await commitStaged(objects, staging, store), 3);
      for (const sha of FIXTURE_OBJECTS) assert.equal(await store.verify(sha), "ok");
    });
  } finally {
    await Deno.remove(staging, { recursive: true });
  }
});

Deno.test("a 64 MiB object streams through export and import (gzip)", async () => {
  await withTempDir(async (dir) => {
    const big = new Uint8Array(64 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    const { store, shas } = await storeWith(`${dir}/src`, [big]);
    const state = stateOf({ "#spec": "x@1", "rootfs.img": shas[0] });
    const r = await exportToPath(`${dir}/big.tgz`, { state, store });
    assert.equal(r.objects, 1);
    const imported = await readExport(`${dir}/big.tgz`, `${dir}/staging`);
    assert.deepEqual([...imported.objects], shas);
    const staged = await FsObjectStore.open(`${dir}/staging`);
    assert.equal(await staged.verify(shas[0]), "ok");
    assert.equal(await staged.size(shas[0]), 64 << 20);
  });
});

Deno.test("readExport of a gzipped concatenation of members reads as one stream", async () => {
  await withTempDir(async (dir) => {
    const { json, objects } = exportEntries({ "a.bin": "A", "b.bin": "B" });
    const tar = rawTar(json, ...objects);
    const cut = 1024;
    const twoMembers = concat([gzipSync(tar.subarray(0, cut)), gzipSync(tar.subarray(cut))]);
    await Deno.writeFile(`${dir}/x.tgz`, twoMembers);
    const r = await readExport(`${dir}/x.tgz`, `${dir}/staging`);
    assert.equal(r.objects.size, 2);
  });
});

Deno.test("a PAX size record and GNU/PAX long names written by GNU tar are understood", async () => {
  await withTempDir(async (dir) => {
    // GNU tar writes a directory entry with a long name: a PAX (posix) or 'L' (gnu) record.
    const content = bytes("x");
    const sha = sha256(content);
    await Deno.mkdir(`${dir}/tree/objects`, { recursive: true });
    await Deno.writeFile(`${dir}/tree/objects/${sha}`, content);
    await Deno.writeTextFile(`${dir}/tree/json`, JSON.stringify({ "#spec": "x@1", "f": sha }));
    const long = `${dir}/tree/${"d".repeat(120)}`;
    await Deno.mkdir(long);
    for (const format of ["posix", "gnu"]) {
      await gnuTar([`--format=${format}`, "-cf", `${dir}/${format}.tar`, "-C", `${dir}/tree`, "."]);
      const r = await readExport(`${dir}/${format}.tar`, `${dir}/staging-${format}`);
      assert.deepEqual([...r.objects], [sha]);
    }
  });
});

Deno.test("readExport of a file that does not exist fails with FAILED", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      readExport(`${dir}/nope.tgz`, `${dir}/staging`),
      (e) => isPvrError(e, "FAILED") && e.message.includes("nope.tgz"),
    );
  });
});

Deno.test("commitStaged replaces a damaged object of another size and leaves an intact one as it is", async () => {
  await withTempDir(async (dir) => {
    const { json, objects, state } = exportEntries({ "a.bin": "intact", "b.bin": "damaged" });
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, ...objects));
    const { store } = await storeWith(`${dir}/repo`, [bytes("intact")]);
    const damaged = store.pathOf(state["b.bin"]);
    await Deno.writeTextFile(damaged, "damaged, and longer"); // another size: not intact
    const intactIno = Deno.statSync(store.pathOf(state["a.bin"])).ino;
    // Stage both (no existing store given), so that both meet an object in the store.
    const { objects: staged } = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.equal(staged.size, 2);
    const added: string[] = [];
    const n = await commitStaged(staged, `${dir}/staging`, store, {
      onAdded: (sha) => added.push(sha),
    });
    assert.equal(n, 1);
    assert.deepEqual(added, [state["b.bin"]]);
    assert.equal(await store.verify(state["b.bin"]), "ok");
    assert.equal(Deno.statSync(store.pathOf(state["a.bin"])).ino, intactIno, "intact one replaced");
  });
});

Deno.test("readExport of many objects, most already in the store, stages only the new ones", async () => {
  await withTempDir(async (dir) => {
    const blobs: Record<string, string> = {};
    for (let i = 0; i < 300; i++) blobs[`d/f${i}.bin`] = `object ${i}\n`;
    const { json, objects, state } = exportEntries(blobs);
    // The first 250 are in the store: more than the lookups made one by one.
    const inStore = Array.from({ length: 250 }, (_, i) => bytes(`object ${i}\n`));
    const { store } = await storeWith(`${dir}/repo`, inStore);
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, ...objects));
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`, { existing: store });
    const want = Array.from({ length: 50 }, (_, i) => state[`d/f${250 + i}.bin`]).sort();
    assert.deepEqual([...r.objects].sort(), want);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/staging`)].map((e) => e.name).sort(),
      want,
      "only the new objects are in the staging directory",
    );
  });
});

Deno.test("readExport refuses a large object whose bytes do not match its name and leaves no file of it", async () => {
  await withTempDir(async (dir) => {
    const big = new Uint8Array(3 << 20).fill(9);
    const wrong = sha256("something else");
    const state = { "#spec": "pantavisor-service-system@1", "big.img": wrong };
    await Deno.writeFile(
      `${dir}/x.tar`,
      rawTar(
        rawEntry({ name: "json", mode: 0o600 }, bytes(JSON.stringify(state))),
        rawEntry({ name: `objects/${wrong}` }, big),
      ),
    );
    await assert.rejects(
      readExport(`${dir}/x.tar`, `${dir}/staging`),
      (e) => isPvrError(e, "OBJECT_CORRUPT") && e.message.includes(`objects/${wrong}`),
    );
    assert.deepEqual([...Deno.readDirSync(`${dir}/staging`)], []);
  });
});

Deno.test("staged objects are read-only (0444), as in the store", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sampleExport(dir);
    await exportToPath(`${dir}/x.tar`, { state, store });
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.equal(r.objects.size, 3);
    for (const sha of r.objects) {
      assert.equal(Deno.statSync(`${dir}/staging/${sha}`).mode! & 0o777, 0o444, sha);
    }
  });
});

Deno.test("readExport into a reused staging directory replaces a stale file of an object's name", async () => {
  await withTempDir(async (dir) => {
    const { json, objects, state } = exportEntries({ "a.bin": "fresh bytes" });
    await Deno.writeFile(`${dir}/x.tar`, rawTar(json, ...objects));
    await Deno.mkdir(`${dir}/staging`);
    await Deno.writeTextFile(`${dir}/staging/${state["a.bin"]}`, "stale");
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.deepEqual([...r.objects], [state["a.bin"]]);
    assert.equal(await Deno.readTextFile(`${dir}/staging/${state["a.bin"]}`), "fresh bytes");
  });
});

// -- objects the store already holds ---------------------------------------------------

/** A small (in-memory) and a large (streamed, over 1 MiB) object. */
const HELD = [bytes("small object\n".repeat(40)), new Uint8Array((2 << 20) + 17).fill(0x5a)];

/** Writes `<dir>/x.tar`: a state naming `blobs` (as `f0`, `f1`, …) and their objects. */
async function archiveOf(dir: string, blobs: Uint8Array[]): Promise<string[]> {
  const shas = blobs.map((b) => sha256(b));
  const state: Record<string, string> = { "#spec": "pantavisor-service-system@1" };
  shas.forEach((sha, i) => state[`f${i}`] = sha);
  await Deno.writeFile(
    `${dir}/x.tar`,
    rawTar(
      rawEntry({ name: "json", mode: 0o600 }, bytes(JSON.stringify(state))),
      ...blobs.map((b, i) => rawEntry({ name: `objects/${shas[i]}` }, b)),
    ),
  );
  return shas;
}

/**
 * Damages a stored object in place: same file (inode), same size, first byte flipped;
 * with `keepMtime` its mtime is set back, so that its size, mtime and inode are unchanged.
 */
async function damageInPlace(path: string, keepMtime = false): Promise<void> {
  const before = Deno.statSync(path);
  await Deno.chmod(path, 0o644);
  const file = await Deno.open(path, { read: true, write: true });
  try {
    const first = new Uint8Array(1);
    await file.read(first);
    first[0] ^= 0xff;
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(first);
  } finally {
    file.close();
  }
  await Deno.chmod(path, 0o444);
  if (keepMtime) await Deno.utime(path, before.atime!, before.mtime!);
  const after = Deno.statSync(path);
  assert.equal(after.ino, before.ino);
  assert.equal(after.size, before.size);
  if (keepMtime) assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
}

/** readExport with `store` as the existing store, then commitStaged into it. */
async function importInto(
  dir: string,
  store: FsObjectStore,
  trusted?: (sha: string, info: Deno.FileInfo) => boolean,
) {
  const staging = `${dir}/staging`;
  const r = await readExport(`${dir}/x.tar`, staging, { existing: store, trusted });
  const stagedFiles = [...Deno.readDirSync(staging)].map((e) => e.name).sort();
  const added: string[] = [];
  const n = await commitStaged(r.objects, staging, store, { onAdded: (sha) => added.push(sha) });
  await Deno.remove(staging, { recursive: true });
  return { ...r, stagedFiles, added: added.sort(), n };
}

Deno.test("import replaces a damaged object of the same size the store already holds", async () => {
  await withTempDir(async (dir) => {
    const shas = await archiveOf(dir, HELD);
    const { store } = await storeWith(`${dir}/repo`, HELD);
    const inodes = [];
    for (const sha of shas) {
      await damageInPlace(store.pathOf(sha));
      assert.equal(await store.verify(sha), "corrupt");
      inodes.push(Deno.statSync(store.pathOf(sha)).ino);
    }
    const r = await importInto(dir, store);
    assert.deepEqual([...r.objects].sort(), [...shas].sort(), "both staged from the archive");
    assert.deepEqual([...r.verified], []);
    assert.equal(r.n, 2);
    assert.deepEqual(r.added, [...shas].sort());
    for (const [i, sha] of shas.entries()) {
      assert.equal(await store.verify(sha), "ok", sha);
      const st = Deno.statSync(store.pathOf(sha));
      assert.notEqual(st.ino, inodes[i], "replaced by a rename, not written in place");
      assert.equal(st.mode! & 0o777, 0o444);
    }
    assert.ok(await onlyObjectFiles(store.location), "no temp file left in the store");
  });
});

Deno.test("import keeps an intact object the store already holds (same file) after re-hashing it", async () => {
  await withTempDir(async (dir) => {
    const shas = await archiveOf(dir, HELD);
    const { store } = await storeWith(`${dir}/repo`, HELD);
    const inodes = shas.map((sha) => Deno.statSync(store.pathOf(sha)).ino);
    // A stat cache that knows nothing of them: not trusted, so looked at.
    const cache = StatCache.empty();
    const r = await importInto(dir, store, (sha, st) => cache.objectTrusted(sha, st));
    assert.deepEqual([...r.objects], [], "nothing staged");
    assert.deepEqual(r.stagedFiles, []);
    assert.deepEqual([...r.verified].sort(), [...shas].sort(), "both re-hashed");
    assert.equal(r.n, 0);
    for (const [i, sha] of shas.entries()) {
      assert.equal(Deno.statSync(store.pathOf(sha)).ino, inodes[i], "the intact object is kept");
      assert.equal(await store.verify(sha), "ok");
    }
  });
});

Deno.test("import does not read an object the repo's stat cache vouches for", async () => {
  await withTempDir(async (dir) => {
    const shas = await archiveOf(dir, HELD);
    const { store } = await storeWith(`${dir}/repo`, HELD);
    const cache = StatCache.empty();
    for (const sha of shas) cache.recordObject(sha, Deno.statSync(store.pathOf(sha)));
    // Damaged behind the cache's back, with size, mtime and inode unchanged: the cache
    // still vouches for them. Any read of them would find the damage and replace them;
    // as they are trusted, they are left exactly as they are.
    for (const sha of shas) await damageInPlace(store.pathOf(sha), true);
    const before = await snapshotBytes(store, shas);
    const trusted = (sha: string, st: Deno.FileInfo) => cache.objectTrusted(sha, st);
    const r = await importInto(dir, store, trusted);
    assert.deepEqual([...r.objects], [], "nothing staged");
    assert.deepEqual(r.stagedFiles, []);
    assert.deepEqual([...r.verified], [], "nothing re-hashed");
    assert.equal(r.n, 0);
    assert.deepEqual(await snapshotBytes(store, shas), before, "left as they were");
    for (const sha of shas) assert.equal(await store.verify(sha), "corrupt");

    // The same import without the cache looks at them, and repairs them.
    const again = await importInto(dir, store);
    assert.deepEqual(again.added, [...shas].sort());
    for (const sha of shas) assert.equal(await store.verify(sha), "ok");
  });
});

Deno.test("a damaged object the archive does not hold is left as it is, and the import succeeds", async () => {
  await withTempDir(async (dir) => {
    const [inArchive, notInArchive] = HELD;
    const [sha] = await archiveOf(dir, [inArchive]);
    const { store, shas } = await storeWith(`${dir}/repo`, [notInArchive]);
    const other = shas[0];
    await damageInPlace(store.pathOf(other));
    const damaged = await Deno.readFile(store.pathOf(other));
    const ino = Deno.statSync(store.pathOf(other)).ino;
    const r = await importInto(dir, store);
    assert.deepEqual(r.added, [sha]);
    assert.equal(await store.verify(sha), "ok");
    assert.deepEqual(await Deno.readFile(store.pathOf(other)), damaged, "not touched");
    assert.equal(Deno.statSync(store.pathOf(other)).ino, ino);
    assert.equal(await store.verify(other), "corrupt");
  });
});

Deno.test("commitStaged replaces a damaged object of the same size and keeps an intact one", async () => {
  await withTempDir(async (dir) => {
    const shas = await archiveOf(dir, HELD);
    const { store } = await storeWith(`${dir}/repo`, HELD);
    await damageInPlace(store.pathOf(shas[0]));
    const intactIno = Deno.statSync(store.pathOf(shas[1])).ino;
    // Staged without an existing store, so that both meet an object in the store.
    const { objects } = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.equal(objects.size, 2);
    const added: string[] = [];
    const n = await commitStaged(objects, `${dir}/staging`, store, {
      onAdded: (sha) => added.push(sha),
    });
    assert.equal(n, 1);
    assert.deepEqual(added, [shas[0]]);
    assert.equal(await store.verify(shas[0]), "ok");
    assert.equal(Deno.statSync(store.pathOf(shas[1])).ino, intactIno, "intact one replaced");
  });
});

Deno.test("importRepo() trusts the objects its stat cache vouches for and repairs a damaged other", async () => {
  await withRepo(async (r) => {
    await commitFiles(r, { "a.bin": "aaaa\n", "b.bin": "bbbb\n" }); // recorded as verified
    await exportRepo({ ...r.opts, output: `${r.root}/good.tar` });
    const [a, b] = [sha256("aaaa\n"), sha256("bbbb\n")];
    const [pa, pb] = [`${r.objectsDir}/${a}`, `${r.objectsDir}/${b}`];
    // a: damaged with size, mtime and inode unchanged (the cache still vouches for it);
    // b: damaged, its mtime moved (no longer trusted).
    await damageInPlace(pa, true);
    await damageInPlace(pb);
    await Deno.utime(pb, new Date(1e12), new Date(1e12));
    const res = await importRepo({ ...r.opts, input: `${r.root}/good.tar` });
    assert.equal(res.objects, 1);
    assert.equal(sha256(await Deno.readFile(pb)), b, "the untrusted damaged object is replaced");
    assert.notEqual(sha256(await Deno.readFile(pa)), a, "the trusted one is not read");
    const cache = await StatCache.load(`${r.dir}/.pvr/stat-cache`);
    assert.ok(cache.objectTrusted(b, Deno.statSync(pb)), "the replaced object is recorded");
  });
});

/** The bytes of the given objects of `store`. */
async function snapshotBytes(store: FsObjectStore, shas: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const sha of shas) {
    const st = Deno.statSync(store.pathOf(sha));
    out.push(`${sha} ${st.ino} ${st.size} ${sha256(await Deno.readFile(store.pathOf(sha)))}`);
  }
  return out;
}
