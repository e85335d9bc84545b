/**
 * Flattening of container image layers into one root file system, as a tar stream.
 *
 * Instead of extracting every layer into a staging directory (what the Go pvr does, with
 * the system `tar`, which needs root or fakeroot to keep owners and device nodes), the
 * layers are read twice:
 *
 * 1. {@link indexLayers} reads every layer once (data skipped) and builds an in-memory
 *    tree of the final file system: each layer's whiteouts (`.wh.<name>`) and opaque
 *    markers (`.wh..wh..opq`) remove what the LOWER layers put there (whatever their
 *    order inside the layer tar), then the layer's own entries are applied.
 * 2. {@link flattenedTar} writes one tar of that tree: every directory, symlink, device
 *    node and FIFO first (sorted), then regular files in layer order (re-reading each
 *    layer and copying only the bodies that survived), then hardlinks.
 *
 * The tar keeps owners (numeric uid/gid), full modes (setuid, setgid, sticky),
 * modification times, hardlinks, symlinks and device nodes without any privilege:
 * `mksquashfs -tar` reads it (see `squashfs.ts`). Nothing touches the host file system,
 * so a hostile layer cannot write outside a directory; still, entries that are absolute,
 * contain `..`, or lie below a symlink or a non-directory are refused (`UNSAFE_PATH`),
 * since no real extraction could place them.
 *
 * Layers may be plain tar, gzip or zstd (sniffed from the content, not the media type).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { concatBytes } from "../bytes.ts";
import { type TarEntry, TarFormatError, TarReader, TarType } from "../archive/tar.ts";
import { mksquashfsFromTar } from "./squashfs.ts";

/** Kinds of node in the flattened tree. */
export type FlatType = "dir" | "file" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** One node of the flattened tree. */
export interface FlatNode {
  type: FlatType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Symlink target (symlinks only). */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Data size (files). */
  size: number;
  /** Index of the layer that last wrote this node. */
  layer: number;
  /** Index of the entry inside that layer's tar (files: where the data is). */
  ordinal: number;
  /** The regular-file node a hardlink points to (hardlinks only). */
  target?: FlatNode;
  /** Children by name (directories only). */
  children?: Map<string, FlatNode>;
  /** Path relative to the root, `""` for the root. */
  path: string;
  /** Extended attributes (`security.capability`, …) from the layer's PAX records. */
  xattrs?: Record<string, Uint8Array>;
  /** Set when the node was removed from the tree (a whiteout, an overwrite). */
  removed?: boolean;
}

/** The final tree of an image. */
export interface LayerIndex {
  /** The root directory (its own metadata comes from a `./` entry when a layer has one). */
  root: FlatNode;
  /** Number of layers. */
  layers: number;
  /** Number of nodes in the tree (root excluded). */
  count: number;
}

/** Opens a layer's bytes (compressed or not), once per call. */
export type LayerOpener = () => Promise<ReadableStream<Uint8Array>>;

/** A layer file on disk as a {@link LayerOpener}. */
export function layerFile(path: string): LayerOpener {
  return async () => (await Deno.open(path, { read: true })).readable;
}

function dirNode(path: string, layer: number): FlatNode {
  return {
    type: "dir",
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    size: 0,
    layer,
    ordinal: -1,
    children: new Map(),
    path,
  };
}

/**
 * The layer's tar stream: gzip and zstd are recognised by their magic bytes, anything
 * else is read as a plain tar.
 */
export async function openLayerTar(open: LayerOpener): Promise<ReadableStream<Uint8Array>> {
  const raw = await open();
  const reader = raw.getReader();
  // Peek the first chunk (at least 4 bytes when the stream has them).
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 4) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    have += value.length;
  }
  const first = concatParts(head);
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length > 0) controller.enqueue(first);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (first[0] === 0x1f && first[1] === 0x8b) {
    return rest.pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  if (first[0] === 0x28 && first[1] === 0xb5 && first[2] === 0x2f && first[3] === 0xfd) {
    // Loaded here: zstd layers are rare, and node:stream/node:zlib cost start-up time.
    const [{ Duplex }, { createZstdDecompress }] = await Promise.all([
      import("node:stream"),
      import("node:zlib"),
    ]);
    const z = Duplex.toWeb(createZstdDecompress()) as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >;
    return rest.pipeThrough(z);
  }
  return rest;
}

/**
 * The entry name as a relative path with `/` separators and no `./`, `""` for the root.
 * Absolute names and `..` segments are refused.
 */
export function normalizeEntryName(name: string): string {
  if (name.startsWith("/")) {
    throw new PvrError("UNSAFE_PATH", `layer entry ${JSON.stringify(name)} is absolute`, {
      path: name,
    });
  }
  const parts: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      throw new PvrError("UNSAFE_PATH", `layer entry ${JSON.stringify(name)} contains ".."`, {
        path: name,
      });
    }
    if (seg.includes("\0")) {
      throw new PvrError("UNSAFE_PATH", `layer entry name contains NUL`, { path: name });
    }
    parts.push(seg);
  }
  return parts.join("/");
}

function kindOf(type: string): FlatType | null {
  switch (type) {
    case TarType.file:
    case TarType.oldFile:
    case TarType.contiguous:
      return "file";
    case TarType.directory:
      return "dir";
    case TarType.symlink:
      return "symlink";
    case TarType.hardlink:
      return "hardlink";
    case TarType.charDevice:
      return "char";
    case TarType.blockDevice:
      return "block";
    case TarType.fifo:
      return "fifo";
    default:
      return null;
  }
}

function markRemoved(node: FlatNode): void {
  node.removed = true;
  if (node.children) { for (const c of node.children.values()) markRemoved(c); }
}

/**
 * Removes from `dir` everything that a layer below `layer` put there and that is not
 * an ancestor of something `layer` put there. Returns whether anything of `layer` is
 * left below `dir`.
 */
function pruneLower(dir: FlatNode, layer: number): boolean {
  let any = false;
  for (const [name, child] of dir.children!) {
    const below = child.type === "dir" ? pruneLower(child, layer) : false;
    if (child.layer === layer || below) {
      any = true;
    } else {
      dir.children!.delete(name);
      markRemoved(child);
    }
  }
  return any;
}

/** Mutable state of {@link indexLayers}. */
class TreeBuilder {
  readonly root = dirNode("", -1);

  /** The directory node at `path` (created as needed, as layer `layer` parents). */
  parentDir(path: string, layer: number, entry: string): FlatNode {
    let node = this.root;
    if (path === "") return node;
    let sofar = "";
    for (const seg of path.split("/")) {
      sofar = sofar === "" ? seg : `${sofar}/${seg}`;
      let next = node.children!.get(seg);
      if (next === undefined) {
        next = dirNode(sofar, layer);
        node.children!.set(seg, next);
      } else if (next.type !== "dir") {
        const what = next.type === "symlink" ? "a symlink" : "not a directory";
        throw new PvrError(
          "UNSAFE_PATH",
          `layer entry ${JSON.stringify(entry)} lies below ${
            JSON.stringify(sofar)
          }, which is ${what}`,
          { path: entry },
        );
      }
      node = next;
    }
    return node;
  }

  lookup(path: string): FlatNode | undefined {
    if (path === "") return this.root;
    let node: FlatNode | undefined = this.root;
    for (const seg of path.split("/")) {
      node = node?.children?.get(seg);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** Removes `path` when a lower layer wrote it (whiteout). */
  whiteout(path: string, layer: number): void {
    const slash = path.lastIndexOf("/");
    const parentPath = slash < 0 ? "" : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const parent = this.lookup(parentPath);
    if (parent === undefined || parent.type !== "dir") return;
    const node = parent.children!.get(name);
    if (node === undefined) return;
    const keep = node.type === "dir" ? pruneLower(node, layer) : false;
    if (node.layer !== layer && !keep) {
      parent.children!.delete(name);
      markRemoved(node);
    }
  }

  /** Empties `path` of what lower layers put there (opaque directory). */
  opaque(path: string, layer: number, entry: string): void {
    const dir = this.lookup(path);
    if (dir === undefined) {
      this.parentDir(path, layer, entry);
      return;
    }
    if (dir.type !== "dir") return;
    pruneLower(dir, layer);
  }

  add(
    path: string,
    kind: FlatType,
    meta: Omit<FlatNode, "type" | "path" | "children" | "layer" | "target">,
    layer: number,
    linkTarget?: FlatNode,
  ): void {
    if (path === "") {
      if (kind !== "dir") {
        throw new PvrError("UNSAFE_PATH", "a layer replaces the root directory", { path: "." });
      }
      Object.assign(this.root, {
        mode: meta.mode,
        uid: meta.uid,
        gid: meta.gid,
        mtime: meta.mtime,
      });
      return;
    }
    const slash = path.lastIndexOf("/");
    const parent = this.parentDir(slash < 0 ? "" : path.slice(0, slash), layer, path);
    const name = path.slice(slash + 1);
    const old = parent.children!.get(name);
    if (old !== undefined && old.type === "dir" && kind === "dir") {
      // A directory over a directory merges: the children stay.
      Object.assign(old, { ...meta, layer });
      return;
    }
    if (old !== undefined) {
      parent.children!.delete(name);
      markRemoved(old);
    }
    const node: FlatNode = { ...meta, type: kind, layer, path };
    if (kind === "dir") node.children = new Map();
    if (linkTarget !== undefined) node.target = linkTarget;
    parent.children!.set(name, node);
  }
}

/** Options of {@link indexLayers}. */
export interface IndexLayersOptions {
  /** Called after each layer (`i` from 0). */
  onLayer?: (i: number) => void;
}

/**
 * Reads every layer once and returns the final tree of the image (see the module
 * documentation for the whiteout rules).
 *
 * Needs `--allow-read` for the layer files.
 *
 * @throws {PvrError} `UNSAFE_PATH` for absolute, `..` or symlink-parent entries;
 *   `BAD_ARCHIVE` for a damaged layer, an unknown entry type or a bad hardlink
 */
export async function indexLayers(
  layers: readonly LayerOpener[],
  opts: IndexLayersOptions = {},
): Promise<LayerIndex> {
  const tree = new TreeBuilder();
  for (let layer = 0; layer < layers.length; layer++) {
    const tar = new TarReader(await openLayerTar(layers[layer]));
    try {
      for (let ordinal = 0;; ordinal++) {
        const e = await tar.next();
        if (e === null) break;
        const path = normalizeEntryName(e.name);
        const slash = path.lastIndexOf("/");
        const base = path.slice(slash + 1);
        const dir = slash < 0 ? "" : path.slice(0, slash);
        if (base.startsWith(".wh.")) {
          if (base === ".wh..wh..opq") tree.opaque(dir, layer, e.name);
          else if (!base.startsWith(".wh..wh.")) {
            tree.whiteout(dir === "" ? base.slice(4) : `${dir}/${base.slice(4)}`, layer);
          }
          continue;
        }
        const kind = kindOf(e.type);
        if (kind === null) {
          throw new PvrError(
            "BAD_ARCHIVE",
            `layer ${layer}: entry ${JSON.stringify(e.name)} has unsupported type ${
              JSON.stringify(e.type)
            }`,
          );
        }
        const meta = {
          mode: e.mode & 0o7777,
          uid: e.uid,
          gid: e.gid,
          mtime: e.mtime,
          linkname: kind === "symlink" ? e.linkname : "",
          devmajor: e.devmajor,
          devminor: e.devminor,
          size: kind === "file" ? e.size : 0,
          ordinal,
          xattrs: e.xattrs,
        };
        if (kind === "hardlink") {
          const targetPath = normalizeEntryName(e.linkname);
          let target = tree.lookup(targetPath);
          if (target?.type === "hardlink") target = target.target;
          if (target === undefined || (target.type !== "file")) {
            throw new PvrError(
              "BAD_ARCHIVE",
              `layer ${layer}: hardlink ${JSON.stringify(e.name)} to ${
                JSON.stringify(e.linkname)
              }, which is not a regular file`,
            );
          }
          if (targetPath === path) continue;
          tree.add(
            path,
            kind,
            { ...meta, mode: target.mode, uid: target.uid, gid: target.gid, xattrs: target.xattrs },
            layer,
            target,
          );
          continue;
        }
        tree.add(path, kind, meta, layer);
      }
      await tar.drain();
    } catch (err) {
      await tar.cancel().catch(() => {});
      throw layerError(err, layer);
    }
    opts.onLayer?.(layer);
  }
  return { root: tree.root, layers: layers.length, count: countNodes(tree.root) };
}

function layerError(err: unknown, layer: number): unknown {
  if (err instanceof PvrError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof TarFormatError) {
    return new PvrError("BAD_ARCHIVE", `layer ${layer} is not a valid tar: ${msg}`, { cause: err });
  }
  return new PvrError("BAD_ARCHIVE", `layer ${layer} cannot be read: ${msg}`, { cause: err });
}

/** The structural directories a read-only container needs (spec §9.5 step 4). */
export const ESSENTIAL_DIRS = ["proc", "sys", "dev", "tmp", "var/tmp", "run", "var/run"] as const;

/** Files removed from every image (spec §9.5 step 3). */
export const STRIPPED_FILES = ["usr/bin/qemu-arm-static"] as const;

/**
 * Makes the tree ready for a read-only container: removes {@link STRIPPED_FILES} and
 * adds {@link ESSENTIAL_DIRS} (0755, root, time 0) where nothing is at that path. A
 * symlink on the way (e.g. `var/run -> ../run`) counts as present, as with `mkdir -p`.
 */
export function finishRootfs(index: LayerIndex): void {
  for (const f of STRIPPED_FILES) {
    const slash = f.lastIndexOf("/");
    const parent = lookupIn(index.root, f.slice(0, slash));
    const node = parent?.children?.get(f.slice(slash + 1));
    if (node !== undefined && node.type !== "dir") {
      parent!.children!.delete(f.slice(slash + 1));
      markRemoved(node);
    }
  }
  for (const d of ESSENTIAL_DIRS) {
    let node = index.root;
    let sofar = "";
    for (const seg of d.split("/")) {
      sofar = sofar === "" ? seg : `${sofar}/${seg}`;
      const next = node.children!.get(seg);
      if (next === undefined) {
        const made = dirNode(sofar, index.layers);
        node.children!.set(seg, made);
        node = made;
      } else if (next.type === "dir") {
        node = next;
      } else {
        break; // a symlink or a file: present, as far as `mkdir -p` is concerned
      }
    }
  }
  index.count = countNodes(index.root);
}

/** The newest modification time in the tree (root included), for SOURCE_DATE_EPOCH. */
export function latestMtime(index: LayerIndex): number {
  const walk = (dir: FlatNode): number => {
    let t = dir.mtime;
    for (const c of dir.children!.values()) {
      t = Math.max(t, c.type === "dir" ? walk(c) : c.mtime);
    }
    return t;
  };
  return Math.max(0, walk(index.root));
}

function countNodes(dir: FlatNode): number {
  let n = 0;
  for (const c of dir.children!.values()) n += 1 + (c.type === "dir" ? countNodes(c) : 0);
  return n;
}

function lookupIn(root: FlatNode, path: string): FlatNode | undefined {
  let node: FlatNode | undefined = root;
  if (path === "") return node;
  for (const seg of path.split("/")) {
    node = node?.children?.get(seg);
    if (node === undefined) return undefined;
  }
  return node;
}

// ---------------------------------------------------------------------------------
// Tar writer
// ---------------------------------------------------------------------------------

const enc = new TextEncoder();

function writeOctal(block: Uint8Array, off: number, len: number, value: number): boolean {
  const text = value.toString(8);
  if (text.length > len - 1) return false;
  block.set(enc.encode(text.padStart(len - 1, "0")), off);
  block[off + len - 1] = 0;
  return true;
}

/** Writes a header block's checksum (six octal digits, NUL, space). */
function setChecksum(block: Uint8Array): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i];
  block.set(enc.encode(sum.toString(8).padStart(6, "0")), 148);
  block[154] = 0;
  block[155] = 0x20;
}

/** One PAX record `<len> <key>=<value>\n`; the value may be bytes (extended attributes). */
function paxRecord(key: string, value: string | Uint8Array): Uint8Array {
  const head = enc.encode(` ${key}=`);
  const val = typeof value === "string" ? enc.encode(value) : value;
  const len = head.length + val.length + 1;
  let total = len + String(len).length;
  while (String(total).length + len !== total) total = String(total).length + len;
  return concatParts([enc.encode(String(total)), head, val, new Uint8Array([0x0a])]);
}

const TYPE_FLAG: Record<FlatType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

/** One tar header (with a PAX header before it when a field does not fit USTAR). */
export function entryHeader(
  name: string,
  node: Pick<FlatNode, "mode" | "uid" | "gid" | "mtime" | "devmajor" | "devminor" | "xattrs">,
  type: FlatType,
  size: number,
  linkname: string,
): Uint8Array {
  const block = new Uint8Array(512);
  const pax: Uint8Array[] = [];
  for (const name of Object.keys(node.xattrs ?? {}).sort()) {
    pax.push(paxRecord(`SCHILY.xattr.${name}`, node.xattrs![name]));
  }
  const nameBytes = enc.encode(name);
  if (nameBytes.length <= 100) {
    block.set(nameBytes, 0);
  } else {
    // Try the USTAR prefix split, else a PAX path.
    let split = -1;
    for (let i = nameBytes.length - 1; i > 0; i--) {
      if (nameBytes[i] === 0x2f && nameBytes.length - i - 1 <= 100 && i <= 155) {
        split = i;
        break;
      }
    }
    if (split > 0) {
      block.set(nameBytes.subarray(split + 1), 0);
      block.set(nameBytes.subarray(0, split), 345);
    } else {
      pax.push(paxRecord("path", name));
      block.set(nameBytes.subarray(0, 100), 0);
    }
  }
  writeOctal(block, 100, 8, node.mode & 0o7777);
  if (!writeOctal(block, 108, 8, node.uid)) pax.push(paxRecord("uid", String(node.uid)));
  if (!writeOctal(block, 116, 8, node.gid)) pax.push(paxRecord("gid", String(node.gid)));
  if (!writeOctal(block, 124, 12, size)) {
    pax.push(paxRecord("size", String(size)));
    writeOctal(block, 124, 12, 0);
  }
  if (node.mtime < 0 || !writeOctal(block, 136, 12, node.mtime)) {
    pax.push(paxRecord("mtime", String(node.mtime)));
    writeOctal(block, 136, 12, 0);
  }
  block[156] = TYPE_FLAG[type].charCodeAt(0);
  const linkBytes = enc.encode(linkname);
  if (linkBytes.length <= 100) block.set(linkBytes, 157);
  else pax.push(paxRecord("linkpath", linkname));
  block.set(enc.encode("ustar\0" + "00"), 257);
  writeOctal(block, 329, 8, node.devmajor);
  writeOctal(block, 337, 8, node.devminor);
  setChecksum(block);
  if (pax.length === 0) return block;
  const data = concatParts(pax);
  const paxHead = entryHeader(
    "PaxHeaders/" + (nameBytes.length > 80 ? "long" : name),
    { mode: 0o644, uid: 0, gid: 0, mtime: 0, devmajor: 0, devminor: 0 },
    "file",
    data.length,
    "",
  );
  paxHead[156] = 0x78; // 'x'
  setChecksum(paxHead); // for the changed type flag
  const pad = (512 - (data.length % 512)) % 512;
  const out = new Uint8Array(512 + data.length + pad + 512);
  out.set(paxHead, 0);
  out.set(data, 512);
  out.set(block, 512 + data.length + pad);
  return out;
}

/** The metadata the root directory should get (mksquashfs ignores a tar's `./`). */
export function rootAttributes(index: LayerIndex): {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
} {
  const r = index.root;
  return { mode: r.mode, uid: r.uid, gid: r.gid, mtime: r.mtime };
}

/**
 * Nodes wanting the data of layer entries: by layer index, then by the entry's ordinal
 * in that layer's tar ({@link FlatNode.ordinal}).
 */
export type WantedEntries = Map<number, FlatNode[]>[];

/** Adds `node` to those wanting entry `ordinal` of layer `layer`. */
export function wantEntry(
  wanted: WantedEntries,
  layer: number,
  ordinal: number,
  node: FlatNode,
): void {
  const m = wanted[layer];
  const list = m.get(ordinal);
  if (list === undefined) m.set(ordinal, [node]);
  else list.push(node);
}

/** One wanted entry met by {@link wantedEntries}. */
export interface WantedEntry {
  layer: number;
  entry: TarEntry;
  /** The nodes that want it, in the order they were added. */
  nodes: FlatNode[];
  /** The entry's body, to read (or not) before the next entry. */
  body: () => AsyncGenerator<Uint8Array>;
}

/**
 * Re-reads, in layer order, each layer that has wanted entries (stopping after its last
 * wanted one) and yields those entries in tar order. Consumes `wanted`.
 *
 * @throws {PvrError} `BAD_ARCHIVE` when a layer ends early or cannot be read again
 */
export async function* wantedEntries(
  layers: readonly LayerOpener[],
  wanted: WantedEntries,
): AsyncGenerator<WantedEntry> {
  for (let layer = 0; layer < layers.length; layer++) {
    const m = wanted[layer];
    if (m === undefined || m.size === 0) continue;
    const tar = new TarReader(await openLayerTar(layers[layer]));
    const body = async function* (): AsyncGenerator<Uint8Array> {
      const reader = tar.body().getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } catch (err) {
        throw layerError(err, layer);
      }
    };
    try {
      for (let ordinal = 0; m.size > 0; ordinal++) {
        let entry: TarEntry | null;
        try {
          entry = await tar.next();
        } catch (err) {
          throw layerError(err, layer);
        }
        if (entry === null) {
          throw new PvrError("BAD_ARCHIVE", `layer ${layer} changed while reading`);
        }
        const nodes = m.get(ordinal);
        if (nodes === undefined) continue;
        m.delete(ordinal);
        yield { layer, entry, nodes, body };
      }
    } finally {
      await tar.cancel().catch(() => {});
    }
  }
}

/**
 * The flattened tree as one tar stream (see the module documentation for the order).
 * Deterministic: the same layers give the same bytes. The layers are opened again, one
 * after the other.
 */
export function flattenedTar(
  index: LayerIndex,
  layers: readonly LayerOpener[],
): ReadableStream<Uint8Array> {
  return ReadableStream.from(flattenedChunks(index, layers));
}

async function* flattenedChunks(
  index: LayerIndex,
  layers: readonly LayerOpener[],
): AsyncGenerator<Uint8Array> {
  // Regular-file data wanted from each layer: ordinal -> nodes taking that data (first
  // one gets it, the others become hardlinks to it).
  const wanted: WantedEntries = layers.map(() => new Map());
  const links: FlatNode[] = [];
  const headerBatch: Uint8Array[] = [];
  let batched = 0;
  const walk = function* (dir: FlatNode): Generator<FlatNode> {
    const names = [...dir.children!.keys()].sort();
    for (const n of names) {
      const node = dir.children!.get(n)!;
      yield node;
      if (node.type === "dir") yield* walk(node);
    }
  };
  const dataHolder = new Map<FlatNode, FlatNode>();
  for (const node of walk(index.root)) {
    switch (node.type) {
      case "file": {
        wantEntry(wanted, node.layer, node.ordinal, node);
        break;
      }
      case "hardlink": {
        const t = node.target!;
        if (!t.removed) {
          links.push(node);
        } else if (!dataHolder.has(t)) {
          // The link outlived its target: it takes the data.
          dataHolder.set(t, node);
          wantEntry(wanted, t.layer, t.ordinal, node);
        } else {
          node.target = dataHolder.get(t);
          links.push(node);
        }
        break;
      }
      default: {
        const h = entryHeader(node.path, node, node.type, 0, node.linkname);
        headerBatch.push(h);
        batched += h.length;
        if (batched >= 1 << 16) {
          yield concatParts(headerBatch.splice(0));
          batched = 0;
        }
      }
    }
  }
  if (headerBatch.length > 0) yield concatParts(headerBatch.splice(0));
  for await (const { layer, entry, nodes, body } of wantedEntries(layers, wanted)) {
    const [first, ...others] = nodes;
    const src = first.type === "hardlink" ? first.target! : first;
    if (entry.size !== src.size) {
      throw new PvrError("BAD_ARCHIVE", `layer ${layer} changed while reading`);
    }
    yield entryHeader(first.path, src, "file", src.size, "");
    yield* body();
    const pad = (512 - (src.size % 512)) % 512;
    if (pad > 0) yield new Uint8Array(pad);
    for (const o of others) {
      yield entryHeader(o.path, src, "hardlink", 0, first.path);
    }
  }
  links.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const l of links) {
    const t = l.target!;
    const holder = t.removed ? dataHolder.get(t) ?? t : t;
    yield entryHeader(l.path, holder, "hardlink", 0, holder.path);
  }
  yield new Uint8Array(1024);
}

/** Options of {@link squashIndexed}. */
export interface SquashIndexedOptions {
  /** Where the squashfs goes (replaced atomically). */
  outPath: string;
  /** mksquashfs options (`format_options`, default `-comp xz`). */
  formatOptions?: string;
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /** Progress lines (`Generating squashfs file: …`). */
  onMessage?: (line: string) => void;
}

/**
 * Builds the squashfs of an indexed tree: finishes it as a container rootfs
 * ({@link finishRootfs}) and streams the flattened layers into mksquashfs, with the
 * root's attributes and the newest mtime as the build time (reproducible bytes).
 */
export async function squashIndexed(
  index: LayerIndex,
  layers: readonly LayerOpener[],
  opts: SquashIndexedOptions,
): Promise<{ digest: string; size: number; entries: number }> {
  finishRootfs(index);
  const res = await mksquashfsFromTar({
    tar: flattenedTar(index, layers),
    outPath: opts.outPath,
    formatOptions: opts.formatOptions,
    root: rootAttributes(index),
    sourceDateEpoch: latestMtime(index),
    pathEnv: opts.pathEnv,
    onCommand: (argv) => opts.onMessage?.(`Generating squashfs file: ${argv.join(" ")}`),
  });
  return { digest: res.digest, size: res.size, entries: index.count };
}

/** `parts` as one array (the part itself when there is one). */
function concatParts(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}
