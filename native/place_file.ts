/**
 * Puts a file at a new path the cheapest way the file system allows: a hardlink
 * (shares the inode), a reflink (shares the extents, copy-on-write) or a copy, falling
 * back to a copy when the faster way is not possible, and reporting what it did.
 *
 * Modelled on OSTree's checkout (hardlink, else copy). No object-store logic here:
 * verifying what was placed is the caller's job.
 *
 * @module
 */

import { reflinkFile } from "./ffi.ts";

/** How {@link placeFile} should place the file. */
export type PlaceStrategy = "hardlink" | "reflink" | "copy" | "auto";

/** How {@link placeFile} did place the file. */
export type PlaceMethod = "hardlink" | "reflink" | "copy";

/** Options of {@link placeFile}. */
export interface PlaceFileOptions {
  /**
   * Permission bits for `dst` when it is a reflink or a copy (default: those of `src`).
   * Never applied to a hardlink, where a chmod would change the shared inode.
   */
  mode?: number;
  /**
   * The `stat` of `src` when the caller has just taken it (saves taking it again). The
   * caller's stat is then also the check of Deno's read permission for `src`.
   */
  srcInfo?: Deno.FileInfo;
}

/** `link(2)` errors after which a copy is made instead. */
const LINK_FALLBACK = new Set(["EXDEV", "EPERM", "EMLINK", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Files up to this size are copied with the synchronous `Deno.copyFileSync`: an async op
 * costs more than the copy of a small file (measured on 10,000 × 4 KiB files: async
 * `Deno.copyFile` about 2× the time of `copyFileSync`, which is on par with `cp -r`).
 * Larger files use the async copy so a long copy does not block the event loop.
 */
const SYNC_COPY_MAX = 1 << 20;

/** Files up to this size are copied by a read and an exclusive-create write (see `copyChecked`). */
const SMALL_COPY_MAX = 64 * 1024;

/**
 * Creates `dst` with the content of `src` and returns the method used.
 *
 * - `"hardlink"`: a hard link; when the file system refuses (EXDEV across file systems,
 *   EPERM, EMLINK too many links, not supported) it copies and reports `"copy"`.
 * - `"reflink"`: a copy-on-write clone (FICLONE on Linux, `clonefile` on macOS, through
 *   {@link reflinkFile}); when not possible it copies and reports `"copy"`.
 * - `"auto"`: the same as `"reflink"` (a hardlink is never chosen implicitly, since it
 *   makes the two paths one file).
 * - `"copy"`: `Deno.copyFile` (in-kernel `copy_file_range` on Linux: measured as fast as
 *   `cp`, and faster than a streamed read/write copy).
 *
 * `dst` must not exist (`Deno.errors.AlreadyExists` otherwise): an existing `dst`
 * could be a hardlink to `src` or to a stored object, and writing through it would
 * change that file. Place to a temp name and rename it over the target.
 *
 * Metadata calls (stat, link) are synchronous: they are cheaper than an async op.
 *
 * Needs `--allow-read` for `src` and `dst`, `--allow-write` for `dst`; `--allow-ffi`
 * for reflinks (without it they become copies). Honours `PVR_NO_FFI=1`.
 *
 * @example
 * ```ts
 * const method = await placeFile("/home/me/.pvr/objects/ab12…", "/repo/.img.tmp", "auto");
 * await Deno.rename("/repo/.img.tmp", "/repo/img");
 * ```
 */
export async function placeFile(
  src: string,
  dst: string,
  strategy: PlaceStrategy,
  options: PlaceFileOptions = {},
): Promise<PlaceMethod> {
  switch (strategy) {
    case "hardlink":
      if (linkOrRefused(src, dst)) return "hardlink";
      return await copy(src, dst, options.mode, options.srcInfo);
    case "reflink":
    case "auto":
      return await reflinkOrCopy(src, dst, options.mode, options.srcInfo);
    case "copy":
      return await copy(src, dst, options.mode, options.srcInfo);
    default:
      throw new TypeError(`unknown place strategy: ${String(strategy)}`);
  }
}

/**
 * Makes `dst` a hard link to `src`. Returns false when the file system refuses one
 * (EXDEV across file systems, EPERM, EMLINK too many links, not supported): the caller
 * then copies. Any other error is thrown (e.g. `Deno.errors.AlreadyExists`).
 *
 * Needs `--allow-read` and `--allow-write` for both paths.
 */
export function linkOrRefused(src: string, dst: string): boolean {
  try {
    Deno.linkSync(src, dst);
    return true;
  } catch (err) {
    if (LINK_FALLBACK.has(errorCode(err))) return false;
    throw err;
  }
}

/**
 * Pairs of directories (`<src dir>\0<dst dir>`) between which a reflink failed in this
 * process: later files between them are copied without trying. A failed attempt is not
 * free: it creates `dst`, fails the clone and removes `dst`, and on a file system
 * without reflinks (ext4) creating the file is the expensive part of a small copy, so
 * trying for every file made a checkout of 10,000 small files about 2× slower. The
 * copy is always a correct result; only the method reported can differ from a retry.
 */
const noReflink = new Set<string>();

async function reflinkOrCopy(
  src: string,
  dst: string,
  mode?: number,
  srcInfo?: Deno.FileInfo,
): Promise<PlaceMethod> {
  // Deno's path permissions are checked here (or by the caller's stat): the FFI call
  // itself bypasses them.
  const info = srcInfo ?? Deno.statSync(src);
  const pair = `${dirOf(src)}\0${dirOf(dst)}`;
  if (info.isFile && !noReflink.has(pair) && mayWrite(dst)) {
    assertAbsent(dst);
    if (reflinkFile(src, dst)) {
      Deno.chmodSync(dst, mode ?? (info.mode ?? 0o644) & 0o7777);
      return "reflink";
    }
    noReflink.add(pair);
  }
  return await copyChecked(src, dst, info, mode);
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : path.slice(0, i);
}

async function copy(
  src: string,
  dst: string,
  mode?: number,
  srcInfo?: Deno.FileInfo,
): Promise<"copy"> {
  const info = srcInfo ?? Deno.statSync(src);
  return await copyChecked(src, dst, info, mode);
}

/** Copies `src` (whose stat is `info`) to `dst`, which must not exist. */
async function copyChecked(
  src: string,
  dst: string,
  info: Deno.FileInfo,
  mode?: number,
): Promise<"copy"> {
  if (info.isFile && info.size <= SMALL_COPY_MAX) {
    // A small file is read and written with an exclusive create (which also refuses an
    // existing dst): half the system calls of `copyFileSync`, which opens both files
    // twice (once to check they differ) and needs the separate absence check below.
    // The mode is set exactly by the write (an fchmod of the new file, whatever the umask).
    const data = Deno.readFileSync(src);
    Deno.writeFileSync(dst, data, {
      createNew: true,
      mode: mode ?? (info.mode ?? 0o644) & 0o7777,
    });
    return "copy";
  }
  assertAbsent(dst);
  if (info.size <= SYNC_COPY_MAX) Deno.copyFileSync(src, dst);
  else await Deno.copyFile(src, dst);
  if (mode !== undefined) Deno.chmodSync(dst, mode);
  return "copy";
}

function assertAbsent(path: string): void {
  try {
    Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  throw new Deno.errors.AlreadyExists(`File exists: '${path}'`);
}

function mayWrite(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "write", path }).state === "granted";
  } catch {
    return false;
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}
