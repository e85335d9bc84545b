/**
 * Optional libc calls through Deno FFI, for what Deno has no API for: cloning a file's
 * extents (a "reflink": FICLONE on Linux, `clonefile` on macOS), `syncfs`, and a rename
 * that never replaces its target (`renameat2` with `RENAME_NOREPLACE`, Linux). It is also
 * the one loader of libc: native/walk_stat.ts opens its own few `statx` symbols through
 * {@link openLinuxLibc}, by the same rules.
 *
 * The library is opened lazily on the first call, with only the few symbols used, and
 * the outcome is cached. Anything that goes wrong while loading means "not available"
 * and callers fall back to a plain copy; it is never a crash:
 *
 * - `PVR_NO_FFI=1` in the environment turns FFI off (checked on every call);
 * - without `--allow-ffi` (or with a permission that would have to be prompted for) it
 *   is off, and no prompt is shown;
 * - a missing or odd libc, or an OS other than Linux and macOS, turns it off.
 *
 * @module
 */

/** `ioctl` request FICLONE = _IOW(0x94, 9, int): clone all of a file's extents. */
const FICLONE = 0x40049409n;

// open(2) flags, identical on Linux x86_64 and aarch64 (the generic ABI).
const O_RDONLY = 0;
const O_WRONLY = 0o1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_CLOEXEC = 0o2000000;

const LINUX_SYMBOLS = {
  // int open(const char *path, int flags, ... /* mode_t mode */)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, ... /* int src_fd */)
  ioctl: { parameters: ["i32", "u64", "i32"], result: "i32" },
  // int syncfs(int fd)
  syncfs: { parameters: ["i32"], result: "i32" },
  // int renameat2(int olddirfd, const char *old, int newdirfd, const char *new, unsigned flags)
  // (glibc 2.28 and later; optional: an older libc still gives the other calls)
  renameat2: {
    parameters: ["i32", "buffer", "i32", "buffer", "u32"],
    result: "i32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols loaded on Linux (see {@link linuxLibc}). */
export type LinuxLibc = Deno.DynamicLibrary<typeof LINUX_SYMBOLS>["symbols"];

/** `AT_FDCWD`: relative paths of the `*at` calls are relative to the working directory. */
const AT_FDCWD = -100;
/** `renameat2` flag: fail with EEXIST instead of replacing the target. */
const RENAME_NOREPLACE = 1;

const DARWIN_SYMBOLS = {
  // int clonefile(const char *src, const char *dst, uint32_t flags)
  clonefile: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  // void sync(void)
  sync: { parameters: [], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc =
  | { os: "linux"; fn: LinuxLibc }
  | { os: "darwin"; fn: Deno.DynamicLibrary<typeof DARWIN_SYMBOLS>["symbols"] };

/** undefined: not tried yet; null: tried and not available. */
let cached: Libc | null | undefined;
let unavailableReason = "";

/**
 * True when the libc fast paths can be used in this process: FFI is allowed, not
 * turned off by `PVR_NO_FFI=1`, and libc loaded. Loads libc on the first call.
 *
 * Needs `--allow-ffi` (without it the answer is false); reads `PVR_NO_FFI` when
 * `--allow-env` allows it.
 *
 * @example
 * ```ts
 * if (!ffiAvailable()) console.error(`no reflink: ${ffiUnavailableReason()}`);
 * ```
 */
export function ffiAvailable(): boolean {
  return libc() !== null;
}

/**
 * Why {@link ffiAvailable} is false (empty when it is true or was not asked yet).
 *
 * Needs no permissions.
 */
export function ffiUnavailableReason(): string {
  if (ffiDisabledByEnv()) return "PVR_NO_FFI=1";
  return cached === null ? unavailableReason : "";
}

/**
 * Clones `src` to a new file `dst` sharing the same extents (copy-on-write), when the
 * file system supports it (btrfs, XFS with reflink, bcachefs, APFS, ...).
 *
 * `dst` must not exist; it is created (mode 0o666 minus the umask on Linux; the mode of
 * `src` on macOS). Returns true when the clone succeeded. Returns false, leaving no
 * `dst` behind that it created, when cloning is not possible for any reason: not
 * supported by the file system (EOPNOTSUPP), files on different file systems (EXDEV),
 * EINVAL, FFI not available, `dst` already existing, `src` unreadable, ... Callers fall
 * back to a copy, which reports the real error if there is one.
 *
 * Synchronous: a clone is a metadata operation.
 *
 * Needs `--allow-ffi` (false without it), and read access to `src` and write access to
 * the directory of `dst` at the OS level (FFI bypasses Deno's path permissions).
 *
 * @example
 * ```ts
 * if (!reflinkFile("/objs/ab12…", "/repo/.rootfs.img.tmp")) {
 *   await Deno.copyFile("/objs/ab12…", "/repo/.rootfs.img.tmp");
 * }
 * ```
 */
export function reflinkFile(src: string, dst: string): boolean {
  const lib = libc();
  if (lib === null) return false;
  const srcC = cString(src);
  const dstC = cString(dst);
  if (srcC === null || dstC === null) return false;
  try {
    if (lib.os === "darwin") return lib.fn.clonefile(srcC, dstC, 0) === 0;
    return ficlone(lib.fn, srcC, dstC, dst);
  } catch {
    return false;
  }
}

/**
 * Flushes every dirty file of the file system that holds `path` to stable storage in
 * one call (`syncfs(2)` on Linux; `sync(2)` on macOS). One call instead of an fsync per
 * file is what lets a checkout of thousands of files be durable and fast.
 *
 * Returns false (nothing done) when FFI is not available or the call failed; callers
 * then fsync the files they wrote one by one.
 *
 * Needs `--allow-ffi` (false without it).
 */
export function syncFileSystem(path: string): boolean {
  const lib = libc();
  if (lib === null) return false;
  try {
    if (lib.os === "darwin") {
      lib.fn.sync();
      return true;
    }
    const pathC = cString(path);
    if (pathC === null) return false;
    const fd = lib.fn.open(pathC, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return false;
    try {
      return lib.fn.syncfs(fd) === 0;
    } finally {
      lib.fn.close(fd);
    }
  } catch {
    return false;
  }
}

/**
 * Renames `from` to `to` unless `to` exists — one atomic step (`renameat2` with
 * `RENAME_NOREPLACE`, Linux). Returns true when renamed, false when the call failed
 * (`to` exists, or any other error: the caller looks), and null when the call is not
 * available here (no FFI, another OS, an old libc, or a file system that does not
 * support the flag): the caller then checks and renames by itself.
 *
 * Deno's path permissions do not apply to FFI calls: the caller must hold
 * `--allow-write` for both paths (and check it). Needs `--allow-ffi`.
 *
 * @example
 * ```ts
 * if (renameNoReplace("/s/.pvr/tmp/import-1/ab12…", "/s/objects/ab12…") === null) {
 *   // check for the target, then Deno.renameSync
 * }
 * ```
 */
export function renameNoReplace(from: string, to: string): boolean | null {
  const lib = libc();
  if (lib === null || lib.os !== "linux" || lib.fn.renameat2 === null) return null;
  if (renameNoReplaceUnsupported) return null;
  const fromC = cString(from);
  const toC = cString(to);
  if (fromC === null || toC === null) return null;
  try {
    if (lib.fn.renameat2(AT_FDCWD, fromC, AT_FDCWD, toC, RENAME_NOREPLACE) === 0) return true;
  } catch {
    return null;
  }
  // The target is absent and the source present, yet the call failed: EINVAL from a
  // file system without the flag, or EXDEV, EACCES, ... Not tried again in this process:
  // the caller's own path handles (and reports) every case.
  if (!exists(to) && exists(from)) {
    renameNoReplaceUnsupported = true;
    return null;
  }
  return false;
}

let renameNoReplaceUnsupported = false;

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function ficlone(
  fn: LinuxLibc,
  srcC: Uint8Array<ArrayBuffer>,
  dstC: Uint8Array<ArrayBuffer>,
  dst: string,
): boolean {
  const srcFd = fn.open(srcC, O_RDONLY | O_CLOEXEC, 0);
  if (srcFd < 0) return false;
  try {
    const dstFd = fn.open(dstC, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666);
    if (dstFd < 0) return false; // includes EEXIST: never write through an existing file
    let cloned = false;
    try {
      cloned = fn.ioctl(dstFd, FICLONE, srcFd) === 0;
    } finally {
      fn.close(dstFd);
    }
    if (!cloned) removeQuietly(dst);
    return cloned;
  } finally {
    fn.close(srcFd);
  }
}

/**
 * The libc of this process on Linux, loaded by the same rules as every other call of
 * this module (`--allow-ffi` granted, `PVR_NO_FFI` not `1`); null elsewhere or when it
 * cannot be loaded. Optional symbols are null when this libc lacks them.
 *
 * Needs `--allow-ffi` (null without it; never prompts).
 */
export function linuxLibc(): LinuxLibc | null {
  const lib = libc();
  return lib?.os === "linux" ? lib.fn : null;
}

/**
 * Opens the libc of this process on Linux with just `symbols`, by the rules of every
 * other call of this module (`--allow-ffi` granted, `PVR_NO_FFI` not `1`); null
 * elsewhere or when it cannot be loaded. Each call opens anew: callers keep the result.
 * Deno builds a trampoline per symbol when it opens a library (~0.2 ms each here), so a
 * hot path that needs two calls opens a library with two symbols.
 *
 * Needs `--allow-ffi` (null without it; never prompts).
 */
export function openLinuxLibc<S extends Deno.ForeignLibraryInterface>(
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | null {
  if (ffiDisabledByEnv() || Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    return openFirst(LINUX_LIBC_NAMES, symbols);
  } catch {
    return null;
  }
}

const LINUX_LIBC_NAMES = ["libc.so.6", "libc.so"];

function libc(): Libc | null {
  if (ffiDisabledByEnv()) return null;
  if (cached === undefined) cached = load();
  return cached;
}

function load(): Libc | null {
  const off = (reason: string): null => {
    unavailableReason = reason;
    return null;
  };
  try {
    // dlopen without a granted permission would prompt (or throw NotCapable): ask first.
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return off("--allow-ffi not granted");
    }
    switch (Deno.build.os) {
      case "linux": {
        const fn = openFirst(LINUX_LIBC_NAMES, LINUX_SYMBOLS);
        return fn ? { os: "linux", fn } : off("libc not found");
      }
      case "darwin": {
        const fn = openFirst(["libSystem.B.dylib", "/usr/lib/libSystem.B.dylib"], DARWIN_SYMBOLS);
        return fn ? { os: "darwin", fn } : off("libSystem not found");
      }
      default:
        return off(`no reflink support on ${Deno.build.os}`);
    }
  } catch (err) {
    return off(err instanceof Error ? err.message : String(err));
  }
}

function openFirst<S extends Deno.ForeignLibraryInterface>(
  names: readonly string[],
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | null {
  for (const name of names) {
    try {
      // The library stays open for the life of the process, like libc itself.
      return Deno.dlopen(name, symbols).symbols;
    } catch {
      // try the next name
    }
  }
  return null;
}

let envReadable: boolean | undefined;

function ffiDisabledByEnv(): boolean {
  try {
    envReadable ??= Deno.permissions.querySync({ name: "env", variable: "PVR_NO_FFI" })
      .state === "granted";
    return envReadable && Deno.env.get("PVR_NO_FFI") === "1";
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();

/** `s` as NUL-terminated UTF-8 bytes; null when `s` holds a NUL itself. */
export function cString(s: string): Uint8Array<ArrayBuffer> | null {
  if (s.includes("\0")) return null;
  return encoder.encode(`${s}\0`);
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // nothing to clean up
  }
}
