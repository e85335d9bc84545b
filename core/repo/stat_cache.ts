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
 * own mtime; a "racy" entry is re-hashed and the next save makes it trustworthy.
 *
 * The cache is an optimisation only: a missing or damaged cache is ignored and rebuilt.
 *
 * @module
 */

import { writeFileAtomic } from "../../native/durability.ts";

/** `[size, mtimeMs, ctimeMs, ino, dev, sha]` */
type Entry = [number, number, number, number, number, string];

interface CacheFile {
  v: 1;
  files: Record<string, Entry>;
  objects: Record<string, Entry>;
}

function stamp(st: Deno.FileInfo, sha: string): Entry {
  return [
    st.size,
    st.mtime?.getTime() ?? -1,
    st.ctime?.getTime() ?? -1,
    st.ino ?? -1,
    st.dev,
    sha,
  ];
}

function matches(e: Entry | undefined, st: Deno.FileInfo, writtenMs: number): boolean {
  if (!e) return false;
  const mtime = st.mtime?.getTime() ?? -1;
  return e[0] === st.size && e[1] === mtime && e[2] === (st.ctime?.getTime() ?? -1) &&
    e[3] === (st.ino ?? -1) && e[4] === st.dev && mtime >= 0 && mtime < writtenMs;
}

/** The stat cache of one repository. */
export class StatCache {
  private files: Map<string, Entry>;
  private objects: Map<string, Entry>;
  private writtenMs: number;
  private dirty = false;
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
        text = readAllText(file, st.size);
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
  lookupFile(key: string, st: Deno.FileInfo): string | undefined {
    const e = this.files.get(key);
    return matches(e, st, this.writtenMs) ? e![5] : undefined;
  }

  /** Records that the working file `key`, with stat `st`, hashes to `sha`. */
  recordFile(key: string, st: Deno.FileInfo, sha: string): void {
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
  objectTrusted(sha: string, st: Deno.FileInfo): boolean {
    // Not ctime: every hardlink made to (or removed from) an object moves its ctime,
    // and objects are read-only, immutable files — size, mtime and inode identify one.
    const e = this.objects.get(sha);
    return e !== undefined && e[0] === st.size && e[1] === (st.mtime?.getTime() ?? -1) &&
      e[3] === (st.ino ?? -1) && e[4] === st.dev;
  }

  /** Records that the object file with stat `st` holds the bytes named `sha`. */
  recordObject(sha: string, st: Deno.FileInfo): void {
    this.objects.set(sha, stamp(st, sha));
    this.dirty = true;
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

  /** Writes the cache when it changed. Errors are ignored: it is only a cache. */
  async save(): Promise<void> {
    if (!this.dirty || !this.path) return;
    const data: CacheFile = {
      v: 1,
      files: Object.fromEntries(this.files),
      objects: Object.fromEntries(this.objects),
    };
    try {
      await writeFileAtomic(this.path, JSON.stringify(data), { mode: 0o644, fsync: false });
      this.dirty = false;
    } catch {
      // A read-only repo or a full disk must not fail a read command.
    }
  }
}

/** Reads a file from its current position to the end (`size` is the expected length). */
function readAllText(file: Deno.FsFile, size: number): string {
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
  return new TextDecoder().decode(buf.subarray(0, used));
}
