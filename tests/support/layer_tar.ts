/** Builds image layer tars for tests (entries written in the given order). */

import { entryHeader, type FlatType } from "../../core/app/layers.ts";

/** One entry of {@link tarOf}. */
export interface LayerEntry {
  name: string;
  /** Default: `dir` for names ending in `/`, else `file`. */
  type?: FlatType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  data?: string | Uint8Array;
  /** Link target (symlinks and hardlinks). */
  link?: string;
  major?: number;
  minor?: number;
  /** Extended attributes (written as PAX `SCHILY.xattr.*` records). */
  xattrs?: Record<string, Uint8Array>;
}

const enc = new TextEncoder();

/** A tar (with its end marker) of `entries`, in order; mtime 1700000000 by default. */
export function tarOf(entries: LayerEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.name.endsWith("/") ? "dir" : "file");
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array();
    const size = type === "file" ? data.length : 0;
    parts.push(entryHeader(
      e.name,
      {
        mode: e.mode ?? (type === "dir" ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? 1_700_000_000,
        devmajor: e.major ?? 0,
        devminor: e.minor ?? 0,
        xattrs: e.xattrs,
      },
      type,
      size,
      e.link ?? "",
    ));
    if (size > 0) {
      parts.push(data);
      parts.push(new Uint8Array((512 - (size % 512)) % 512));
    }
  }
  parts.push(new Uint8Array(1024));
  return concatBytes(parts);
}

/** The concatenation of `parts`. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
