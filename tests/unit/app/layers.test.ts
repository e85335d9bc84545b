import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { PvrError } from "../../../core/errors.ts";
import { TarReader } from "../../../core/archive/tar.ts";
import {
  finishRootfs,
  flattenedTar,
  indexLayers,
  type LayerOpener,
} from "../../../core/app/layers.ts";
import { splitFormatOptions } from "../../../core/app/squashfs.ts";
import { type LayerEntry, tarOf } from "../../support/layer_tar.ts";

function mem(bytes: Uint8Array): LayerOpener {
  return () => Promise.resolve(ReadableStream.from([bytes]));
}

interface Out {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname: string;
  data: string;
  devmajor: number;
  devminor: number;
}

/** Flattens `layers` and reads the resulting tar back. */
async function flatten(
  layers: LayerEntry[][],
  finish = false,
): Promise<{ entries: Map<string, Out>; order: string[]; bytes: Uint8Array }> {
  const openers = layers.map((l) => mem(tarOf(l)));
  const index = await indexLayers(openers);
  if (finish) finishRootfs(index);
  const bytes = new Uint8Array(await new Response(flattenedTar(index, openers)).arrayBuffer());
  const tar = new TarReader(ReadableStream.from([bytes]));
  const entries = new Map<string, Out>();
  const order: string[] = [];
  for (let e = await tar.next(); e !== null; e = await tar.next()) {
    const data = new TextDecoder().decode(await tar.readBody());
    order.push(e.name);
    entries.set(e.name, { ...e, data });
  }
  return { entries, order, bytes };
}

Deno.test("indexLayers() applies whiteouts to lower layers only, wherever they sit in the tar", async () => {
  const { entries } = await flatten([
    [
      { name: "etc/" },
      { name: "etc/keep", data: "k" },
      { name: "etc/x/" },
      { name: "etc/x/old", data: "o" },
      { name: "etc/x/sub/" },
      { name: "etc/x/sub/deep", data: "d" },
      { name: "gone", data: "g" },
      { name: "gonedir/" },
      { name: "gonedir/f", data: "f" },
    ],
    [
      // The layer's own entry comes before the opaque marker: it must stay.
      { name: "etc/x/sub/new", data: "n" },
      { name: "etc/x/.wh..wh..opq" },
      { name: ".wh.gone" },
      { name: ".wh.gonedir" },
    ],
  ]);
  assert.deepEqual([...entries.keys()].sort(), [
    "etc",
    "etc/keep",
    "etc/x",
    "etc/x/sub",
    "etc/x/sub/new",
  ]);
});

Deno.test("indexLayers() refuses .., absolute names and entries below a symlink", async () => {
  for (
    const bad of [
      [[{ name: "../evil", data: "x" }]],
      [[{ name: "/etc/passwd", data: "x" }]],
      [[{ name: "a/../../b", data: "x" }]],
      [[{ name: "lnk", type: "symlink", link: "/etc" } as LayerEntry], [{
        name: "lnk/passwd",
        data: "x",
      }]],
    ]
  ) {
    await assert.rejects(
      indexLayers(bad.map((l) => mem(tarOf(l)))),
      (e: unknown) => e instanceof PvrError && e.code === "UNSAFE_PATH",
    );
  }
});

Deno.test("flattenedTar() keeps owners, setuid, devices, symlinks, hardlinks and long names", async () => {
  const long = `x/${"a".repeat(120)}/${"b".repeat(120)}`;
  const { entries, order } = await flatten([[
    { name: "bin/" },
    { name: "bin/su", mode: 0o4755, uid: 0, gid: 0, data: "su" },
    { name: "bin/su2", type: "hardlink", link: "bin/su" },
    { name: "home/u/f", uid: 101, gid: 102, mode: 0o600, data: "mine" },
    { name: "dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
    { name: "dev/sda", type: "block", mode: 0o660, major: 8, minor: 0 },
    { name: "run/fifo", type: "fifo", mode: 0o600 },
    { name: "lib", type: "symlink", link: "usr/lib" },
    { name: long, data: "long" },
  ]]);
  assert.equal(entries.get("bin/su")?.mode, 0o4755);
  assert.equal(entries.get("bin/su2")?.type, "1");
  assert.equal(entries.get("bin/su2")?.linkname, "bin/su");
  assert.ok(order.indexOf("bin/su2") > order.indexOf("bin/su"), "hardlink after its target");
  assert.deepEqual(
    [entries.get("home/u/f")?.uid, entries.get("home/u/f")?.gid, entries.get("home/u/f")?.data],
    [101, 102, "mine"],
  );
  assert.deepEqual(
    [
      entries.get("dev/null")?.type,
      entries.get("dev/null")?.devmajor,
      entries.get("dev/null")?.devminor,
    ],
    ["3", 1, 3],
  );
  assert.equal(entries.get("dev/sda")?.type, "4");
  assert.equal(entries.get("run/fifo")?.type, "6");
  assert.equal(entries.get("lib")?.linkname, "usr/lib");
  assert.equal(entries.get(long)?.data, "long");
  // Implicit parents are root-owned 0755 directories.
  assert.equal(entries.get("home/u")?.mode, 0o755);
});

Deno.test("a hardlink whose target a later layer deletes keeps the data", async () => {
  const { entries } = await flatten([
    [{ name: "a", data: "shared" }, { name: "b", type: "hardlink", link: "a" }, {
      name: "c",
      type: "hardlink",
      link: "a",
    }],
    [{ name: ".wh.a" }],
  ]);
  assert.equal(entries.has("a"), false);
  assert.equal(entries.get("b")?.type, "0");
  assert.equal(entries.get("b")?.data, "shared");
  assert.equal(entries.get("c")?.type, "1");
  assert.equal(entries.get("c")?.linkname, "b");
});

Deno.test("finishRootfs() strips qemu-arm-static and adds the essential dirs, keeping a var/run symlink", async () => {
  const { entries } = await flatten([[
    { name: "usr/bin/qemu-arm-static", data: "q" },
    { name: "var/run", type: "symlink", link: "../run" },
    { name: "tmp/", mode: 0o1777 },
  ]], true);
  assert.equal(entries.has("usr/bin/qemu-arm-static"), false);
  assert.equal(entries.get("var/run")?.type, "2");
  assert.equal(entries.get("tmp")?.mode, 0o1777);
  for (const d of ["proc", "sys", "dev", "run", "var/tmp"]) {
    assert.equal(entries.get(d)?.type, "5", d);
    assert.equal(entries.get(d)?.mode, 0o755, d);
  }
});

Deno.test("layers may be gzip, zstd or plain; the output is deterministic", async () => {
  const l0 = tarOf([{ name: "a", data: "one" }, { name: "d/" }]);
  const l1 = tarOf([{ name: "b", data: "two" }]);
  const l2 = tarOf([{ name: "c", data: "three" }]);
  const openers = [mem(gzipSync(l0)), mem(zstdCompressSync(l1)), mem(l2)];
  const run = async () => {
    const index = await indexLayers(openers);
    return new Uint8Array(await new Response(flattenedTar(index, openers)).arrayBuffer());
  };
  const a = await run();
  assert.deepEqual(await run(), a);
  const tar = new TarReader(ReadableStream.from([a]));
  const names: string[] = [];
  for (let e = await tar.next(); e !== null; e = await tar.next()) names.push(e.name);
  assert.deepEqual(names, ["d", "a", "b", "c"]);
});

Deno.test("a damaged layer is BAD_ARCHIVE", async () => {
  const bytes = gzipSync(tarOf([{ name: "a", data: "x".repeat(5000) }])).subarray(0, 40);
  await assert.rejects(
    indexLayers([mem(bytes)]),
    (e: unknown) => e instanceof PvrError && e.code === "BAD_ARCHIVE",
  );
});

Deno.test("splitFormatOptions() splits on whitespace, default -comp xz", () => {
  assert.deepEqual(splitFormatOptions(undefined), ["-comp", "xz"]);
  assert.deepEqual(splitFormatOptions("  "), ["-comp", "xz"]);
  assert.deepEqual(splitFormatOptions(" -comp  gzip\t-b 256K "), ["-comp", "gzip", "-b", "256K"]);
});

Deno.test("extended attributes (binary file capabilities) pass through unchanged", async () => {
  // A VFS_CAP_REVISION_2 value for cap_net_raw+ep: bytes above 0x7f included.
  const cap = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const odd = new Uint8Array([0x80, 0x9f, 0xff, 0x00, 0x3d, 0x0a]);
  const openers = [mem(tarOf([
    { name: "bin/ping", mode: 0o755, data: "ping", xattrs: { "security.capability": cap } },
    { name: "etc/x", data: "x", xattrs: { "user.odd": odd } },
  ]))];
  const index = await indexLayers(openers);
  const bytes = new Uint8Array(await new Response(flattenedTar(index, openers)).arrayBuffer());
  const tar = new TarReader(ReadableStream.from([bytes]));
  const seen: Record<string, Record<string, Uint8Array> | undefined> = {};
  for (let e = await tar.next(); e !== null; e = await tar.next()) seen[e.name] = e.xattrs;
  assert.deepEqual(seen["bin/ping"], { "security.capability": cap });
  assert.deepEqual(seen["etc/x"], { "user.odd": odd });
  assert.equal(seen["bin"], undefined);
});
