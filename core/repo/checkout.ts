/**
 * Writing a state into the working tree (spec §5.7), atomically per file and
 * journalled as a whole.
 *
 * Every file is first built in `.pvr/tmp/` and renamed over its target, so a reader
 * never sees a half-written file — except a hardlink to a target that does not exist
 * yet, which `link()` creates whole in one step, so it is made under its final name.
 * The whole checkout is recorded in `.pvr/journal` first; a killed checkout is finished
 * by the next command (see transaction.ts), which re-places every file the stat cache
 * does not vouch for. Durability is made once, at the end (one `syncfs`), before the
 * journal is removed.
 *
 * Differences from the Go pvr: no file is written outside the repo (keys are validated
 * and no parent directory may be a symlink); blobs are verified before use; files that
 * are already right (per the stat cache) are not rewritten; the shared blob is not
 * chmod'ed by hardlink mode (the store keeps objects read-only).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { equalBytes } from "../bytes.ts";
import { canonicalJson } from "../model/canonical.ts";
import { goMarshalIndent } from "../model/go_json.ts";
import type { JsonValue } from "../model/json_value.ts";
import { validateStateKey } from "../model/paths.ts";
import { isInlineJson, type State } from "../model/state.ts";
import { linkOrRefused, placeFile, type PlaceMethod } from "../../native/place_file.ts";
import { syncPaths } from "../../native/durability.ts";
import { type FileStamp, fileStatterFor } from "../../native/walk_stat.ts";
import { sha256File } from "../store/hash.ts";
import type { Repo } from "./repo.ts";
import type { StatCache } from "./stat_cache.ts";
import { clearJournal, type Journal, writeJournal } from "./journal.ts";

/** Options for {@link checkoutState}. */
export interface CheckoutStateOptions {
  /** Hardlink blobs from the store instead of copying them (JSON is written canonically). */
  hardlink?: boolean;
  /** Write inline JSON canonically instead of 4-space indented. */
  canonical?: boolean;
  /** The stat cache (to skip files that are already right, and to record new ones). */
  cache: StatCache;
  /** Tracked keys to delete from the tree when their file still has the old content. */
  remove?: string[];
  /**
   * Also remove `.pvr/new` — recorded in the journal, and done before the journal is
   * removed, so a killed checkout finished by the next command clears it too.
   */
  clearAdded?: boolean;
}

/** What a checkout did. */
export interface CheckoutStateResult {
  /** Files written, by how: inline JSON, or a blob placed by hardlink, reflink or copy. */
  written: Record<"inline" | PlaceMethod, number>;
  /** Files that already had the right content. */
  unchanged: number;
  /** Files removed because they left the state. */
  removed: string[];
}

let tmpCounter = 0;
function tmpName(tmpDir: string): string {
  return `${tmpDir}/co.${Deno.pid}.${Date.now().toString(36)}.${(tmpCounter++).toString(36)}`;
}

/** The text of an inline JSON file as checkout writes it. */
export function inlineFileText(value: JsonValue, canonical: boolean): string {
  return canonical ? canonicalJson(value) : goMarshalIndent(value, "", "    ", { numbers: "text" });
}

/**
 * Makes sure every parent directory of `key` is a real directory inside the repo
 * (creating missing ones) — never a symlink, never a file. `absent` collects the
 * directories that did not exist: those found missing (with `create` false) or created.
 *
 * Returns false when the target certainly does not exist: a parent is missing (with
 * `create` false), or was created by this checkout. Callers then skip the `lstat`s of
 * the target, which would fail: in a checkout into an empty tree, the `NotFound` errors
 * of those calls cost more than the rest of the per-file work together.
 */
function ensureParents(
  root: string,
  key: string,
  checked: Set<string>,
  create = true,
  absent?: Set<string>,
  knownMissing?: ReadonlySet<string>,
): boolean {
  const segs = key.split("/");
  let rel = "";
  let fresh = false;
  for (let i = 0; i < segs.length - 1; i++) {
    rel = rel ? `${rel}/${segs[i]}` : segs[i];
    if (checked.has(rel)) {
      if (absent?.has(rel)) {
        if (!create) return false; // known missing
        fresh = true;
      }
      continue;
    }
    const abs = `${root}/${rel}`;
    if (create && (fresh || knownMissing?.has(rel)) && mkdirNew(abs)) {
      // Its parent was made by this checkout, or the preflight found it missing: made
      // without a look first (a failed lookup costs an exception, more than the mkdir).
      absent?.add(rel);
      checked.add(rel);
      fresh = true;
      continue;
    }
    let st: Deno.FileInfo | null = null;
    try {
      st = Deno.lstatSync(abs);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (st === null) {
      if (!create) {
        // Checking only: nothing below a missing directory exists.
        absent?.add(rel);
        checked.add(rel);
        return false;
      }
      Deno.mkdirSync(abs, { mode: 0o755 });
      absent?.add(rel);
      fresh = true;
    } else if (st.isSymlink) {
      throw new PvrError("UNSAFE_PATH", `refusing to write ${key}: ${rel} is a symbolic link`, {
        path: key,
      });
    } else if (!st.isDirectory) {
      throw new PvrError("BAD_WORKTREE", `cannot write ${key}: ${rel} is not a directory`, {
        path: key,
      });
    }
    checked.add(rel);
  }
  return !fresh;
}

/**
 * {@link ensureParents} (as `ensure`) memoised by parent directory: within one pass its
 * answer for a directory does not change, and most keys share their directory.
 */
function onePerDirectory(ensure: (key: string) => boolean): (key: string) => boolean {
  const memo = new Map<string, boolean>();
  return (key) => {
    const parent = key.slice(0, Math.max(key.lastIndexOf("/"), 0));
    let answer = memo.get(parent);
    if (answer === undefined) {
      answer = ensure(key);
      memo.set(parent, answer);
    }
    return answer;
  };
}

/**
 * Makes directory `abs`; false when something is there already (the caller then looks
 * at what). `mkdir` never follows a symlink in the last component.
 */
function mkdirNew(abs: string): boolean {
  try {
    Deno.mkdirSync(abs, { mode: 0o755 });
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

/**
 * Places one blob at `tmp`: a trusted object (verified before, per the stat cache) is
 * hardlinked, reflinked or copied directly; an untrusted one is copied through the
 * store, which verifies its hash on the way (and is then trusted). `st` is the object's
 * stat taken by the preflight (taken here when absent).
 */
async function placeBlob(
  repo: Repo,
  sha: string,
  tmp: string,
  hardlink: boolean,
  cache: StatCache,
  st: Deno.FileInfo | undefined,
): Promise<PlaceMethod> {
  const objPath = repo.store.pathOf(sha);
  st ??= statObject(repo, sha);
  if (!hardlink && !cache.objectTrusted(sha, st)) {
    await repo.store.copyTo(sha, tmp, 0o644); // verified on the way
    cache.recordObject(sha, st);
    return "copy";
  }
  await trustObject(repo, cache, sha, st);
  return await placeFile(objPath, tmp, hardlink ? "hardlink" : "auto", {
    mode: 0o644,
    srcInfo: st,
  });
}

function statObject(repo: Repo, sha: string, key?: string): Deno.FileInfo {
  try {
    return Deno.statSync(repo.store.pathOf(sha));
  } catch {
    throw missingObject(repo, sha, key);
  }
}

function missingObject(repo: Repo, sha: string, key?: string): PvrError {
  return new PvrError(
    "OBJECT_MISSING",
    `object ${sha} is missing from ${repo.store.location}`,
    key === undefined ? undefined : { path: key },
  );
}

/**
 * Makes sure object `sha`, whose stat is `st`, holds its bytes: when the stat cache does
 * not vouch for it, it is hashed (anything but a match is an error) and recorded.
 */
async function trustObject(
  repo: Repo,
  cache: StatCache,
  sha: string,
  st: Deno.FileInfo,
  key?: string,
): Promise<void> {
  if (cache.objectTrusted(sha, st)) return;
  await verifyObject(repo, sha, key);
  cache.recordObject(sha, st);
}

/** Hashes an object; anything but a match is an error. */
async function verifyObject(repo: Repo, sha: string, key?: string): Promise<void> {
  const v = await repo.store.verify(sha);
  if (v !== "ok") {
    throw new PvrError(
      v === "missing" ? "OBJECT_MISSING" : "OBJECT_CORRUPT",
      `object ${sha} is ${v}`,
      key === undefined ? undefined : { path: key },
    );
  }
}

/**
 * Hardlinks a trusted object straight to `target`, which is known not to exist (its
 * directory was created by this checkout, or an `lstat` found nothing): `link()` makes
 * the name and the whole content appear at once, so the temp name and the rename of
 * the other paths are not needed. Returns false when the link could not be made here
 * (the name appeared meanwhile, or the file system wants a copy): the caller then takes
 * the temp-name path.
 */
function linkDirect(objPath: string, target: string): boolean {
  try {
    return linkOrRefused(objPath, target);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}

/** Writes `state` into the repo's working tree. The caller holds the repo lock. */
export async function checkoutState(
  repo: Repo,
  state: State,
  opts: CheckoutStateOptions,
): Promise<CheckoutStateResult> {
  const hardlink = !!opts.hardlink;
  const canonical = !!opts.canonical || hardlink;
  const keys = [...state.keys()].filter((k) => k !== "#spec");
  for (const key of keys) validateStateKey(key);
  const pre = await preflight(repo, state, keys, hardlink, opts.cache);
  const journal: Journal = {
    op: "checkout",
    hardlink,
    canonical,
    remove: opts.remove ?? [],
    clearAdded: !!opts.clearAdded,
  };
  await writeJournal(repo.paths, journal);
  try {
    return await writeState(repo, state, keys, journal, opts.cache, pre);
  } catch (err) {
    // A checkout that failed (rather than being killed) is reported, not replayed by
    // every later command: a kept journal would make status, fsck, ... fail the same way.
    await clearJournal(repo.paths).catch(() => {});
    throw err;
  }
}

/**
 * True when the working file of blob `key` (whose `lstat` is `current`) already holds
 * `sha` (per the stat cache) and, in hardlink mode, is the store's inode.
 */
function alreadyRight(
  repo: Repo,
  key: string,
  sha: string,
  hardlink: boolean,
  cache: StatCache,
  current: Deno.FileInfo,
): boolean {
  if (!current.isFile || cache.lookupFile(key, current) !== sha) return false;
  return !hardlink || current.ino === lstatOrNull(repo.store.pathOf(sha))?.ino;
}

/**
 * The `lstat` of the target of `key` (null when there is none), after making sure
 * that no directory is in the way. `mayExist` false means a parent directory is
 * missing or was created by this checkout: then nothing is looked up (see
 * {@link ensureParents}); `created` names the directories this checkout made.
 */
function probeTarget(
  target: string,
  key: string,
  mayExist: boolean,
  created?: Set<string>,
): Deno.FileInfo | null {
  const current = mayExist ? lstatOrNull(target) : null;
  // In a directory this checkout created, only what it made can be in the way.
  if (current ? current.isDirectory : created?.has(key)) {
    throw new PvrError("BAD_WORKTREE", `cannot check out ${key}: a directory is in the way`, {
      path: key,
    });
  }
  return current;
}

/** What the preflight found. */
interface Preflight {
  /**
   * The stat of each object to place in an existing file's stead (so the writing pass
   * need not take it again); every one of them is trusted by the stat cache.
   */
  objects: Map<string, Deno.FileInfo>;
  /**
   * Hardlink mode: blob keys whose target does not exist, in state order. Their objects
   * are checked on the link itself (see {@link writeState}), not here.
   */
  fresh: string[];
  /** Directories found missing (the first missing one of each path). */
  missing: Set<string>;
}

/**
 * Refuses a checkout that would fail part-way, before anything is written: a parent
 * directory that is a symlink or a file, a directory where a file goes, an object to
 * place that is not in the store, and an object whose bytes do not match its name
 * (every object this repo has not verified before is hashed here, and then trusted).
 *
 * In hardlink mode, the objects of targets that do not exist yet are not looked at
 * here: the writing pass links those first, checks each object on its link (one stat
 * of the very inode linked, instead of one of the object and one of the link), and
 * takes back everything it made when one fails, before any existing file is touched.
 */
async function preflight(
  repo: Repo,
  state: State,
  keys: string[],
  hardlink: boolean,
  cache: StatCache,
): Promise<Preflight> {
  const checked = new Set<string>();
  const missing = new Set<string>();
  const parents = onePerDirectory((key) => ensureParents(repo.dir, key, checked, false, missing));
  const objects = new Map<string, Deno.FileInfo>();
  const fresh: string[] = [];
  for (const key of keys) {
    const mayExist = parents(key);
    const current = probeTarget(`${repo.dir}/${key}`, key, mayExist);
    const value = state.get(key)!;
    if (isInlineJson(key, value)) continue;
    if (hardlink && current === null) {
      fresh.push(key);
      continue;
    }
    const sha = (value as string).toLowerCase();
    if (current && alreadyRight(repo, key, sha, hardlink, cache, current)) continue;
    if (objects.has(sha)) continue;
    const st = statObject(repo, sha, key);
    await trustObject(repo, cache, sha, st, key);
    objects.set(sha, st);
  }
  return { objects, fresh, missing };
}

/** The writing part of {@link checkoutState} (the journal is in place). */
async function writeState(
  repo: Repo,
  state: State,
  keys: string[],
  journal: Journal,
  cache: StatCache,
  pre: Preflight,
): Promise<CheckoutStateResult> {
  const { hardlink, canonical } = journal;
  const { objects } = pre;
  const tmpDir = await repo.tmpDir();
  const result: CheckoutStateResult = {
    written: { inline: 0, hardlink: 0, reflink: 0, copy: 0 },
    unchanged: 0,
    removed: [],
  };
  const checked = new Set<string>();
  /** Directories this checkout created: nothing is in them but what it wrote. */
  const created = new Set<string>();
  const parents = onePerDirectory((key) =>
    ensureParents(repo.dir, key, checked, true, created, pre.missing)
  );
  const written: string[] = [];

  // 1. Hardlink mode: the blobs whose target does not exist, each object checked on its
  // link. A failure takes back every file and directory made so far: nothing existing
  // has been touched yet.
  const placed = new Set<string>();
  if (pre.fresh.length > 0) {
    const fresh: FreshPass = {
      repo,
      cache,
      tmpDir,
      parents,
      created,
      written,
      placed,
      objects,
      fastStat: fileStatterFor(repo.dir),
    };
    try {
      for (const key of pre.fresh) {
        const method = await placeFresh(fresh, key, (state.get(key) as string).toLowerCase());
        if (method !== null) result.written[method]++;
      }
    } catch (err) {
      undoFresh(fresh);
      throw err;
    }
  }

  // 2. Everything else.
  for (const key of keys) {
    if (placed.has(key)) continue;
    const value = state.get(key)!;
    const target = `${repo.dir}/${key}`;
    const mayExist = parents(key);
    const current = probeTarget(target, key, mayExist, created);
    let tmp: string | null = null;
    try {
      if (isInlineJson(key, value)) {
        const bytes = encoder.encode(inlineFileText(value, canonical));
        if (current && sameBytes(target, bytes, current)) {
          result.unchanged++;
          continue;
        }
        // Synchronous: for a small file an async op costs more than the work.
        tmp = tmpName(tmpDir);
        Deno.writeFileSync(tmp, bytes, { mode: 0o644 });
        Deno.renameSync(tmp, target);
        written.push(target);
        result.written.inline++;
        continue;
      }
      const sha = (value as string).toLowerCase();
      if (current && alreadyRight(repo, key, sha, hardlink, cache, current)) {
        result.unchanged++;
        continue;
      }
      const objSt = objects.get(sha);
      if (
        hardlink && current?.isFile && objSt !== undefined && current.ino === objSt.ino &&
        current.dev === objSt.dev
      ) {
        // Already a link to the (verified) object, which the cache did not know (a killed
        // checkout made it): a rename of another link over it would do nothing at all.
        result.unchanged++;
        cache.recordFile(key, current, sha);
        continue;
      }
      let method: PlaceMethod;
      if (
        hardlink && current === null && objSt !== undefined && cache.objectTrusted(sha, objSt) &&
        linkDirect(repo.store.pathOf(sha), target)
      ) {
        method = "hardlink";
      } else {
        tmp = tmpName(tmpDir);
        method = await placeBlob(repo, sha, tmp, hardlink, cache, objSt);
        Deno.renameSync(tmp, target);
      }
      tmp = null;
      written.push(target);
      result.written[method]++;
      const st = Deno.statSync(target);
      if (method === "hardlink" && objSt !== undefined && st.ino !== objSt.ino) {
        // The object was replaced (by another writer of the store) after it was
        // checked: what was linked is not the verified inode, so check its bytes.
        await verifyLinked(target, sha, key);
      }
      cache.recordFile(key, st, sha);
    } catch (err) {
      if (tmp !== null) await Deno.remove(tmp).catch(() => {});
      throw err;
    }
  }

  for (const key of journal.remove) {
    if (state.has(key)) continue;
    validateStateKey(key);
    const target = `${repo.dir}/${key}`;
    const st = lstatOrNull(target);
    if (!st || !st.isFile) continue;
    // Only a file pvr saw last time, unchanged since, whose bytes are safe in the store.
    const sha = cache.lookupFile(key, st);
    if (sha !== undefined && await repo.store.has(sha)) {
      await Deno.remove(target);
      cache.forgetFile(key);
      result.removed.push(key);
    }
  }

  // Everything in place must be on disk before the journal goes away.
  const dirs = new Set(written.map((p) => p.slice(0, p.lastIndexOf("/"))));
  await syncPaths(repo.dir, written, [...dirs]);
  if (journal.clearAdded) await repo.clearAdded();
  await clearJournal(repo.paths);
  return result;
}

/** What the first pass of {@link writeState} works with. */
interface FreshPass {
  repo: Repo;
  cache: StatCache;
  tmpDir: string;
  /** Makes the parent directories of a key (see {@link ensureParents}). */
  parents: (key: string) => boolean;
  created: Set<string>;
  /** Targets written (all of them new names). */
  written: string[];
  /** Keys placed by this pass. */
  placed: Set<string>;
  /** Objects checked for the second pass (see {@link Preflight.objects}). */
  objects: Map<string, Deno.FileInfo>;
  /** Stats a new link through FFI where it may (see `fileStatterFor`), else null. */
  fastStat: (path: string) => FileStamp | null;
}

/**
 * Places blob `key` (object `sha`), whose target did not exist at the preflight, in
 * hardlink mode. The object is linked straight to the target; the stat of the link,
 * which is the object's inode, is the trust check (an object this repo never verified
 * is hashed through the link, and a wrong one removed) and the stat cache's record.
 * When the file system refuses the link, the object is checked as the preflight would
 * have, then placed through a temp name. Returns null, placing nothing, when the
 * target appeared meanwhile: the second pass replaces it (its object checked here).
 */
async function placeFresh(f: FreshPass, key: string, sha: string): Promise<PlaceMethod | null> {
  const { repo, cache } = f;
  const target = `${repo.dir}/${key}`;
  const objPath = repo.store.pathOf(sha);
  const mayExist = f.parents(key);
  if (probeTarget(target, key, mayExist, f.created) === null) {
    let linked: boolean;
    try {
      linked = linkDirect(objPath, target);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && lstatOrNull(objPath) === null) {
        throw missingObject(repo, sha, key);
      }
      throw err;
    }
    if (linked) {
      f.written.push(target);
      f.placed.add(key);
      const st = f.fastStat(target) ?? Deno.statSync(target);
      if (!cache.objectTrusted(sha, st)) {
        await verifyLinked(target, sha, key);
        cache.recordObject(sha, st);
      }
      cache.recordFile(key, st, sha);
      return "hardlink";
    }
  }
  const objSt = statObject(repo, sha, key);
  await trustObject(repo, cache, sha, objSt, key);
  f.objects.set(sha, objSt);
  if (lstatOrNull(target) !== null) return null;
  // The file system refused the link just tried: a copy, as placeFile's hardlink
  // strategy would make after trying (and failing) once more.
  const tmp = tmpName(f.tmpDir);
  try {
    const method = await placeFile(objPath, tmp, "copy", {
      mode: 0o644,
      srcInfo: objSt,
    });
    Deno.renameSync(tmp, target);
    f.written.push(target);
    f.placed.add(key);
    cache.recordFile(key, Deno.statSync(target), sha);
    return method;
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Takes back what the first pass made: its files, then its directories, deepest first. */
function undoFresh(f: FreshPass): void {
  for (const path of f.written) {
    try {
      Deno.removeSync(path);
    } catch {
      // gone already (a wrong object's link is removed where it is found)
    }
  }
  for (const key of f.placed) f.cache.forgetFile(key);
  const dirs = [...f.created].sort((a, b) => b.length - a.length);
  for (const rel of dirs) {
    try {
      Deno.removeSync(`${f.repo.dir}/${rel}`); // only when empty: never what others wrote
    } catch {
      // not empty, or gone
    }
  }
}

/** Hashes a file just linked into the tree; on a mismatch it is removed again. */
async function verifyLinked(target: string, sha: string, key: string): Promise<void> {
  const got = (await sha256File(target)).sha;
  if (got === sha) return;
  await Deno.remove(target).catch(() => {});
  throw new PvrError("OBJECT_CORRUPT", `object ${sha} is corrupt`, { path: key });
}

const encoder = new TextEncoder();

/** True when `path` (whose `lstat` is `st`) is a regular file holding exactly `bytes` (small files only). */
function sameBytes(path: string, bytes: Uint8Array, st: Deno.FileInfo): boolean {
  if (!st.isFile || st.size !== bytes.length) return false;
  return equalBytes(Deno.readFileSync(path), bytes);
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}
