/**
 * The overlay layer of an overlay app, `root.ovl.squashfs` (spec pvr-reference §9.5
 * step 5): what an image's flattened tree has that differs from a lower image's tree
 * (the one the lower `root.squashfs` was built from), for overlayfs to lay on top of
 * the lower squashfs.
 *
 * * A node only in the new tree is taken whole (a directory with everything in it).
 * * A node in both is taken when it differs: another type, mode, owner or group, a
 *   regular file's bytes (compared by SHA-256), a symlink's target, a device's numbers.
 *   Times are not compared. A directory in both is taken (with its own metadata) when
 *   anything below it is taken or its mode/owner differ.
 * * A node only in the lower tree becomes an overlayfs whiteout: a character device
 *   0/0 (mode 0, root) under the same name.
 *
 * Both trees are read from the images' layers (no `unsquashfs`, no extraction, no
 * root), after the same finishing as `root.squashfs` (qemu stripped, structural
 * directories added).
 *
 * @module
 */

import { createSha256 } from "../store/hash.ts";
import {
  finishRootfs,
  type FlatNode,
  flattenedTar,
  indexLayers,
  latestMtime,
  layerFile,
  type LayerIndex,
  type LayerOpener,
  rootAttributes,
  type WantedEntries,
  wantedEntries,
  wantEntry,
} from "./layers.ts";
import type { BuildRootfsOptions, ResolvedImage } from "./image.ts";
import { mksquashfsFromTar, requireMksquashfs } from "./squashfs.ts";

/** A tree read from an image: its index and how to reopen its layers. */
export interface ImageTree {
  index: LayerIndex;
  layers: readonly LayerOpener[];
}

/** Reads an image's layers into its finished tree (as `root.squashfs` holds it). */
export async function imageTree(layers: readonly LayerOpener[]): Promise<ImageTree> {
  const index = await indexLayers(layers);
  finishRootfs(index);
  return { index, layers };
}

/** What {@link overlayIndex} found. */
export interface OverlayIndex {
  /** The overlay tree, to write with `flattenedTar(index, upper.layers)`. */
  index: LayerIndex;
  /** Paths taken from the new tree (top of each taken subtree), sorted. */
  changed: string[];
  /** Paths whited out, sorted. */
  whiteouts: string[];
}

/** The regular file a node's bytes come from (a hardlink's target), or null. */
function dataNode(n: FlatNode): FlatNode | null {
  if (n.type === "file") return n;
  if (n.type === "hardlink" && n.target !== undefined) return n.target;
  return null;
}

function kindOf(n: FlatNode): string {
  return n.type === "hardlink" ? "file" : n.type;
}

/** Hashes the bodies of `nodes` (regular files of `tree`), by node. */
async function hashFiles(tree: ImageTree, nodes: Set<FlatNode>): Promise<Map<FlatNode, string>> {
  const out = new Map<FlatNode, string>();
  const wanted: WantedEntries = tree.layers.map(() => new Map());
  for (const n of nodes) {
    if (n.layer >= 0 && n.layer < wanted.length) wantEntry(wanted, n.layer, n.ordinal, n);
  }
  for await (const { nodes: list, body } of wantedEntries(tree.layers, wanted)) {
    const h = createSha256();
    for await (const chunk of body()) h.update(chunk);
    const sha = h.digest();
    for (const n of list) out.set(n, sha);
  }
  return out;
}

function sameMeta(a: FlatNode, b: FlatNode): boolean {
  return (a.mode & 0o7777) === (b.mode & 0o7777) && a.uid === b.uid && a.gid === b.gid;
}

function whiteoutNode(path: string): FlatNode {
  return {
    type: "char",
    mode: 0,
    uid: 0,
    gid: 0,
    mtime: 0,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    size: 0,
    layer: -1,
    ordinal: -1,
    path,
  };
}

/**
 * The overlay of `upper` over `lower` (see the module doc). File contents are hashed
 * only where two regular files of the same size meet.
 *
 * @throws {PvrError} `BAD_ARCHIVE` when a layer cannot be read again
 */
export async function overlayIndex(upper: ImageTree, lower: ImageTree): Promise<OverlayIndex> {
  // Pass 1: regular files present in both with equal size and metadata need their bytes.
  const upFiles = new Set<FlatNode>();
  const lowFiles = new Set<FlatNode>();
  const pairs = (u: FlatNode, l: FlatNode) => {
    for (const [name, uc] of u.children!) {
      const lc = l.children!.get(name);
      if (lc === undefined) continue;
      if (uc.type === "dir" && lc.type === "dir") {
        pairs(uc, lc);
        continue;
      }
      const ud = dataNode(uc);
      const ld = dataNode(lc);
      if (ud !== null && ld !== null && ud.size === ld.size && sameMeta(uc, lc)) {
        upFiles.add(ud);
        lowFiles.add(ld);
      }
    }
  };
  pairs(upper.index.root, lower.index.root);
  const upSha = await hashFiles(upper, upFiles);
  const lowSha = await hashFiles(lower, lowFiles);

  const same = (u: FlatNode, l: FlatNode): boolean => {
    if (kindOf(u) !== kindOf(l) || !sameMeta(u, l)) return false;
    switch (kindOf(u)) {
      case "file": {
        const ud = dataNode(u)!;
        const ld = dataNode(l)!;
        return ud.size === ld.size && upSha.get(ud) !== undefined &&
          upSha.get(ud) === lowSha.get(ld);
      }
      case "symlink":
        return u.linkname === l.linkname;
      case "char":
      case "block":
        return u.devmajor === l.devmajor && u.devminor === l.devminor;
      default:
        return true;
    }
  };

  const changed: string[] = [];
  const whiteouts: string[] = [];
  const diff = (u: FlatNode, l: FlatNode, out: FlatNode): boolean => {
    let any = false;
    for (const name of [...u.children!.keys()].sort()) {
      const uc = u.children!.get(name)!;
      const lc = l.children!.get(name);
      if (lc !== undefined && uc.type === "dir" && lc.type === "dir") {
        const sub: FlatNode = { ...uc, children: new Map() };
        if (diff(uc, lc, sub) || !sameMeta(uc, lc)) {
          out.children!.set(name, sub);
          any = true;
        }
        continue;
      }
      if (lc !== undefined && same(uc, lc)) continue;
      out.children!.set(name, uc); // the whole node (subtree) of the new tree
      changed.push(uc.path);
      any = true;
    }
    for (const name of [...l.children!.keys()].sort()) {
      if (u.children!.has(name)) continue;
      const path = l.children!.get(name)!.path;
      out.children!.set(name, whiteoutNode(path));
      whiteouts.push(path);
      any = true;
    }
    return any;
  };
  const root: FlatNode = { ...upper.index.root, children: new Map() };
  diff(upper.index.root, lower.index.root, root);
  fixHardlinks(root);
  return {
    index: { root, layers: upper.index.layers, count: countNodes(root) },
    changed: changed.sort(),
    whiteouts: whiteouts.sort(),
  };
}

/**
 * A taken hardlink whose target was not taken becomes a regular file with the
 * target's data (the tar writer links any further ones to it).
 */
function fixHardlinks(root: FlatNode): void {
  const taken = new Set<FlatNode>();
  const walk = (dir: FlatNode, fn: (n: FlatNode, parent: FlatNode, name: string) => void) => {
    for (const [name, n] of dir.children!) {
      fn(n, dir, name);
      if (n.type === "dir") walk(n, fn);
    }
  };
  walk(root, (n) => {
    if (n.type === "file") taken.add(n);
  });
  walk(root, (n, parent, name) => {
    if (n.type !== "hardlink" || n.target === undefined) return;
    if (taken.has(n.target) && !n.target.removed) return;
    parent.children!.set(name, {
      ...n.target,
      type: "file",
      path: n.path,
      children: undefined,
      target: undefined,
      removed: undefined,
    });
  });
}

function countNodes(dir: FlatNode): number {
  let n = 0;
  for (const c of dir.children!.values()) n += 1 + (c.type === "dir" ? countNodes(c) : 0);
  return n;
}

/** Result of {@link buildOverlaySquashfs}. */
export interface OverlaySquashfsResult {
  /** `sha256:<hex>` of the squashfs. */
  digest: string;
  /** Its size in bytes. */
  size: number;
  /** Paths taken from the new image (tops of taken subtrees). */
  changed: string[];
  /** Paths whited out. */
  whiteouts: string[];
}

/**
 * Builds `outPath` (`root.ovl.squashfs`) holding what `upper` changes over `lower`
 * (see the module doc): both images' layers are fetched (or found in the cache) and
 * read, nothing is extracted.
 *
 * Needs `--allow-run` (mksquashfs), `--allow-read`/`--allow-write`, `--allow-net` for
 * registry images, `--allow-env`.
 *
 * @throws {PvrError} `MISSING_TOOL`, layer and download errors, `FAILED`
 */
export async function buildOverlaySquashfs(
  upper: ResolvedImage,
  lower: ResolvedImage,
  outPath: string,
  opts: BuildRootfsOptions = {},
): Promise<OverlaySquashfsResult> {
  await requireMksquashfs(opts.pathEnv);
  const fetch = async (img: ResolvedImage) =>
    (await img.fetchLayers((i, cached) =>
      opts.onMessage?.(`Layer ${i} downloaded${cached ? "(cache)" : ""}`)
    )).map(layerFile);
  const lowerTree = await imageTree(await fetch(lower));
  const upperTree = await imageTree(await fetch(upper));
  opts.onMessage?.("Computing the overlay against the base image");
  const ovl = await overlayIndex(upperTree, lowerTree);
  const res = await mksquashfsFromTar({
    tar: flattenedTar(ovl.index, upperTree.layers),
    outPath,
    formatOptions: opts.formatOptions,
    root: rootAttributes(ovl.index),
    sourceDateEpoch: latestMtime(ovl.index),
    pathEnv: opts.pathEnv,
    onCommand: (argv) => opts.onMessage?.(`Generating squashfs file: ${argv.join(" ")}`),
  });
  return { digest: res.digest, size: res.size, changed: ovl.changed, whiteouts: ovl.whiteouts };
}
