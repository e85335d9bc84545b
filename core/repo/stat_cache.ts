/**
 * The stat cache, `.pvr/stat-cache`: for each tracked raw file, the (size, mtime,
 * ctime, inode, device) it had when it was last hashed, and that hash. A file whose
 * stat still matches is not read again, so `status` on an unchanged tree reads no file
 * contents (the Go pvr re-hashes everything on every run).
 *
 * It also remembers objects of the store that were written or verified by this repo,
 * keyed by their stat, so a hardlink or reflink checkout can trust them without
 * re-hashing (`pvr fsck` always re-hashes).
 *
 * Racy timestamps (as git documents them): a file modified within the same clock tick
 * as the cache was written could change again without its mtime moving. An entry is
 * therefore trusted only when the file's mtime is strictly older than the cache file's
 * own mtime; and an entry that is not older than the cache file when it is written is
 * smudged in it (made unusable), so that a later save of the cache, with a later mtime,
 * cannot make it look safe: the file is hashed again the next time it is looked at.
 *
 * The cache is an optimisation only: a missing or damaged cache is ignored and rebuilt.
 *
 * **Status snapshot.** `pvr status` also stores, in front of the cache's JSON, the
 * result it computed and what that result depended on: stat records (see
 * native/walk_stat.ts) of `.pvr/json`, `.pvr/new` and `.pvr/config` (which decide
 * the tracked keys and the objects dir), of every directory the walk read (taken
 * before reading it: adding, removing or renaming an entry moves a directory's mtime)
 * and of every tracked file (taken before reading or hashing it). When every record
 * still matches, no journal is pending, and every recorded mtime is older than the
 * snapshot itself (the racy-timestamp rule above), the stored result is the answer:
 * neither `.pvr/json` nor any working file is read. Anything else falls back to the
 * full computation, which writes a new snapshot. Only `status` writes one; any other
 * save of the cache drops it, so the cache file's mtime is always the time the
 * snapshot's records were complete.
 *
 * @module
 */

import { writeFileAtomic } from "../../native/durability.ts";
import {
  type FileStamp,
  mtimeBefore,
  type ProbeRoot,
  RECORD_WORDS,
  sameRecord,
  STAT_MISSING,
  STAT_OK,
  type StatProbe,
  statProbe,
  Want,
} from "../../native/walk_stat.ts";
import type { StatusResult } from "../model/status.ts";

/** `[size, mtimeMs, ctimeMs, ino, dev, sha]` */
type Entry = [number, number, number, number, number, string];

interface CacheFile {
  v: 1;
  files: Record<string, Entry>;
  objects: Record<string, Entry>;
}

/**
 * A stat as the cache takes it: `Deno.FileInfo`, or the {@link FileStamp} of
 * `statRegularFile` (the same numbers, without the `Date`s).
 */
export type CacheStat = Deno.FileInfo | FileStamp;

function mtimeOf(st: CacheStat): number {
  return "mtimeMs" in st ? st.mtimeMs : st.mtime?.getTime() ?? -1;
}

function ctimeOf(st: CacheStat): number {
  return "ctimeMs" in st ? st.ctimeMs : st.ctime?.getTime() ?? -1;
}

function stamp(st: CacheStat, sha: string): Entry {
  return [st.size, mtimeOf(st), ctimeOf(st), st.ino ?? -1, st.dev, sha];
}

function matches(e: Entry | undefined, st: CacheStat, writtenMs: number): boolean {
  if (!e) return false;
  const mtime = mtimeOf(st);
  return e[0] === st.size && e[1] === mtime && e[2] === ctimeOf(st) &&
    e[3] === (st.ino ?? -1) && e[4] === st.dev && mtime >= 0 && mtime < writtenMs;
}

/** The stat cache of one repository. */
export class StatCache {
  private files: Map<string, Entry>;
  private objects: Map<string, Entry>;
  private writtenMs: number;
  private dirty = false;
  private snapshot: Uint8Array | null = null;
  readonly path: string;

  private constructor(path: string, data: CacheFile | null, writtenMs: number) {
    this.path = path;
    this.files = new Map(Object.entries(data?.files ?? {}));
    this.objects = new Map(Object.entries(data?.objects ?? {}));
    this.writtenMs = writtenMs;
  }

  /** An empty cache that is never saved (for callers that must not write). */
  static empty(): StatCache {
    return new StatCache("", null, 0);
  }

  /** Loads the cache at `path`; a missing or damaged file gives an empty cache. */
  // deno-lint-ignore require-await
  static async load(path: string): Promise<StatCache> {
    try {
      // Synchronous, through one descriptor: the text and the mtime are those of the
      // same file (a concurrent save replaces it by a rename), and two sync calls cost
      // less than two async ops.
      let text: string;
      let st: Deno.FileInfo;
      {
        using file = Deno.openSync(path, { read: true });
        st = file.statSync();
        text = jsonPart(readAllBytes(file, st.size));
      }
      const data = JSON.parse(text) as CacheFile;
      if (data?.v !== 1 || typeof data.files !== "object" || typeof data.objects !== "object") {
        return new StatCache(path, null, 0);
      }
      return new StatCache(path, data, st.mtime?.getTime() ?? 0);
    } catch {
      return new StatCache(path, null, 0);
    }
  }

  /** The cached sha of a working file whose stat is `st`, when still valid. */
  lookupFile(key: string, st: CacheStat): string | undefined {
    const e = this.files.get(key);
    return matches(e, st, this.writtenMs) ? e![5] : undefined;
  }

  /** Records that the working file `key`, with stat `st`, hashes to `sha`. */
  recordFile(key: string, st: CacheStat, sha: string): void {
    this.files.set(key, stamp(st, sha));
    this.dirty = true;
  }

  /** Forgets a working file. */
  forgetFile(key: string): void {
    if (this.files.delete(key)) this.dirty = true;
  }

  /** Keys with a cache entry. */
  fileKeys(): IterableIterator<string> {
    return this.files.keys();
  }

  /** True when the object file (with stat `st`) was verified before and is unchanged. */
  objectTrusted(sha: string, st: CacheStat): boolean {
    // Not ctime: every hardlink made to (or removed from) an object moves its ctime,
    // and objects are read-only, immutable files — size, mtime and inode identify one.
    const e = this.objects.get(sha);
    return e !== undefined && e[0] === st.size && e[1] === mtimeOf(st) &&
      e[3] === (st.ino ?? -1) && e[4] === st.dev;
  }

  /** Records that the object file with stat `st` holds the bytes named `sha`. */
  recordObject(sha: string, st: CacheStat): void {
    this.objects.set(sha, stamp(st, sha));
    this.dirty = true;
  }

  /**
   * Makes every file entry whose mtime is not older than `writtenMs` (the cache file's
   * mtime) unusable, as git does with racily clean index entries: such a file may have
   * changed again within the same clock tick, keeping its mtime, and a later save of
   * the cache (a later mtime) would otherwise make the entry look safe. The file is
   * hashed again the next time it is looked at. True when any entry was smudged.
   */
  private smudgeRacy(writtenMs: number): boolean {
    let any = false;
    for (const e of this.files.values()) {
      if (e[1] >= writtenMs) {
        e[1] = -1; // matches() never accepts it
        any = true;
      }
    }
    return any;
  }

  /** Drops file entries whose key is not in `keep`. */
  retainFiles(keep: (key: string) => boolean): void {
    for (const k of this.files.keys()) {
      if (!keep(k)) {
        this.files.delete(k);
        this.dirty = true;
      }
    }
  }

  /**
   * Sets the status snapshot to write with the next {@link save} (see the module
   * documentation). A cache saved without one drops the snapshot it had.
   */
  setStatusSnapshot(bytes: Uint8Array): void {
    this.snapshot = bytes;
    this.dirty = true;
  }

  /** Writes the cache when it changed. Errors are ignored: it is only a cache. */
  async save(): Promise<void> {
    if (!this.dirty || !this.path) return;
    try {
      const build = (): Uint8Array => {
        // The JSON of a CacheFile, written from the maps directly (in their order): about
        // half the time of JSON.stringify for 20,000 records (no intermediate objects).
        const json = encoder.encode(
          `{"v":1,"files":{${entriesJson(this.files)}},"objects":{${entriesJson(this.objects)}}}`,
        );
        if (this.snapshot === null) return json;
        const bytes = new Uint8Array(this.snapshot.length + json.length);
        bytes.set(this.snapshot);
        bytes.set(json, this.snapshot.length);
        return bytes;
      };
      await writeFileAtomic(this.path, build(), {
        mode: 0o644,
        fsync: false,
        // Racy entries (see the module doc) are smudged as the file is written: a later
        // save, with a later mtime, must not make them look older than the cache.
        revise: (writtenMs) => {
          if (!this.smudgeRacy(writtenMs)) return null;
          this.snapshot = null; // its own racy check was against the first write's time
          return build();
        },
      });
      this.dirty = false;
      this.snapshot = null;
    } catch {
      // A read-only repo or a full disk must not fail a read command.
    }
  }
}

/** `"key":[...]` for every entry, comma-separated, as JSON.stringify writes an object's. */
function entriesJson(map: ReadonlyMap<string, Entry>): string {
  const parts: string[] = [];
  for (const [key, entry] of map) parts.push(`${JSON.stringify(key)}:${JSON.stringify(entry)}`);
  return parts.join(",");
}

/** Reads a file from its current position to the end (`size` is the expected length). */
function readAllBytes(file: Deno.FsFile, size: number): Uint8Array {
  let buf = new Uint8Array(size + 1);
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    const n = file.readSync(buf.subarray(used));
    if (n === null) break;
    used += n;
  }
  return buf.subarray(0, used);
}

const encoder = new TextEncoder();

/** The cache's JSON text: what follows the status snapshot, if there is one. */
function jsonPart(bytes: Uint8Array): string {
  const start = hasMagic(bytes) && bytes.length >= 24 ? u32At(bytes, 20) : 0;
  return new TextDecoder().decode(bytes.subarray(Math.min(start, bytes.length)));
}

// -- status snapshot ----------------------------------------------------------------------

/** Where the stat cache is, relative to the working tree root (as in repoPaths). */
const CACHE_REL = ".pvr/stat-cache";
/** The files that decide the tracked keys and the objects dir, fingerprinted. */
const FINGERPRINTED = [".pvr/json", ".pvr/new", ".pvr/config"] as const;
/** A pending journal means a recovery is due: never answered from a snapshot. */
const JOURNAL_REL = ".pvr/journal";

const MAGIC = encoder.encode("PVRSNAP1");
const FIXED = 24;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

interface SnapshotHeader {
  /** The probe kind the records were taken with. */
  kind: string;
  le: boolean;
  uid: number | null;
  gid: number | null;
  /** The working tree root. */
  dir: string;
  /** Per fingerprinted file: the stat outcome, then the record. */
  fp: number[][];
  /** The newest mtime among the records (seconds low, high, nanoseconds). */
  max: [number, number, number];
  result: StatusResult;
}

function hasMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
}

function u32At(bytes: Uint8Array, off: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(off, true);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Where the parts of a snapshot start (after the {@link FIXED} bytes and the header):
 * the records, the name offsets, the wants and the names (each 4-byte aligned), and
 * the snapshot's total length.
 */
function layout(headerLen: number, count: number, namesLen: number) {
  const recordsAt = FIXED + pad4(headerLen);
  const offsetsAt = recordsAt + count * RECORD_WORDS * 4;
  const wantsAt = offsetsAt + count * 4;
  const namesAt = wantsAt + pad4(count);
  return { recordsAt, offsetsAt, wantsAt, namesAt, total: namesAt + pad4(namesLen) };
}

function uidGid(): [number | null, number | null] {
  try {
    return [Deno.uid(), Deno.gid()];
  } catch {
    return [null, null];
  }
}

/**
 * Collects the records of a status snapshot while `status` computes its result (see
 * the module documentation). Create it before `.pvr/` is read; call {@link directory}
 * before a directory is read and {@link file} before a tracked file is read; then
 * {@link finish}. Anything that cannot be recorded turns it off (no snapshot).
 */
export class StatusSnapshotRecorder {
  readonly dir: string;
  private readonly probe: StatProbe;
  private root: ProbeRoot | null;
  private words = new Uint32Array(RECORD_WORDS * 1024);
  private readonly wants: number[] = [];
  private readonly names: string[] = [];
  private readonly fp: number[][] = [];

  /** Starts recording for the working tree `dir` (absolute), fingerprinting `.pvr/`. */
  constructor(dir: string, probe: StatProbe = statProbe()) {
    this.dir = dir;
    this.probe = probe;
    this.root = probe.open(dir);
    for (const rel of FINGERPRINTED) {
      if (this.root === null) break;
      const rec = new Uint32Array(RECORD_WORDS);
      const r = this.root.stat(rel, Want.File, rec, 0);
      if (r !== STAT_OK && r !== STAT_MISSING) this.stop();
      this.fp.push([r, ...rec]);
    }
  }

  /** Records the directory `rel` (`""` for the root), before it is read. */
  directory(rel: string): void {
    this.add(rel, Want.Dir);
  }

  /** Records the tracked file `rel` (symbolic links followed), before it is read. */
  file(rel: string): void {
    this.add(rel, Want.File);
  }

  /** Gives up: {@link finish} returns null. */
  stop(): void {
    this.root?.close();
    this.root = null;
  }

  private add(rel: string, want: Want): void {
    if (this.root === null) return;
    const n = this.wants.length;
    if ((n + 1) * RECORD_WORDS > this.words.length) {
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    if (this.root.stat(rel, want, this.words, n * RECORD_WORDS) !== STAT_OK) {
      this.stop();
      return;
    }
    this.wants.push(want);
    this.names.push(rel);
  }

  /**
   * The encoded snapshot for `result` (for {@link StatCache.setStatusSnapshot}), or
   * null when recording stopped or a journal is pending.
   */
  finish(result: StatusResult): Uint8Array | null {
    const root = this.root;
    if (root === null) return null;
    try {
      if (root.stat(JOURNAL_REL, Want.Any, new Uint32Array(RECORD_WORDS), 0) !== STAT_MISSING) {
        return null;
      }
      if (this.names.some((n) => n.includes("\0"))) return null;
      const count = this.wants.length;
      const words = this.words;
      // The newest mtime among every record.
      const max = new Uint32Array(RECORD_WORDS);
      for (const f of this.fp) {
        const rec = Uint32Array.from(f.slice(1));
        if (f[0] === STAT_OK && !mtimeBefore(rec, 0, max, 0)) max.set(rec);
      }
      for (let i = 0; i < count; i++) {
        const at = i * RECORD_WORDS;
        if (!mtimeBefore(words, at, max, 0)) max.set(words.subarray(at, at + RECORD_WORDS));
      }
      const [uid, gid] = uidGid();
      const header: SnapshotHeader = {
        kind: this.probe.kind,
        le: LITTLE_ENDIAN,
        uid,
        gid,
        dir: this.dir,
        fp: this.fp,
        max: [max[5], max[6], max[7]],
        result,
      };
      const headerBytes = encoder.encode(JSON.stringify(header));
      const names = encoder.encode(this.names.join("\0") + "\0");
      const offsets = new Uint32Array(count);
      for (let i = 0, off = 0; i < count; i++) {
        offsets[i] = off;
        off = names.indexOf(0, off) + 1;
      }
      const { recordsAt, offsetsAt, wantsAt, namesAt, total } = layout(
        headerBytes.length,
        count,
        names.length,
      );
      const out = new Uint8Array(total);
      out.set(MAGIC);
      const view = new DataView(out.buffer);
      view.setUint32(8, headerBytes.length, true);
      view.setUint32(12, count, true);
      view.setUint32(16, names.length, true);
      view.setUint32(20, total, true);
      out.set(headerBytes, FIXED);
      out.set(new Uint8Array(words.buffer, 0, count * RECORD_WORDS * 4), recordsAt);
      out.set(new Uint8Array(offsets.buffer), offsetsAt);
      out.set(this.wants, wantsAt);
      out.set(names, namesAt);
      return out;
    } finally {
      this.stop();
    }
  }
}

/**
 * The `status` result stored in the repository's status snapshot when it still holds
 * for the working tree `dir` (see the module documentation); null otherwise (no
 * snapshot, anything changed, a recovery due, an error of any kind). Reads nothing
 * but the stat cache and stats; changes nothing.
 *
 * Needs `--allow-read` for `dir` (without it: null); uses statx through FFI when
 * `--allow-ffi` is granted.
 */
export function readStatusSnapshot(
  dir: string,
  probe: StatProbe = statProbe(),
): StatusResult | null {
  const g = globalThis as { [KNOWN_MISS]?: string | null };
  if (g[KNOWN_MISS] === dir) {
    g[KNOWN_MISS] = null;
    return null;
  }
  let root: ProbeRoot | null = null;
  try {
    root = probe.open(dir);
    if (root === null) return null;
    return checkSnapshot(dir, probe, root);
  } catch {
    return null;
  } finally {
    root?.close();
  }
}

/** The snapshot part of the cache file (not the JSON after it), or null. */
function readSnapshotPart(path: string): Uint8Array | null {
  using file = Deno.openSync(path, { read: true });
  const fixed = readFully(file, new Uint8Array(FIXED));
  if (fixed === null || !hasMagic(fixed)) return null;
  const total = u32At(fixed, 20);
  if (total < FIXED) return null;
  const bytes = new Uint8Array(total);
  bytes.set(fixed);
  return readFully(file, bytes.subarray(FIXED)) === null ? null : bytes;
}

/** Fills `buf` from the file's position; null at an early end of file. */
function readFully(file: Deno.FsFile, buf: Uint8Array): Uint8Array | null {
  for (let used = 0; used < buf.length;) {
    const n = file.readSync(buf.subarray(used));
    if (n === null) return null;
    used += n;
  }
  return buf;
}

/**
 * Where the last miss is kept: on `globalThis`, so that it also reaches a second copy of
 * this module (`dist/pvr.js` holds one in its fast part and one in the embedded CLI).
 */
const KNOWN_MISS = Symbol.for("pvr.statusSnapshotMiss");

/**
 * Remembers that {@link readStatusSnapshot} just found no usable snapshot for `dir`, so
 * that the next call for it (the full computation that follows in the same process)
 * does not check again. Only ever skips a check: the answer is then computed in full.
 */
export function noteStatusSnapshotMiss(dir: string): void {
  (globalThis as { [KNOWN_MISS]?: string | null })[KNOWN_MISS] = dir;
}

function checkSnapshot(dir: string, probe: StatProbe, root: ProbeRoot): StatusResult | null {
  // The cache's own stat first: read after it, the bytes are at least as new.
  const self = new Uint32Array(RECORD_WORDS);
  if (root.stat(CACHE_REL, Want.File, self, 0) !== STAT_OK) return null;
  const bytes = readSnapshotPart(`${dir}/${CACHE_REL}`);
  if (bytes === null) return null;
  const headerLen = u32At(bytes, 8);
  const count = u32At(bytes, 12);
  const namesLen = u32At(bytes, 16);
  const total = u32At(bytes, 20);
  const { recordsAt, offsetsAt, wantsAt, namesAt, total: end } = layout(
    headerLen,
    count,
    namesLen,
  );
  if (end !== total || total > bytes.length || bytes.byteOffset % 4 !== 0) {
    return null;
  }
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(FIXED, FIXED + headerLen)),
  ) as SnapshotHeader;
  const [uid, gid] = uidGid();
  if (
    header.kind !== probe.kind || header.le !== LITTLE_ENDIAN || header.dir !== dir ||
    header.uid !== uid || header.gid !== gid || !Array.isArray(header.fp) ||
    header.fp.length !== FINGERPRINTED.length
  ) {
    return null;
  }
  // Racy timestamps: every record must be older than the snapshot.
  const max = new Uint32Array(RECORD_WORDS);
  max[5] = header.max[0];
  max[6] = header.max[1];
  max[7] = header.max[2];
  if (!mtimeBefore(max, 0, self, 0)) return null;
  const tmp = new Uint32Array(RECORD_WORDS);
  if (root.stat(JOURNAL_REL, Want.Any, tmp, 0) !== STAT_MISSING) return null;
  for (let i = 0; i < FINGERPRINTED.length; i++) {
    const want = header.fp[i];
    const r = root.stat(FINGERPRINTED[i], Want.File, tmp, 0);
    if (r !== want[0]) return null;
    if (r === STAT_OK && !sameRecord(tmp, 0, Uint32Array.from(want.slice(1)), 0)) return null;
  }
  const base = bytes.byteOffset;
  const records = new Uint32Array(bytes.buffer, base + recordsAt, count * RECORD_WORDS);
  const offsets = new Uint32Array(bytes.buffer, base + offsetsAt, count);
  const wants = bytes.subarray(wantsAt, wantsAt + count);
  const names = bytes.subarray(namesAt, namesAt + namesLen);
  // matchAll refuses any want but File and Dir, and malformed offsets.
  return root.matchAll(names, offsets, wants, records) ? header.result : null;
}
