/**
 * Durability helpers where Deno has no single API: fsync of a directory (so that a
 * rename or a new name survives a crash), an atomic file write, and a rename made
 * durable.
 *
 * The Go pvr never fsyncs and uses fixed temp names (`json.new`, `<sha>.new`) that two
 * processes can clobber (spec §13.1 item 6); these helpers use a unique temp name
 * beside the target and fsync before and after the rename.
 *
 * @module
 */

import { syncFileSystem } from "./ffi.ts";

/** Error codes meaning "this file system or OS cannot fsync a directory". */
const DIR_SYNC_UNSUPPORTED = new Set(["EINVAL", "EISDIR", "ENOTSUP", "EOPNOTSUPP", "EBADF"]);

/**
 * Flushes a directory's entries (new names, renames, removals) to stable storage.
 *
 * Opens the directory read-only and calls `sync()`. Errors that mean "not supported
 * here" (EINVAL, EISDIR, ENOTSUP/EOPNOTSUPP, EBADF, and every error on Windows, where
 * a directory cannot be opened as a file) are ignored; any other error (e.g. the
 * directory does not exist) is thrown.
 *
 * Needs `--allow-read` for `path`.
 *
 * @example
 * ```ts
 * await Deno.rename("/repo/.pvr/json.tmp", "/repo/.pvr/json");
 * await fsyncDir("/repo/.pvr");
 * ```
 */
export async function fsyncDir(path: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  let dir: Deno.FsFile;
  try {
    dir = await Deno.open(path, { read: true });
  } catch (err) {
    if (isUnsupported(err)) return;
    throw err;
  }
  try {
    await dir.sync();
  } catch (err) {
    if (!isUnsupported(err)) throw err;
  } finally {
    dir.close();
  }
}

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the final file, set exactly (not masked by the umask). Default 0o644. */
  mode?: number;
  /** Fsync the file before the rename and its directory after it. Default true. */
  fsync?: boolean;
  /**
   * Called once the temp file is written, with its mtime (ms): bytes it returns replace
   * the content before the rename (for content that depends on when it was written).
   */
  revise?: (mtimeMs: number) => Uint8Array | null;
}

/**
 * Replaces `path` atomically with `data`: writes a unique temp file beside it
 * (`.<name>.<pid>.<random>.tmp`), fsyncs it, renames it over `path` and fsyncs the
 * directory. Readers see the old content or the new one, never a mix; a crash leaves
 * at most the temp file. On any error the temp file is removed.
 *
 * Needs `--allow-read` and `--allow-write` for the directory of `path`.
 *
 * @example
 * ```ts
 * await writeFileAtomic("/repo/.pvr/json", '{"#spec":"pantavisor-service-system@1"}');
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: WriteFileAtomicOptions = {},
): Promise<void> {
  const { mode = 0o644, fsync = true } = opts;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const { dir, base } = splitPath(path);
  const tmp = `${dir}/${tempName(base)}`;
  let renamed = false;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      await writeAll(file, bytes);
      if (opts.revise) {
        const again = opts.revise((await file.stat()).mtime?.getTime() ?? Date.now());
        if (again !== null) {
          await file.truncate(0);
          await file.seek(0, Deno.SeekMode.Start);
          await writeAll(file, again);
        }
      }
      await Deno.chmod(tmp, mode);
      if (fsync) await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
    renamed = true;
    if (fsync) await fsyncDir(dir);
  } finally {
    if (!renamed) await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Renames `from` to `to` (replacing `to` atomically when it exists) and fsyncs the
 * directory of `to`, and the directory of `from` when it is another one.
 *
 * Needs `--allow-read` and `--allow-write` for both paths.
 *
 * @example
 * ```ts
 * await renameDurable("/repo/.pvr/config.tmp", "/repo/.pvr/config");
 * ```
 */
export async function renameDurable(from: string, to: string): Promise<void> {
  await Deno.rename(from, to);
  const toDir = splitPath(to).dir;
  const fromDir = splitPath(from).dir;
  await fsyncDir(toDir);
  if (fromDir !== toDir) await fsyncDir(fromDir);
}

/**
 * A temp file name unique across processes and calls: `.<base>.<pid>.<random>.tmp`.
 * The leading dot hides it; the `.tmp` suffix lets sweepers find it.
 *
 * Needs no permissions.
 */
export function tempName(base: string): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  let hex = "";
  for (const b of random) hex += b.toString(16).padStart(2, "0");
  return `.${base}.${Deno.pid}.${hex}.tmp`;
}

/**
 * Writes all of `bytes` to `file` — a file or a connection (a single `write` may write
 * fewer bytes), calling `onWrite` after each write.
 *
 * Needs no permissions beyond those used to open `file`.
 */
export async function writeAll(
  file: Pick<Deno.FsFile, "write">,
  bytes: Uint8Array,
  onWrite?: () => void,
): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    off += await file.write(bytes.subarray(off));
    onWrite?.();
  }
}

/**
 * Writes all of `bytes` to `file` with synchronous writes (for small chunks, where an
 * async op costs more than the write).
 *
 * Needs no permissions beyond those used to open `file`.
 */
export function writeAllSync(file: Pick<Deno.FsFile, "writeSync">, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

function splitPath(path: string): { dir: string; base: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return { dir: ".", base: trimmed };
  return { dir: i === 0 ? "/" : trimmed.slice(0, i), base: trimmed.slice(i + 1) };
}

function isUnsupported(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && DIR_SYNC_UNSUPPORTED.has(code);
}

/**
 * Makes files written earlier (and their directory entries) durable: one `syncfs` of
 * the file system holding `root` when FFI allows it, else an fsync of each file in
 * `files` (a few at a time) and of each directory in `dirs`.
 *
 * Needs `--allow-read` for the paths; `--allow-ffi` for the fast path.
 */
export async function syncPaths(root: string, files: string[], dirs: string[]): Promise<void> {
  if (files.length === 0 && dirs.length === 0) return;
  if (syncFileSystem(root)) return;
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
      try {
        const file = await Deno.open(f, { read: true });
        try {
          await file.sync();
        } finally {
          file.close();
        }
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  for (const d of dirs) await fsyncDir(d);
}
