/**
 * Stat records for the status snapshot (see core/repo/stat_cache.ts): a fixed-size,
 * comparable record of one file's or directory's metadata, taken relative to a root.
 *
 * On Linux with `--allow-ffi`, records come from `statx(2)` through Deno FFI, relative
 * to a directory descriptor of the root: one system call per path and no object per
 * call (about half the cost of `Deno.statSync`, and nanosecond timestamps). `struct
 * statx` has the same layout on every Linux architecture. Elsewhere, without
 * `--allow-ffi`, with `PVR_NO_FFI=1`, or when libc cannot be loaded, records come from
 * `Deno.statSync`/`Deno.lstatSync` (millisecond timestamps). The two kinds of record
 * are never compared with each other: {@link StatProbe.kind} tells them apart.
 *
 * Record layout, {@link RECORD_WORDS} 32-bit words: file type and mode, inode (low,
 * high), size (low, high), mtime seconds (low, high), mtime nanoseconds, ctime seconds
 * (low, high), ctime nanoseconds, device (two words).
 *
 * @module
 */

import { cString, openLinuxLibc } from "./ffi.ts";

/** Words (u32) per record. */
export const RECORD_WORDS = 13;

/** Word offsets of the mtime inside a record (seconds low/high, nanoseconds). */
export const MTIME_SEC_LO = 5;
export const MTIME_SEC_HI = 6;
export const MTIME_NSEC = 7;

/** Outcome of a stat: recorded, the path does not exist, anything else. */
export const STAT_OK = 1;
export const STAT_MISSING = 0;
export const STAT_OTHER = -1;

/** What a record must be. */
export const Want = {
  /** A regular file, symbolic links followed. */
  File: 1,
  /** A directory itself (a symbolic link is not one). */
  Dir: 2,
  /** Anything that exists, symbolic links not followed. */
  Any: 3,
} as const;

/** One of {@link Want}'s values. */
export type Want = typeof Want[keyof typeof Want];

/** Stats paths under one root. */
export interface ProbeRoot {
  /**
   * Records `rel` (relative to the root, `""` for the root itself) into `out` at word
   * `at`. Returns {@link STAT_OK}, {@link STAT_MISSING} (ENOENT) or {@link STAT_OTHER}
   * (another error, or not what `want` asks for).
   */
  stat(rel: string, want: Want, out: Uint32Array, at: number): number;
  /** As {@link stat}, with `rel` as NUL-terminated UTF-8 bytes. */
  statBytes(relC: Uint8Array, want: Want, out: Uint32Array, at: number): number;
  /**
   * True when, for every `i < wants.length`, the path starting at byte `offsets[i]` of
   * `names` (NUL-terminated before `offsets[i + 1]`, or at the end of `names` for the
   * last) stats {@link STAT_OK} as `wants[i]` ({@link Want.File} or {@link Want.Dir})
   * with the record at word `i * RECORD_WORDS` of `records`. Offsets increase. Stops at
   * the first difference, or at anything malformed.
   */
  matchAll(
    names: Uint8Array,
    offsets: Uint32Array,
    wants: Uint8Array,
    records: Uint32Array,
  ): boolean;
  /** Releases the root's descriptor. */
  close(): void;
}

/** A source of stat records. */
export interface StatProbe {
  /** `"statx"` or `"deno"`: records of different kinds are not comparable. */
  readonly kind: string;
  /**
   * Opens `root` (absolute) for relative stats; null when it cannot be opened (or, for
   * the FFI probe, when Deno's read permission does not cover it).
   */
  open(root: string): ProbeRoot | null;
}

// -- statx through FFI -------------------------------------------------------------------

const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const O_RDONLY = 0;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;
const ENOENT = 2;
/** STATX_TYPE | MODE | MTIME | CTIME | INO | SIZE */
const STATX_NEEDED = 0x1 | 0x2 | 0x40 | 0x80 | 0x100 | 0x200;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/**
 * The libc calls of the statx probe, and nothing else: Deno builds a trampoline per
 * symbol when it opens a library, and `pvr status` opens this one on its fast path.
 */
const STATX_SYMBOLS = {
  // int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *buf)
  // (glibc 2.28 and later)
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  // int open(const char *path, int flags, ... /* mode_t mode */)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int *__errno_location(void)
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof STATX_SYMBOLS>["symbols"];

/** Bytes kept in front of the names in {@link StatxRoot.matchAll}: the longest path. */
const PATH_MAX = 4096;

class StatxRoot implements ProbeRoot {
  private readonly fn: Libc;
  private fd: number;
  // struct statx is 256 bytes; read as 32-bit words.
  private readonly buf = new Uint8Array(256);
  private readonly words = new Uint32Array(this.buf.buffer);
  private static readonly EMPTY = new Uint8Array(1);

  constructor(fn: Libc, fd: number) {
    this.fn = fn;
    this.fd = fd;
  }

  stat(rel: string, want: Want, out: Uint32Array, at: number): number {
    const c = cString(rel);
    return c === null ? STAT_OTHER : this.statBytes(c, want, out, at);
  }

  statBytes(relC: Uint8Array, want: Want, out: Uint32Array, at: number): number {
    const empty = relC.length === 0 || relC[0] === 0;
    const flags = (want === Want.File ? 0 : AT_SYMLINK_NOFOLLOW) | (empty ? AT_EMPTY_PATH : 0);
    const r = this.fn.statx(this.fd, empty ? StatxRoot.EMPTY : relC, flags, STATX_NEEDED, this.buf);
    if (r !== 0) return this.errno() === ENOENT ? STAT_MISSING : STAT_OTHER;
    const w = this.words;
    if ((w[0] & STATX_NEEDED) !== STATX_NEEDED) return STAT_OTHER;
    const mode = w[7] & 0xffff;
    const type = mode & S_IFMT;
    if (want === Want.File && type !== S_IFREG) return STAT_OTHER;
    if (want === Want.Dir && type !== S_IFDIR) return STAT_OTHER;
    // stx_mode @28, stx_ino @32, stx_size @40, stx_ctime @96, stx_mtime @112,
    // stx_dev_major/minor @136.
    out[at] = mode;
    out[at + 1] = w[8];
    out[at + 2] = w[9];
    out[at + 3] = w[10];
    out[at + 4] = w[11];
    out[at + 5] = w[28];
    out[at + 6] = w[29];
    out[at + 7] = w[30];
    out[at + 8] = w[24];
    out[at + 9] = w[25];
    out[at + 10] = w[26];
    out[at + 11] = w[34];
    out[at + 12] = w[35];
    return STAT_OK;
  }

  matchAll(
    names: Uint8Array,
    offsets: Uint32Array,
    wants: Uint8Array,
    records: Uint32Array,
  ): boolean {
    const n = wants.length;
    if (offsets.length < n || records.length < n * RECORD_WORDS) return false;
    if (n === 0) return true;
    const end = names.length;
    if (end === 0 || names[end - 1] !== 0) return false;
    // Each path is copied to the front of one buffer that holds the names after it, and
    // that same buffer is passed on every call: V8's optimised code then calls statx
    // directly, where an address computed per path (a number for a 64-bit parameter)
    // throws the optimised loop away ("not a BigInt") and a view per path allocates.
    const work = new Uint8Array(PATH_MAX + end);
    work.set(names, PATH_MAX);
    const buf = this.buf;
    const w = this.words;
    const statx = this.fn.statx;
    const fd = this.fd;
    let prev = -1;
    for (let i = 0; i < n; i++) {
      const off = offsets[i];
      const next = i + 1 < n ? offsets[i + 1] : end;
      // Paths are non-empty, in order, inside `names`, and NUL-terminated before the next.
      if (off <= prev || next <= off || next > end || next - off > PATH_MAX) return false;
      if (names[next - 1] !== 0) return false;
      prev = off;
      const want = wants[i];
      if (want !== Want.File && want !== Want.Dir) return false;
      work.copyWithin(0, PATH_MAX + off, PATH_MAX + next);
      const flags = (want === Want.File ? 0 : AT_SYMLINK_NOFOLLOW) |
        (names[off] === 0 ? AT_EMPTY_PATH : 0);
      const r = statx(fd, work, flags, STATX_NEEDED, buf);
      if (r !== 0 || (w[0] & STATX_NEEDED) !== STATX_NEEDED) return false;
      const mode = w[7] & 0xffff;
      if ((mode & S_IFMT) !== (want === Want.File ? S_IFREG : S_IFDIR)) return false;
      const at = i * RECORD_WORDS;
      if (
        records[at] !== mode || records[at + 1] !== w[8] || records[at + 2] !== w[9] ||
        records[at + 3] !== w[10] || records[at + 4] !== w[11] || records[at + 5] !== w[28] ||
        records[at + 6] !== w[29] || records[at + 7] !== w[30] || records[at + 8] !== w[24] ||
        records[at + 9] !== w[25] || records[at + 10] !== w[26] || records[at + 11] !== w[34] ||
        records[at + 12] !== w[35]
      ) {
        return false;
      }
    }
    return true;
  }

  close(): void {
    if (this.fd >= 0) this.fn.close(this.fd);
    this.fd = -1;
  }

  private errno(): number {
    const p = this.fn.__errno_location();
    return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
  }
}

class StatxProbe implements StatProbe {
  readonly kind = "statx";
  private readonly fn: Libc;
  constructor(fn: Libc) {
    this.fn = fn;
  }
  open(root: string): ProbeRoot | null {
    // FFI calls bypass Deno's permissions: only a tree the caller may read is opened.
    const c = readGranted(root) ? cString(root) : null;
    if (c === null) return null;
    const fd = this.fn.open(c, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    return fd < 0 ? null : new StatxRoot(this.fn, fd);
  }
}

// -- Deno's stat ------------------------------------------------------------------------

const decoder = new TextDecoder();
const TWO32 = 2 ** 32;

function split64(n: number, out: Uint32Array, at: number): void {
  out[at] = n % TWO32;
  out[at + 1] = Math.floor(n / TWO32);
}

function putTime(d: Date | null, out: Uint32Array, at: number): void {
  const ms = d?.getTime() ?? -1;
  const sec = Math.floor(ms / 1000);
  split64(sec < 0 ? 0 : sec, out, at);
  out[at + 2] = ms < 0 ? 0xffffffff : (ms - sec * 1000) * 1e6;
}

class DenoRoot implements ProbeRoot {
  private readonly root: string;
  constructor(root: string) {
    this.root = root;
  }

  stat(rel: string, want: Want, out: Uint32Array, at: number): number {
    const path = rel === "" ? this.root : `${this.root}/${rel}`;
    let st: Deno.FileInfo;
    try {
      st = want === Want.File ? Deno.statSync(path) : Deno.lstatSync(path);
    } catch (err) {
      return err instanceof Deno.errors.NotFound ? STAT_MISSING : STAT_OTHER;
    }
    if (want === Want.File && !st.isFile) return STAT_OTHER;
    if (want === Want.Dir && !st.isDirectory) return STAT_OTHER;
    out[at] = ((st.mode ?? 0) & 0xffff) | (st.isFile ? 0x10000 : 0) |
      (st.isDirectory ? 0x20000 : 0) | (st.isSymlink ? 0x40000 : 0);
    split64(st.ino ?? 0, out, at + 1);
    split64(st.size, out, at + 3);
    putTime(st.mtime, out, at + 5);
    putTime(st.ctime, out, at + 8);
    split64(st.dev, out, at + 11);
    return STAT_OK;
  }

  statBytes(relC: Uint8Array, want: Want, out: Uint32Array, at: number): number {
    const end = relC.indexOf(0);
    return this.stat(decoder.decode(end < 0 ? relC : relC.subarray(0, end)), want, out, at);
  }

  matchAll(
    names: Uint8Array,
    offsets: Uint32Array,
    wants: Uint8Array,
    records: Uint32Array,
  ): boolean {
    const n = wants.length;
    if (offsets.length < n || records.length < n * RECORD_WORDS) return false;
    const tmp = new Uint32Array(RECORD_WORDS);
    for (let i = 0; i < n; i++) {
      const want = wants[i] as Want;
      if (want !== Want.File && want !== Want.Dir) return false;
      const off = offsets[i];
      const next = i + 1 < n ? offsets[i + 1] : names.length;
      if (next <= off || next > names.length || names[next - 1] !== 0) return false;
      if (this.statBytes(names.subarray(off, next), want, tmp, 0) !== STAT_OK) return false;
      if (!sameRecord(tmp, 0, records, i * RECORD_WORDS)) return false;
    }
    return true;
  }

  close(): void {}
}

/** The probe that uses `Deno.statSync`/`Deno.lstatSync` (every platform). */
export const denoProbe: StatProbe = {
  kind: "deno",
  open(root: string): ProbeRoot | null {
    return new DenoRoot(root);
  },
};

let cached: StatProbe | undefined;

/**
 * The best probe here: statx through FFI on Linux when `--allow-ffi` is granted and
 * `PVR_NO_FFI` is not `1`, else {@link denoProbe}. Decided once per process.
 *
 * Needs `--allow-ffi` for the FFI probe (never prompts), and read access to the paths.
 */
export function statProbe(): StatProbe {
  return cached ??= loadProbe();
}

function loadProbe(): StatProbe {
  const fn = statxLibrary();
  return fn === null ? denoProbe : new StatxProbe(fn);
}

/** undefined: not tried yet; null: not available here. */
let statxLib: Libc | null | undefined;

function statxLibrary(): Libc | null {
  if (statxLib === undefined) {
    try {
      statxLib = openLinuxLibc(STATX_SYMBOLS);
    } catch {
      statxLib = null; // no FFI here
    }
  }
  return statxLib;
}

// -- one regular file, as the stat cache compares it -----------------------------------

/**
 * The fields of a file's stat that the stat cache compares, as `Deno.FileInfo` gives
 * them: the mtime in milliseconds since the epoch, the ctime in whole seconds (as
 * milliseconds), `dev` as glibc's `makedev` makes `st_dev`.
 */
export interface FileStamp {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

const AT_FDCWD = -100;
const statPath = new Uint8Array(PATH_MAX + 1);
const statRecord = new Uint32Array(RECORD_WORDS);
const pathEncoder = new TextEncoder();
let cwdRoot: StatxRoot | null | undefined;

/**
 * The stamp of the regular file at `path` (absolute, or relative to the working
 * directory; symbolic links followed), through one `statx` by FFI: about a third of
 * the time of `Deno.statSync`, and no `Date`s to collect. Null when the fast path cannot
 * answer — FFI not available, any failure (a missing file, a dangling link, a path too
 * long or holding a NUL), not a regular file, a time before 1970 — and the caller then
 * takes `Deno.statSync`, which reports the exact error. Equal, field by field, to what
 * `Deno.statSync` gives for the same file.
 *
 * Needs `--allow-ffi` for the fast path; FFI bypasses Deno's read permission: callers
 * take it through {@link fileStatterFor}, which checks that permission once per tree
 * (Linux only).
 */
export function statRegularFile(path: string): FileStamp | null {
  if (cwdRoot === undefined) {
    const lib = statxLibrary();
    cwdRoot = lib === null ? null : new StatxRoot(lib, AT_FDCWD);
  }
  if (cwdRoot === null || path.includes("\0")) return null;
  const { read, written } = pathEncoder.encodeInto(path, statPath);
  if (read !== path.length || written >= PATH_MAX) return null;
  statPath[written] = 0;
  const r = statRecord;
  if (cwdRoot.statBytes(statPath, Want.File, r, 0) !== STAT_OK) return null;
  // A negative or huge second count is left to Deno (it gives no date before 1970).
  if (r[MTIME_SEC_HI] >= 0x200000 || r[9] >= 0x200000) return null;
  return {
    size: r[3] + r[4] * TWO32,
    mtimeMs: (r[MTIME_SEC_LO] + r[MTIME_SEC_HI] * TWO32) * 1000 + Math.floor(r[MTIME_NSEC] / 1e6),
    // Deno's `ctime` carries whole seconds only: the same here, so entries compare.
    ctimeMs: (r[8] + r[9] * TWO32) * 1000,
    ino: r[1] + r[2] * TWO32,
    dev: makedev(r[11], r[12]),
  };
}

/**
 * The way to stat regular files under `root`: {@link statRegularFile} when FFI is
 * available and Deno's read permission covers `root` (FFI calls bypass it), else a
 * function that always answers null (the caller's `Deno.statSync` path, which checks).
 */
export function fileStatterFor(root: string): (path: string) => FileStamp | null {
  return statxLibrary() !== null && readGranted(root) ? statRegularFile : noStamp;
}

function noStamp(): null {
  return null;
}

/** True when Deno's read permission covers `path` (and so everything under it). */
function readGranted(path: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "read", path }).state === "granted";
  } catch {
    return false;
  }
}

/** glibc's `makedev`, as a number (exact below 2^53, like Deno's own `dev`). */
function makedev(major: number, minor: number): number {
  return ((major & 0xfffff000) >>> 0) * TWO32 + ((minor & 0xffffff00) >>> 0) * 4096 +
    (major & 0xfff) * 256 + (minor & 0xff);
}

/** Compares a record in `a` at `i` with one in `b` at `j`. */
export function sameRecord(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  for (let k = 0; k < RECORD_WORDS; k++) if (a[i + k] !== b[j + k]) return false;
  return true;
}

/** True when the mtime of record `a` at `i` is strictly before that of `b` at `j`. */
export function mtimeBefore(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  const ahi = a[i + MTIME_SEC_HI], bhi = b[j + MTIME_SEC_HI];
  if (ahi !== bhi) return ahi < bhi;
  const alo = a[i + MTIME_SEC_LO], blo = b[j + MTIME_SEC_LO];
  if (alo !== blo) return alo < blo;
  return a[i + MTIME_NSEC] < b[j + MTIME_NSEC];
}

/** Test hook: the FFI probe when it can be loaded here, else null. */
export function ffiProbeForTests(): StatProbe | null {
  const p = loadProbe();
  return p.kind === "statx" ? p : null;
}
