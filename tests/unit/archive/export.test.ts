import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import { Parser } from "tar";
import { exportToPath, isGzipName, readExport, writeExport } from "../../../core/archive/mod.ts";
import { FsObjectStore } from "../../../core/store/fs_store.ts";
import { MemoryObjectStore } from "../../../core/store/memory_store.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { isPvrError } from "../../../core/errors.ts";
import { PANTAVISOR_FIXTURES, withTempDir } from "../../support/temp.ts";
import { bytes, collector, gnuTar, snapshot, stateOf, storeWith } from "./archive_helpers.ts";

interface Listed {
  path: string;
  type: string;
  mode: number | undefined;
  size: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  mtime: number | undefined;
  data: Uint8Array;
}

/** Lists an archive with node-tar (an implementation independent of ours). */
async function listTar(archive: Uint8Array): Promise<Listed[]> {
  const entries: Listed[] = [];
  const warnings: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const p = new Parser({
      strict: true,
      onwarn: (code: string, msg: string) => warnings.push(`${code}: ${msg}`),
      onReadEntry: (e) => {
        const chunks: Uint8Array[] = [];
        const item: Listed = {
          path: e.path,
          type: e.type,
          mode: e.mode,
          size: e.size,
          uid: e.uid,
          gid: e.gid,
          mtime: e.mtime?.getTime(),
          data: new Uint8Array(),
        };
        entries.push(item);
        e.on("data", (c: Uint8Array) => chunks.push(c));
        e.on("end", () => {
          item.data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let off = 0;
          for (const c of chunks) {
            item.data.set(c, off);
            off += c.length;
          }
        });
      },
    });
    p.on("end", () => resolve());
    p.on("error", reject);
    p.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
  assert.deepEqual(warnings, []);
  return entries;
}

const A = bytes("alpha\n");
const B = bytes("bravo bravo\n");
const C = bytes("charlie\n".repeat(100));

async function sample(dir: string) {
  const { store, shas } = await storeWith(dir, [A, B, C]);
  const [a, b, c] = shas;
  const state = stateOf({
    "#spec": "pantavisor-service-system@1",
    "app/run.json": { name: "app", n: 1.5 },
    "app/root.squashfs": a,
    "app/copy.squashfs": a, // same object twice
    "bsp/kernel.img": b,
    "bsp/firmware/fw.bin": c,
  });
  return { store, state, a, b, c };
}

async function exportBytes(
  opts: Omit<Parameters<typeof writeExport>[0], "output">,
): Promise<Uint8Array> {
  const out = collector();
  await writeExport({ ...opts, output: out.stream });
  return out.bytes();
}

Deno.test("writeExport writes json first, then each object once in sha order, no directories", async () => {
  await withTempDir(async (dir) => {
    const { store, state, a, b, c } = await sample(dir);
    const archive = await exportBytes({ state, store, gzip: false });
    const entries = await listTar(archive);
    assert.deepEqual(
      entries.map((e) => e.path),
      ["json", ...[a, b, c].sort().map((s) => `objects/${s}`)],
    );
    assert.ok(entries.every((e) => e.type === "File"));
    assert.equal(entries[0].mode, 0o600);
    assert.ok(entries.slice(1).every((e) => e.mode === 0o644));
    assert.ok(entries.every((e) => e.uid === 0 && e.gid === 0 && e.mtime === 0));
  });
});

Deno.test("the json entry is the canonical state and object entries hold the object bytes", async () => {
  await withTempDir(async (dir) => {
    const { store, state, a, b, c } = await sample(dir);
    const entries = await listTar(await exportBytes({ state, store, gzip: false }));
    assert.equal(new TextDecoder().decode(entries[0].data), canonicalJson(state));
    const byName = new Map(entries.map((e) => [e.path, e.data]));
    assert.deepEqual(byName.get(`objects/${a}`), A);
    assert.deepEqual(byName.get(`objects/${b}`), B);
    assert.deepEqual(byName.get(`objects/${c}`), C);
  });
});

Deno.test("headers use Go archive/tar's USTAR layout and the archive ends with two zero blocks, unpadded", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    const archive = await exportBytes({ state, store, gzip: false });
    const text = (off: number, len: number) =>
      new TextDecoder().decode(archive.subarray(off, off + len));
    assert.equal(text(0, 5), "json\0");
    assert.equal(text(100, 8), "0000600\0");
    assert.equal(text(108, 8), "0000000\0");
    assert.equal(text(136, 12), "00000000000\0");
    assert.match(text(148, 8), /^[0-7]{6}\0 $/);
    assert.equal(text(156, 1), "0");
    assert.equal(text(257, 8), "ustar\x0000");
    assert.equal(text(265, 64), "\0".repeat(64)); // no uname/gname
    assert.equal(text(329, 16), "0000000\0".repeat(2));
    const json = canonicalJson(state).length;
    const objects = 3 * 512 + 512 + 512 + 2 * 512; // A, B: one block each; C: 800 bytes
    assert.equal(archive.length, 512 + Math.ceil(json / 512) * 512 + objects + 1024);
    assert.ok(archive.subarray(archive.length - 1024).every((x) => x === 0));
  });
});

Deno.test("GNU tar lists an export with the expected names and modes", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    await exportToPath(`${dir}/x.tar`, { state, store });
    const listing = await gnuTar(["-tvf", `${dir}/x.tar`]);
    const lines = listing.trim().split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^-rw------- 0\/0 .* json$/);
    for (const l of lines.slice(1)) assert.match(l, /^-rw-r--r-- 0\/0 .* objects\/[0-9a-f]{64}$/);
  });
});

Deno.test("the same state exports to the same bytes, whatever the object files' mtimes", async () => {
  await withTempDir(async (dir) => {
    const { store, state, a } = await sample(dir);
    const first = await exportBytes({ state, store, gzip: false });
    await Deno.utime(store.pathOf(a), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const second = await exportBytes({ state, store, gzip: false });
    assert.deepEqual(second, first);
    const gz1 = await exportBytes({ state, store, gzip: true });
    const gz2 = await exportBytes({ state, store, gzip: true });
    assert.deepEqual(gz2, gz1);
  });
});

Deno.test("parts select keys under the parts and always keep #spec", async () => {
  await withTempDir(async (dir) => {
    const { store, state, b, c } = await sample(dir);
    const entries = await listTar(
      await exportBytes({ state, store, gzip: false, parts: ["bsp/"] }),
    );
    assert.deepEqual(
      entries.map((e) => e.path),
      ["json", ...[b, c].sort().map((s) => `objects/${s}`)],
    );
    assert.deepEqual(
      JSON.parse(new TextDecoder().decode(entries[0].data)),
      { "#spec": "pantavisor-service-system@1", "bsp/firmware/fw.bin": c, "bsp/kernel.img": b },
    );
  });
});

Deno.test("a gzip export gunzips to the plain export", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    const plain = await exportBytes({ state, store, gzip: false });
    const gz = await exportBytes({ state, store, gzip: true });
    assert.deepEqual([gz[0], gz[1]], [0x1f, 0x8b]);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), plain);
  });
});

Deno.test("exportToPath gzips .gz and .tgz names in any case, and nothing else", async () => {
  assert.ok(isGzipName("a.tgz") && isGzipName("a.TGZ") && isGzipName("a.tar.Gz"));
  assert.ok(!isGzipName("a.tar") && !isGzipName("a.gzip") && !isGzipName("tgz"));
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    for (const name of ["x.tgz", "x.TAR.GZ", "x.tar", "x"]) {
      const r = await exportToPath(`${dir}/${name}`, { state, store });
      const head = await Deno.readFile(`${dir}/${name}`);
      assert.equal(r.bytes, head.length);
      assert.equal(head[0] === 0x1f && head[1] === 0x8b, /\.(tgz|gz)$/i.test(name), name);
    }
    await exportToPath(`${dir}/forced.tar`, { state, store, gzip: true });
    assert.equal((await Deno.readFile(`${dir}/forced.tar`))[0], 0x1f);
  });
});

Deno.test('exportToPath("-") writes an uncompressed tar to stdout', async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    const expected = await exportBytes({ state, store, gzip: false });
    await Deno.writeTextFile(`${dir}/state.json`, canonicalJson(state));
    const mod = new URL("../../../core/archive/mod.ts", import.meta.url).href;
    const fs = new URL("../../../core/store/fs_store.ts", import.meta.url).href;
    const parse = new URL("../../../core/model/json_parse.ts", import.meta.url).href;
    const st = new URL("../../../core/model/state.ts", import.meta.url).href;
    const script = `
      import { exportToPath } from "${mod}";
      import { FsObjectStore } from "${fs}";
      import { parseJson } from "${parse}";
      import { validateState } from "${st}";
      const state = validateState(parseJson(await Deno.readFile(Deno.args[0]), "s"), "s");
      await exportToPath("-", { state, store: await FsObjectStore.open(Deno.args[1]) });
    `;
    await Deno.writeTextFile(`${dir}/run.ts`, script);
    const config = new URL("../../../deno.json", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--config",
        config,
        "--frozen",
        `${dir}/run.ts`,
        `${dir}/state.json`,
        store.location,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.deepEqual(out.stdout, expected);
    assert.ok(!(await Deno.stat(`${dir}/-`).then(() => true, () => false)));
  });
});

Deno.test("a missing object fails with OBJECT_MISSING before any byte is written", async () => {
  await withTempDir(async (dir) => {
    const { store, state, b } = await sample(dir);
    await Deno.remove(store.pathOf(b));
    const out = collector();
    await assert.rejects(
      writeExport({ state, store, output: out.stream, gzip: false }),
      (e) => isPvrError(e, "OBJECT_MISSING") && e.message.includes("bsp/kernel.img"),
    );
    assert.equal(out.bytes().length, 0);
    const before = await snapshot(dir);
    await assert.rejects(
      exportToPath(`${dir}/out.tgz`, { state, store }),
      (e) => isPvrError(e, "OBJECT_MISSING"),
    );
    assert.deepEqual(await snapshot(dir), before); // no target, no temp file
  });
});

for (const [what, size] of [["small", 1000], ["large (streamed)", 5 << 20]] as const) {
  Deno.test(`a corrupt ${what} object fails with OBJECT_CORRUPT and exportToPath leaves no file`, async () => {
    await withTempDir(async (dir) => {
      const blob = new Uint8Array(size).map((_, i) => i % 251);
      const { store, shas } = await storeWith(dir, [blob]);
      const state = stateOf({ "#spec": "x@1", "big.img": shas[0] });
      const path = store.pathOf(shas[0]);
      await Deno.chmod(path, 0o644);
      const damaged = blob.slice();
      damaged[size - 1] ^= 1; // same size: only the hash tells
      await Deno.writeFile(path, damaged);
      await Deno.writeTextFile(`${dir}/keep.tar`, "old content");
      const before = await snapshot(dir);
      await assert.rejects(
        exportToPath(`${dir}/keep.tar`, { state, store }),
        (e) => isPvrError(e, "OBJECT_CORRUPT") && e.message.includes(shas[0]),
      );
      assert.deepEqual(await snapshot(dir), before);
      assert.equal(await Deno.readTextFile(`${dir}/keep.tar`), "old content");
      const out = collector();
      await assert.rejects(
        writeExport({ state, store, output: out.stream, gzip: true }),
        (e) => isPvrError(e, "OBJECT_CORRUPT"),
      );
    });
  });
}

Deno.test("an export replaces an existing file only when it succeeds", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    await Deno.writeTextFile(`${dir}/x.tar`, "old");
    const r = await exportToPath(`${dir}/x.tar`, { state, store });
    assert.equal(r.objects, 3);
    assert.equal((await Deno.stat(`${dir}/x.tar`)).size, r.bytes);
    assert.deepEqual((await snapshot(dir, ["objects"])).filter((l) => l.includes(".tmp")), []);
  });
});

Deno.test("a store without pathOf (memory) exports the same bytes as the file system store", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    const mem = new MemoryObjectStore();
    for (const b of [A, B, C]) await mem.put(b);
    const fromFs = await exportBytes({ state, store, gzip: false });
    const fromMem = await exportBytes({ state, store: mem, gzip: false });
    assert.deepEqual(fromMem, fromFs);
  });
});

Deno.test("re-exporting the pvwificonnect fixture gives the fixture's uncompressed bytes", async () => {
  await withTempDir(async (dir) => {
    const fixture = `${PANTAVISOR_FIXTURES}pvwificonnect.tgz`;
    const { state, objects } = await readExport(fixture, `${dir}/staging`);
    assert.equal(objects.size, 3);
    const store = await FsObjectStore.open(`${dir}/staging`);
    const archive = await exportBytes({ state, store, gzip: false });
    const original = new Uint8Array(gunzipSync(await Deno.readFile(fixture)));
    assert.equal(archive.length, original.length);
    assert.deepEqual(archive, original);
  });
});

Deno.test("exportToPath into a missing directory fails with FAILED and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const { store, state } = await sample(dir);
    const before = await snapshot(dir);
    await assert.rejects(
      exportToPath(`${dir}/no/such/dir/x.tar`, { state, store }),
      (e) => isPvrError(e, "FAILED"),
    );
    assert.deepEqual(await snapshot(dir), before);
  });
});
