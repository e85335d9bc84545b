/**
 * `root.squashfs` of a rootfs app (spec pvr-reference §9.3 "rootfs type", §9.5): from a
 * local directory, a local tarball (`.tar`, `.tar.gz`, `.tgz`; plain, gzip or zstd,
 * sniffed from the content) or an `http(s)` URL of a tarball.
 *
 * Nothing is extracted: a tarball is read like a one-layer image (`layers.ts`), a
 * directory is walked into the same kind of tar stream, and `mksquashfs -tar` builds
 * the file system (reproducible, no root needed, see `squashfs.ts`). As for images,
 * `usr/bin/qemu-arm-static` is dropped and the structural directories are added (§9.5
 * steps 3–4).
 *
 * Safety: tar entries that are absolute, contain `..`, or lie below a symlink, and
 * hardlinks whose target is not an earlier regular file of the archive, are refused
 * (`UNSAFE_PATH`/`BAD_ARCHIVE`); a symlink's target is stored as it is, never followed.
 * A directory is walked without following symlinks.
 *
 * Owners: files of the user running pvr are stored as root (uid/gid 0), like the Go pvr
 * under fakeroot; other owners are kept.
 *
 * A URL is downloaded to one temp FILE (its length checked against `Content-Length`),
 * read as a tarball and removed (the Go pvr squashed the whole temp directory, §13.3
 * item 18).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { HttpClient, redactUrl } from "../remote/http.ts";
import {
  entryHeader,
  type FlatType,
  indexLayers,
  layerFile,
  type LayerOpener,
  squashIndexed,
} from "./layers.ts";
import { requireMksquashfs } from "./squashfs.ts";

/** Options of {@link buildRootfsSquashfs}. */
export interface BuildRootfsSquashfsOptions {
  /** `--from`: a directory, a tarball, or an `http(s)` URL of a tarball. */
  from: string;
  /** Relative local paths are taken from here (the CLI: the cwd). */
  baseDir: string;
  /** Where the squashfs goes (replaced atomically). */
  outPath: string;
  /** mksquashfs options (`format_options`, default `-comp xz`). */
  formatOptions?: string;
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /** HTTP client for URLs (default a new one). */
  http?: HttpClient;
  /** Progress lines (`Downloading file: …`, `Generating squashfs file: …`). */
  onMessage?: (line: string) => void;
}

/** Result of {@link buildRootfsSquashfs}. */
export interface RootfsSquashfsResult {
  /** `sha256:<hex>` of the squashfs. */
  digest: string;
  /** Its size in bytes. */
  size: number;
  /** Entries in the file system (root excluded). */
  entries: number;
}

/** True when `from` is an `http:` or `https:` URL. */
export function isRootfsUrl(from: string): boolean {
  return /^https?:\/\//i.test(from);
}

/**
 * Builds `outPath` from a rootfs source. mksquashfs is looked for first, so a missing
 * one fails before any download.
 *
 * Needs `--allow-read`, `--allow-write`, `--allow-run` (mksquashfs), `--allow-env`,
 * `--allow-net` for URLs.
 *
 * @throws {PvrError} `BAD_REFERENCE` when the source does not exist; `REMOTE` for a
 *   failed or short download; `BAD_ARCHIVE`/`UNSAFE_PATH` for a bad tarball;
 *   `BAD_WORKTREE` when a directory changes while it is read; `MISSING_TOOL`; `FAILED`
 * @example
 * ```ts
 * const r = await buildRootfsSquashfs({ from: "rootfs.tgz", baseDir: ".", outPath: "app/root.squashfs" });
 * r.digest; // "sha256:…"
 * ```
 */
export async function buildRootfsSquashfs(
  opts: BuildRootfsSquashfsOptions,
): Promise<RootfsSquashfsResult> {
  await requireMksquashfs(opts.pathEnv);
  if (isRootfsUrl(opts.from)) {
    const tmp = await downloadToTempFile(opts.from, opts.http, opts.onMessage);
    try {
      return await squashLayer(layerFile(tmp), opts);
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }
  const path = opts.from.startsWith("/") ? opts.from : `${opts.baseDir}/${opts.from}`;
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new PvrError("BAD_REFERENCE", `rootfs source ${opts.from} does not exist`, { path });
    }
    throw err;
  }
  if (st.isDirectory) return await squashLayer(() => Promise.resolve(directoryTar(path)), opts);
  if (!st.isFile) {
    throw new PvrError("BAD_REFERENCE", `rootfs source ${opts.from} is not a file or directory`);
  }
  return await squashLayer(layerFile(path), opts);
}

async function squashLayer(
  layer: LayerOpener,
  opts: BuildRootfsSquashfsOptions,
): Promise<RootfsSquashfsResult> {
  const index = await indexLayers([layer]);
  return await squashIndexed(index, [layer], opts);
}

/**
 * Downloads `url` to a new temp file and returns its path. The answer must be 200, and
 * its length must equal `Content-Length` when the server sends one.
 *
 * @throws {PvrError} `REMOTE`
 */
export async function downloadToTempFile(
  url: string,
  http: HttpClient = new HttpClient(),
  onMessage?: (line: string) => void,
): Promise<string> {
  const shown = redactUrl(url);
  onMessage?.(`Downloading file: ${shown}`);
  const res = await http.request({ method: "GET", url });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new PvrError("REMOTE", `GET ${shown}: HTTP ${res.status}`);
  }
  const lengthText = res.headers.get("Content-Length");
  const expected = lengthText !== null && /^\d+$/.test(lengthText) ? Number(lengthText) : null;
  const tmp = await Deno.makeTempFile({ prefix: "pvr-rootfs-", suffix: ".download" });
  let got = 0;
  try {
    const f = await Deno.open(tmp, { write: true, truncate: true });
    try {
      if (res.body !== null) {
        for await (const chunk of res.body) {
          got += chunk.length;
          let off = 0;
          while (off < chunk.length) off += await f.write(chunk.subarray(off));
        }
      }
    } finally {
      f.close();
    }
    if (expected !== null && got !== expected) {
      throw new PvrError(
        "REMOTE",
        `GET ${shown}: got ${got} bytes, Content-Length says ${expected}`,
      );
    }
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof PvrError) throw err;
    throw new PvrError("REMOTE", `GET ${shown}: download failed: ${String(err)}`, { cause: err });
  }
  return tmp;
}

// ---------------------------------------------------------------------------------
// A directory as a tar stream
// ---------------------------------------------------------------------------------

/**
 * The directory as a tar stream, entries in sorted order (deterministic), symlinks not
 * followed, hardlinked files (same device and inode) as tar hardlinks, sockets left out.
 */
export function directoryTar(root: string): ReadableStream<Uint8Array> {
  return ReadableStream.from(directoryChunks(root));
}

function ownerOf(id: number | null, own: number | null): number {
  if (id === null) return 0;
  return id === own ? 0 : id;
}

function devOf(rdev: number | null): { devmajor: number; devminor: number } {
  const r = rdev ?? 0;
  // Linux `dev_t`: major in bits 8–19 and 32–43, minor in bits 0–7 and 20–31.
  const hi = Math.floor(r / 2 ** 32);
  const lo = r >>> 0;
  return {
    devmajor: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0),
    devminor: (lo & 0xff) | ((lo >>> 12) & 0xfff00),
  };
}

async function* directoryChunks(root: string): AsyncGenerator<Uint8Array> {
  const uid = Deno.uid();
  const gid = Deno.gid();
  const links = new Map<string, string>(); // "dev:ino" -> first path
  const meta = (st: Deno.FileInfo) => ({
    mode: (st.mode ?? 0o644) & 0o7777,
    uid: ownerOf(st.uid, uid),
    gid: ownerOf(st.gid, gid),
    mtime: st.mtime === null ? 0 : Math.floor(st.mtime.getTime() / 1000),
    devmajor: 0,
    devminor: 0,
  });
  const rootSt = await Deno.stat(root);
  yield entryHeader("./", meta(rootSt), "dir", 0, "");
  const walk = async function* (rel: string): AsyncGenerator<Uint8Array> {
    const dir = rel === "" ? root : `${root}/${rel}`;
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const full = `${root}/${path}`;
      const st = await Deno.lstat(full);
      const m = meta(st);
      let type: FlatType;
      if (st.isDirectory) {
        yield entryHeader(path, m, "dir", 0, "");
        yield* walk(path);
        continue;
      } else if (st.isSymlink) {
        yield entryHeader(path, m, "symlink", 0, await Deno.readLink(full));
        continue;
      } else if (st.isFile) {
        if ((st.nlink ?? 1) > 1 && st.ino !== null) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            yield entryHeader(path, m, "hardlink", 0, first);
            continue;
          }
          links.set(key, path);
        }
        yield entryHeader(path, m, "file", st.size, "");
        yield* fileBody(full, st.size);
        continue;
      } else if (st.isCharDevice) {
        type = "char";
      } else if (st.isBlockDevice) {
        type = "block";
      } else if (st.isFifo) {
        type = "fifo";
      } else {
        continue; // a socket: nothing a file system image can hold
      }
      yield entryHeader(path, { ...m, ...devOf(st.rdev) }, type, 0, "");
    }
  };
  yield* walk("");
  yield new Uint8Array(1024);
}

async function* fileBody(path: string, size: number): AsyncGenerator<Uint8Array> {
  const f = await Deno.open(path, { read: true });
  let got = 0;
  try {
    for await (const chunk of f.readable) {
      got += chunk.length;
      if (got > size) break;
      yield chunk;
    }
  } catch (err) {
    throw new PvrError("BAD_WORKTREE", `${path} cannot be read: ${String(err)}`, { cause: err });
  }
  if (got !== size) {
    throw new PvrError("BAD_WORKTREE", `${path} changed while it was read`, { path });
  }
  const pad = (512 - (size % 512)) % 512;
  if (pad > 0) yield new Uint8Array(pad);
}
