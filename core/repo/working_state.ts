/**
 * Computing the working state (spec §3.3): walk the tree, inline tracked `.json` files,
 * hash tracked raw files (through the stat cache), list untracked paths.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { parseJson } from "../model/json_parse.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { isIgnoredWalkPath } from "../model/paths.ts";
import { isInlineJson, type State } from "../model/state.ts";
import { sha256File } from "../store/hash.ts";
import type { Repo } from "./repo.ts";
import type { CacheStat, StatCache, StatusSnapshotRecorder } from "./stat_cache.ts";
import { type FileStamp, fileStatterFor } from "../../native/walk_stat.ts";

/** A tracked raw (blob) file of the working tree. */
export interface RawFile {
  /** Absolute path. */
  path: string;
  sha: string;
  size: number;
}

/** The working state and what the walk found. */
export interface WorkingState {
  /** `#spec` plus every tracked key present in the tree. */
  state: State;
  /** Untracked paths, sorted by code point. */
  untracked: string[];
  /** Tracked raw files present in the tree. */
  raw: Map<string, RawFile>;
  /** Files hashed (not served by the stat cache) during this computation. */
  hashed: number;
  /** Objects written to the store by this computation (verified as they were written). */
  stored: Set<string>;
}

/** Options for {@link computeWorkingState}. */
export interface WorkingStateOptions {
  /** The stat cache to consult and update. */
  cache: StatCache;
  /**
   * Store the bytes of raw files that have to be hashed into the repo's object store
   * while hashing them (one read per file; used by commit).
   */
  storeObjects?: boolean;
  /** Extra tracked paths (e.g. files being added), with their ForceObject flag. */
  extra?: ReadonlyMap<string, boolean>;
  /**
   * Records what the result depends on for a status snapshot: every directory before
   * it is read, every tracked file before it is read.
   */
  recorder?: StatusSnapshotRecorder;
}

/** A walked non-directory entry. */
export interface WalkEntry {
  /** Slash-separated path relative to the root. */
  key: string;
  /** Absolute path. */
  path: string;
  isSymlink: boolean;
  isFile: boolean;
}

/**
 * Walks `root` in code-point order (directories are not followed through symlinks;
 * top-level `.pvr` and `.pv` are skipped) and yields every non-directory entry. `onDir`
 * is called with each directory's relative path (`""` for the root) just before it is
 * read. A directory that cannot be read is passed to `onUnreadable` (which may throw)
 * and skipped.
 */
export function* walkTree(
  root: string,
  skipDir?: string,
  onDir?: (rel: string) => void,
  onUnreadable?: (rel: string, err: unknown) => void,
): Generator<WalkEntry> {
  const stack: string[] = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const abs = rel ? `${root}/${rel}` : root;
    if (skipDir && abs === skipDir) continue;
    onDir?.(rel);
    let entries: Deno.DirEntry[];
    try {
      entries = Array.from(Deno.readDirSync(abs));
    } catch (err) {
      onUnreadable?.(rel, err);
      continue;
    }
    entries.sort((a, b) => compareCodePoints(a.name, b.name));
    const dirs: string[] = [];
    for (const e of entries) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && isIgnoredWalkPath(key)) continue;
      if (e.isDirectory) dirs.push(key);
      else yield { key, path: `${root}/${key}`, isSymlink: e.isSymlink, isFile: e.isFile };
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i]);
  }
}

/**
 * The stat of a walked file, symbolic links followed: through one `statx` by FFI where
 * it can (`fastStat`, from `fileStatterFor`: a third of `Deno.statSync`'s time); any
 * other case by `Deno.statSync`, whose errors name the problem.
 */
function statTarget(
  entry: WalkEntry,
  fastStat: (path: string) => FileStamp | null,
): CacheStat {
  const fast = fastStat(entry.path);
  if (fast !== null) return fast;
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(entry.path);
  } catch (err) {
    if (entry.isSymlink && err instanceof Deno.errors.NotFound) {
      throw new PvrError("BAD_WORKTREE", `${entry.key} is a dangling symbolic link`, {
        path: entry.key,
      });
    }
    throw new PvrError("BAD_WORKTREE", `cannot stat ${entry.key}: ${(err as Error).message}`, {
      cause: err,
      path: entry.key,
    });
  }
  if (!st.isFile) {
    throw new PvrError("BAD_WORKTREE", `${entry.key} is not a regular file`, { path: entry.key });
  }
  return st;
}

/** Computes the working state of `repo`. */
export async function computeWorkingState(
  repo: Repo,
  opts: WorkingStateOptions,
): Promise<WorkingState> {
  const pristine = repo.pristine;
  const state: State = new Map();
  state.set("#spec", repo.spec);
  const untracked: string[] = [];
  const raw = new Map<string, RawFile>();
  let hashed = 0;
  const stored = new Set<string>();
  const objectsDir = repo.store.location;
  const skipDir = objectsDir.startsWith(repo.dir + "/") ? objectsDir : undefined;

  const recorder = opts.recorder;
  const fastStat = fileStatterFor(repo.dir);
  const onDir = recorder ? (rel: string) => recorder.directory(rel) : undefined;
  // A directory that cannot be read (permissions) is skipped when nothing tracked can be
  // in it; when something can, the command fails: the Go pvr skipped it silently, and
  // its tracked files then looked removed, and a commit dropped them from the state.
  const onUnreadable = (rel: string, err: unknown) => {
    // What the directory holds is unknown: no status snapshot may stand for this result.
    recorder?.stop();
    if (!holdsTracked(repo, rel, opts.extra)) return;
    throw new PvrError(
      "BAD_WORKTREE",
      `cannot read directory ${rel === "" ? repo.dir : rel}: ${(err as Error).message}`,
      { cause: err, path: rel },
    );
  };
  for (const entry of walkTree(repo.dir, skipDir, onDir, onUnreadable)) {
    const { key } = entry;
    const added = repo.added.get(key);
    const extraForce = opts.extra?.get(key);
    const tracked = (key !== "#spec" && pristine.has(key)) || added !== undefined ||
      extraForce !== undefined;
    if (!tracked) {
      untracked.push(key);
      continue;
    }
    const force = (added?.ForceObject ?? false) || (extraForce ?? false);
    recorder?.file(key);
    const st = statTarget(entry, fastStat);
    if (isInlineJson(key, pristine.get(key), force)) {
      // Synchronous: for a small file an async op costs more than the read itself
      // (200 JSON files: about 60 ms async, 3 ms sync, measured on a loaded machine).
      const bytes = Deno.readFileSync(entry.path);
      state.set(key, parseJson(bytes, key));
      continue;
    }
    let sha = opts.cache.lookupFile(key, st);
    if (sha === undefined) {
      hashed++;
      if (opts.storeObjects) {
        const put = await repo.store.putFile(entry.path);
        sha = put.sha;
        if (put.stored) stored.add(sha);
      } else {
        sha = (await sha256File(entry.path)).sha;
      }
      opts.cache.recordFile(key, st, sha);
    }
    state.set(key, sha);
    raw.set(key, { path: entry.path, sha, size: st.size });
  }
  untracked.sort(compareCodePoints);
  return { state, untracked, raw, hashed, stored };
}

/** True when a tracked key (committed, added or extra) lies under directory `rel`. */
function holdsTracked(repo: Repo, rel: string, extra?: ReadonlyMap<string, boolean>): boolean {
  const prefix = rel === "" ? "" : `${rel}/`;
  const under = (key: string) => key !== "#spec" && key.startsWith(prefix);
  for (const key of repo.pristine.keys()) if (under(key)) return true;
  for (const key of repo.added.keys()) if (under(key)) return true;
  for (const key of extra?.keys() ?? []) if (under(key)) return true;
  return false;
}
