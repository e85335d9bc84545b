import assert from "node:assert/strict";
import {
  BLOCK_SIZE,
  endOfArchive,
  fileHeader,
  paddingFor,
  TarFormatError,
  TarReader,
} from "../../../core/archive/tar.ts";
import { withTempDir } from "../../support/temp.ts";
import { bytes, chunkedStream, concat, gnuTar, rawEntry } from "./archive_helpers.ts";

function streamOf(data: Uint8Array): ReadableStream<Uint8Array> {
  return chunkedStream(data, [data.length || 1]);
}

async function readAll(data: Uint8Array, sizes = [data.length || 1]) {
  const tar = new TarReader(chunkedStream(data, sizes));
  const out: { name: string; type: string; size: number; body: Uint8Array }[] = [];
  for (let e = await tar.next(); e !== null; e = await tar.next()) {
    out.push({ name: e.name, type: e.type, size: e.size, body: await tar.readBody() });
  }
  await tar.drain();
  return out;
}

Deno.test("fileHeader writes one block with a valid checksum for sizes up to 8 GiB - 1", () => {
  const h = fileHeader("objects/abc", 0o644, 0o77777777777);
  assert.equal(h.length, BLOCK_SIZE);
  assert.equal(new TextDecoder().decode(h.subarray(124, 136)), "77777777777\0");
});

Deno.test("fileHeader adds a PAX size record above 8 GiB, which TarReader applies", async () => {
  const size = 2 ** 33 + 5;
  const h = fileHeader(`objects/${"a".repeat(64)}`, 0o644, size);
  assert.equal(h.length, 3 * BLOCK_SIZE);
  const record = new TextDecoder().decode(h.subarray(512, 1024)).replace(/\0+$/, "");
  const m = /^(\d+) size=8589934597\n$/.exec(record);
  assert.ok(m !== null, record);
  assert.equal(Number(m[1]), record.length);
  const tar = new TarReader(streamOf(h));
  const e = await tar.next();
  assert.equal(e?.size, size);
  assert.equal(e?.name, `objects/${"a".repeat(64)}`);
  assert.equal(e?.type, "0");
});

Deno.test("fileHeader refuses names it cannot store in a plain USTAR header", () => {
  assert.throws(() => fileHeader("x".repeat(101), 0o644, 1), RangeError);
  assert.throws(() => fileHeader("é", 0o644, 1), RangeError);
  assert.throws(() => fileHeader("a", 0o644, -1), RangeError);
});

Deno.test("an archive of fileHeader entries is read back by GNU tar", async () => {
  await withTempDir(async (dir) => {
    const data = bytes("hello world\n");
    const archive = concat([
      fileHeader("json", 0o600, data.length),
      data,
      new Uint8Array(paddingFor(data.length)),
      endOfArchive(),
    ]);
    await Deno.writeFile(`${dir}/a.tar`, archive);
    assert.match(
      await gnuTar(["-tvf", `${dir}/a.tar`]),
      /^-rw------- 0\/0 +12 1970-01-01 00:00 json\n$/,
    );
    await gnuTar(["-xf", `${dir}/a.tar`, "-C", dir]);
    assert.equal(await Deno.readTextFile(`${dir}/json`), "hello world\n");
  });
});

Deno.test("TarReader reads headers and data split across any chunk boundaries", async () => {
  const a = bytes("a".repeat(700));
  const b = bytes("b");
  const archive = concat([
    rawEntry({ name: "one" }, a),
    rawEntry({ name: "dir/", type: "5" }),
    rawEntry({ name: "two", prefix: "some/prefix" }, b),
    new Uint8Array(1024),
  ]);
  for (const sizes of [[1], [7, 511, 513], [archive.length]]) {
    const entries = await readAll(archive, sizes);
    assert.deepEqual(entries.map((e) => [e.name, e.type, e.size]), [
      ["one", "0", 700],
      ["dir/", "5", 0],
      ["some/prefix/two", "0", 1],
    ]);
    assert.deepEqual(entries[0].body, a);
    assert.deepEqual(entries[2].body, b);
  }
});

Deno.test("TarReader skips unread data when asked for the next entry", async () => {
  const archive = concat([
    rawEntry({ name: "one" }, new Uint8Array(5000).fill(1)),
    rawEntry({ name: "two" }, bytes("x")),
    new Uint8Array(1024),
  ]);
  const tar = new TarReader(chunkedStream(archive, [100]));
  assert.equal((await tar.next())?.name, "one");
  assert.equal((await tar.next())?.name, "two");
  assert.deepEqual(await tar.readBody(), bytes("x"));
  assert.equal(await tar.next(), null);
});

Deno.test("TarReader streams a body as views of the input chunks", async () => {
  const data = new Uint8Array(10_000).map((_, i) => i & 0xff);
  const archive = concat([rawEntry({ name: "big" }, data), new Uint8Array(1024)]);
  const tar = new TarReader(chunkedStream(archive, [4096]));
  await tar.next();
  const chunks: Uint8Array[] = [];
  for await (const c of tar.body()) chunks.push(c);
  assert.deepEqual(concat(chunks), data);
  assert.equal(await tar.next(), null);
});

Deno.test("TarReader accepts a lone zero block at the end (as Go does)", async () => {
  const archive = concat([rawEntry({ name: "a" }, bytes("1")), new Uint8Array(512)]);
  assert.deepEqual((await readAll(archive)).map((e) => e.name), ["a"]);
});

Deno.test("TarReader reports a bad checksum as a format error", async () => {
  const archive = concat([rawEntry({ name: "a" }, bytes("1")), new Uint8Array(1024)]);
  archive[0] = "b".charCodeAt(0);
  await assert.rejects(readAll(archive), (e) => e instanceof TarFormatError && e.kind === "format");
});

Deno.test("TarReader reports data ending early as truncated", async () => {
  const archive = concat([rawEntry({ name: "a" }, bytes("1".repeat(600))), new Uint8Array(1024)]);
  for (const cut of [0, 300, 512, 700, 1536]) {
    await assert.rejects(
      readAll(archive.subarray(0, cut)),
      (e) => e instanceof TarFormatError && e.kind === "truncated",
      `cut at ${cut}`,
    );
  }
});

Deno.test("TarReader reads GNU base-256 sizes", async () => {
  const h = rawEntry({ name: "a" }, bytes("xyz"));
  // Rewrite the size field as base-256 (0x80 then big-endian) and fix the checksum.
  h.fill(0, 124, 136);
  h[124] = 0x80;
  h[135] = 3;
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.set(bytes(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  const entries = await readAll(concat([h, new Uint8Array(1024)]));
  assert.deepEqual(entries[0].body, bytes("xyz"));
});
