import assert from "node:assert/strict";
import { TarReader } from "../../../core/archive/tar.ts";
import { flattenedTar, type LayerOpener } from "../../../core/app/layers.ts";
import { imageTree, overlayIndex } from "../../../core/app/overlay.ts";
import { directoryTar } from "../../../core/app/rootfs.ts";
import { type LayerEntry, tarOf } from "../../support/layer_tar.ts";

function mem(bytes: Uint8Array): LayerOpener {
  return () => Promise.resolve(ReadableStream.from([bytes]));
}

interface Entry {
  type: string;
  mode: number;
  linkname: string;
  data: string;
  dev: string;
}

async function readTar(stream: ReadableStream<Uint8Array>): Promise<Map<string, Entry>> {
  const tar = new TarReader(stream);
  const out = new Map<string, Entry>();
  for (;;) {
    const e = await tar.next();
    if (e === null) break;
    const data = new TextDecoder().decode(await tar.readBody());
    out.set(e.name, {
      type: e.type,
      mode: e.mode & 0o7777,
      linkname: e.linkname,
      data,
      dev: `${e.devmajor},${e.devminor}`,
    });
  }
  return out;
}

/** The overlay tar of `upper` over `lower` (one layer each), read back. */
async function overlay(lower: LayerEntry[], upper: LayerEntry[]) {
  const lo = await imageTree([mem(tarOf(lower))]);
  const up = await imageTree([mem(tarOf(upper))]);
  const ovl = await overlayIndex(up, lo);
  return { ...ovl, entries: await readTar(flattenedTar(ovl.index, up.layers)) };
}

const BASE: LayerEntry[] = [
  { name: "etc/" },
  { name: "etc/same", data: "same" },
  { name: "etc/touched", data: "t", mtime: 1 },
  { name: "etc/mode", data: "m", mode: 0o644 },
  { name: "etc/gone", data: "g" },
  { name: "x", data: "shared data" },
  { name: "wasfile", data: "f" },
  { name: "wasdir/" },
  { name: "wasdir/inner", data: "i" },
];

Deno.test("overlayIndex(): changed, new and removed entries; times are not compared", async () => {
  const o = await overlay(BASE, [
    { name: "etc/" },
    { name: "etc/same", data: "same" },
    { name: "etc/touched", data: "t", mtime: 999 },
    { name: "etc/mode", data: "m", mode: 0o600 },
    { name: "etc/new", data: "n" },
    { name: "x", data: "shared data" },
    { name: "wasfile/" },
    { name: "wasfile/now", data: "d" },
    { name: "wasdir", data: "now a file" },
  ]);
  assert.deepEqual(o.changed, ["etc/mode", "etc/new", "wasdir", "wasfile"]);
  assert.deepEqual(o.whiteouts, ["etc/gone"]);
  assert.deepEqual([...o.entries.keys()].sort(), [
    "etc",
    "etc/gone",
    "etc/mode",
    "etc/new",
    "wasdir",
    "wasfile",
    "wasfile/now",
  ]);
  const wh = o.entries.get("etc/gone")!;
  assert.equal(wh.type, "3");
  assert.equal(wh.dev, "0,0");
  assert.equal(wh.mode, 0);
  assert.equal(o.entries.get("etc/mode")!.mode, 0o600);
  assert.equal(o.entries.get("wasdir")!.data, "now a file");
});

Deno.test("overlayIndex(): the same tree gives an empty overlay; same size, other bytes differ", async () => {
  const same = await overlay(BASE, BASE);
  assert.deepEqual([...same.entries.keys()], []);
  const other = await overlay(
    BASE,
    BASE.map((e) => e.name === "etc/same" ? { ...e, data: "SAME" } : e),
  );
  assert.deepEqual(other.changed, ["etc/same"]);
  assert.equal(other.entries.get("etc/same")!.data, "SAME");
});

Deno.test("overlayIndex(): a hardlink to an unchanged file is stored with the data", async () => {
  const o = await overlay(BASE, [
    ...BASE,
    { name: "y", type: "hardlink", link: "x" },
    { name: "new1", data: "fresh" },
    { name: "new2", type: "hardlink", link: "new1" },
  ]);
  assert.deepEqual(o.changed, ["new1", "new2", "y"]);
  assert.equal(o.entries.get("y")!.type, "0");
  assert.equal(o.entries.get("y")!.data, "shared data");
  assert.equal(o.entries.get("new1")!.data, "fresh");
  assert.equal(o.entries.get("new2")!.type, "1");
  assert.equal(o.entries.get("new2")!.linkname, "new1");
});

Deno.test("directoryTar(): sorted entries, hardlinks, symlinks kept, owner root", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/b/c`, { recursive: true });
    await Deno.writeTextFile(`${dir}/b/c/f`, "data");
    await Deno.link(`${dir}/b/c/f`, `${dir}/a-link`);
    await Deno.symlink("/etc/passwd", `${dir}/b/sym`);
    await Deno.writeTextFile(`${dir}/b/exe`, "#!", { mode: 0o755 });
    await Deno.chmod(`${dir}/b/exe`, 0o755);
    const tar = new TarReader(directoryTar(dir));
    const names: string[] = [];
    const seen = new Map<string, { type: string; link: string; uid: number; mode: number }>();
    for (;;) {
      const e = await tar.next();
      if (e === null) break;
      names.push(e.name);
      seen.set(e.name, { type: e.type, link: e.linkname, uid: e.uid, mode: e.mode & 0o7777 });
      await tar.readBody();
    }
    assert.deepEqual(names, ["./", "a-link", "b", "b/c", "b/c/f", "b/exe", "b/sym"]);
    assert.equal(seen.get("a-link")!.type, "0");
    assert.equal(seen.get("b/c/f")!.type, "1");
    assert.equal(seen.get("b/c/f")!.link, "a-link");
    assert.equal(seen.get("b/sym")!.link, "/etc/passwd");
    assert.equal(seen.get("b/exe")!.mode, 0o755);
    if (Deno.uid() !== 0) assert.equal(seen.get("b/exe")!.uid, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
