/**
 * Crash scenarios shared by `tests/integration/crash_recovery.test.ts` and
 * `scripts/stress_crash.ts`.
 *
 * A {@link Fixture} is a repository prepared for one operation (commit, checkout,
 * merge, import) together with the two states it may end in: the old one (before the
 * operation) and the new one (after an uninterrupted run, which also measures how long
 * the operation takes). A trial ({@link runTrial}) copies the fixture, runs
 * `deno run -A main.ts <op>` in a subprocess, kills it with SIGKILL after a delay drawn
 * from a seeded PRNG over 0..1.2× that duration, and checks that the copy holds the old
 * or the new state, that the next command recovers, that `pvr fsck` is clean and that
 * every object in the store hashes to its name.
 *
 * Copies are cheap: working files and objects are hardlinked (pvr only reads them or
 * replaces them by rename; fixtures themselves are written with new inodes only), and
 * the copy's stat cache is re-stamped, since a new link changes a file's ctime. For
 * the same reason trials must run one at a time: linking a fixture's files for one
 * trial would invalidate the stat cache of a trial running beside it.
 *
 * The helpers at the end watch the repository lock from outside (through
 * `/proc/locks`, Linux) for the lock tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runCli } from "../../commands/cli.ts";
import { BufferStream } from "../../commands/output.ts";
import { add } from "../../core/ops/add.ts";
import { commit } from "../../core/ops/commit.ts";
import { exportRepo } from "../../core/ops/export_repo.ts";
import { get } from "../../core/ops/get.ts";
import { init } from "../../core/ops/init.ts";
import { json as workingJson } from "../../core/ops/json.ts";
import { canonicalJson } from "../../core/model/canonical.ts";
import { Repo, repoPaths } from "../../core/repo/repo.ts";
import { StatCache } from "../../core/repo/stat_cache.ts";
import { FsObjectStore } from "../../core/store/fs_store.ts";
import { sha256File } from "../../core/store/hash.ts";

/** The operations the crash trials interrupt. */
export const CRASH_OPS = ["commit", "checkout", "merge", "import"] as const;

/** One of {@link CRASH_OPS}. */
export type CrashOp = typeof CRASH_OPS[number];

/** Kill delays are spread over 0..KILL_SPAN × the measured duration (some trials finish). */
export const KILL_SPAN = 1.2;

/** The pvr executable run by the trials. */
export const PVR_MAIN = new URL("../../main.ts", import.meta.url).pathname;

// ---------------------------------------------------------------------------------
// Seeds

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string (to derive one independent PRNG per trial). */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The kill point of one trial as a fraction of {@link KILL_SPAN} × duration, in [0, 1).
 * It depends only on (seed, op, trial), so one trial replays without the others.
 */
export function killFraction(seed: number, op: CrashOp, trial: number): number {
  return mulberry32(hash32(`${seed}/${op}/${trial}`))();
}

/** A fresh random seed. */
export function randomSeed(): number {
  return 1 + Math.floor(Math.random() * 0x7fffffff);
}

/** Parses a seed (a non-negative integer); `what` names its origin in the error. */
export function parseSeed(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${what}=${text}: a seed is a non-negative integer`);
  }
  return n;
}

/** The seed from `PVR_CRASH_SEED`, else a fresh random one (printed by the callers). */
export function seedFromEnv(): number {
  const text = Deno.env.get("PVR_CRASH_SEED");
  return text ? parseSeed(text, "PVR_CRASH_SEED") : randomSeed();
}

// ---------------------------------------------------------------------------------
// Running pvr

/** What a pvr run returned. */
export interface PvrRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A subprocess run of pvr. */
export interface PvrProcessRun extends PvrRun {
  /** True when it was killed for running longer than the timeout. */
  timedOut: boolean;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** Where a pvr command runs. */
export interface PvrPlace {
  /** The repository (the command's working directory). */
  cwd: string;
  /** `PVR_CONFIG_DIR`. */
  configDir: string;
}

const decoder = new TextDecoder();

/** The `deno run -A main.ts <args>` command, with a clean pvr environment. */
export function pvrCommand(
  args: string[],
  place: PvrPlace,
  stdio: "piped" | "null" = "piped",
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", PVR_MAIN, ...args],
    cwd: place.cwd,
    env: { PVR_CONFIG_DIR: place.configDir, PVR_WAIT: "", PVR_DEBUG: "", NO_COLOR: "1" },
    stdin: "null",
    stdout: stdio,
    stderr: stdio,
  });
}

/** Runs pvr in a subprocess to the end, or SIGKILLs it after `timeoutMs` (default 60 s). */
export async function runPvr(
  args: string[],
  place: PvrPlace,
  timeoutMs = 60_000,
): Promise<PvrProcessRun> {
  const t0 = performance.now();
  const child = pvrCommand(args, place).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    timedOut: out.signal === "SIGKILL",
    ms: performance.now() - t0,
  };
}

/**
 * Runs the pvr command line in this process (same code as the executable, without the
 * start-up cost of a subprocess): used for the commands that follow a kill.
 */
export async function runPvrInProcess(args: string[], place: PvrPlace): Promise<PvrRun> {
  const stdout = new BufferStream();
  const stderr = new BufferStream();
  const code = await runCli(args, {
    stdout,
    stderr,
    env: { PVR_CONFIG_DIR: place.configDir },
    cwd: place.cwd,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A subprocess run that may have been killed. */
export interface KilledRun extends PvrRun {
  /** True when SIGKILL ended it (false: it finished before the kill). */
  killed: boolean;
  /** Wall time from spawn to exit. */
  ms: number;
}

/**
 * Spawns pvr, sends SIGKILL after `delayMs` unless it has exited, and waits for it. With
 * `startAt`, the delay starts when that path appears (say `.pvr/journal`: the command
 * is writing), not at the spawn.
 */
export async function runPvrKilledAfter(
  args: string[],
  place: PvrPlace,
  delayMs: number,
  startAt?: string,
): Promise<KilledRun> {
  const t0 = performance.now();
  const child = pvrCommand(args, place).spawn();
  const output = child.output();
  let exited = false;
  const settled = output.then(() => {
    exited = true;
  }, () => {
    exited = true;
  });
  while (
    startAt !== undefined && !exited && (await Deno.lstat(startAt).catch(() => null)) === null
  ) {
    await new Promise((r) => setTimeout(r, 0));
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([settled, new Promise((r) => timer = setTimeout(r, delayMs))]);
  clearTimeout(timer);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch {
      // It exited between the check and the kill.
    }
  }
  const out = await output;
  return {
    killed: out.signal === "SIGKILL",
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

// ---------------------------------------------------------------------------------
// Looking at a repository

/** Runs `fn` over `items`, `width` at a time (file checks are latency-bound). */
async function eachLimited<T>(items: T[], fn: (item: T) => Promise<void>, width = 8) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Every file of a working tree (top-level `.pvr` excluded): path → sha256 of its bytes. */
export type TreeSnapshot = Map<string, string>;

/** Snapshots the working tree at `dir`. */
export async function snapshotTree(dir: string): Promise<TreeSnapshot> {
  const keys: { key: string; symlink: boolean }[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (key === ".pvr") continue;
      if (e.isDirectory) await walk(key);
      else keys.push({ key, symlink: e.isSymlink });
    }
  };
  await walk("");
  const out = new Map<string, string>();
  await eachLimited(keys, async ({ key, symlink }) => {
    const path = `${dir}/${key}`;
    out.set(key, symlink ? `symlink:${await Deno.readLink(path)}` : (await sha256File(path)).sha);
  });
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The differences between two snapshots, for messages ("" when equal). */
export function treeDifference(actual: TreeSnapshot, expected: TreeSnapshot, max = 6): string {
  const lines: string[] = [];
  for (const [k, v] of expected) {
    const a = actual.get(k);
    if (a === undefined) lines.push(`missing ${k}`);
    else if (a !== v) lines.push(`different ${k}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) lines.push(`unexpected ${k}`);
  if (lines.length === 0) return "";
  const more = lines.length > max ? `, and ${lines.length - max} more` : "";
  return lines.slice(0, max).join(", ") + more;
}

function sameTree(a: TreeSnapshot, b: TreeSnapshot): boolean {
  return treeDifference(a, b, 0) === "";
}

/** True when two byte arrays (or two nulls) are equal. */
export function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function readOrNull(path: string): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function existsPath(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Names in a directory; empty when it does not exist. */
async function dirNames(path: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** Names of the object store's own temp files (`.<hex>.<pid>.<hex>.tmp`). */
const STORE_TEMP = /^\.[0-9a-f]+\.[0-9]+\.[0-9a-f]+\.tmp$/;
const OBJECT_NAME = /^[0-9a-f]{64}$/;
/** Temp files of `writeFileAtomic` (`.<name>.<pid>.<hex>.tmp`). */
const ATOMIC_TEMP = /^\..+\.[0-9]+\.[0-9a-f]+\.tmp$/;

/** What {@link checkObjectsDir} found. */
export interface ObjectsCheck {
  /** Objects (64-hex names), each re-hashed. */
  objects: number;
  /** Temp files left by killed writers. */
  temps: number;
  /** Objects whose bytes do not match their name, and unexpected entries. */
  problems: string[];
}

/**
 * Re-hashes every object of the store at `dir` (`FsObjectStore.list` + `verify`) and
 * reports any entry that is neither an object nor one of the store's temp files.
 */
export async function checkObjectsDir(dir: string): Promise<ObjectsCheck> {
  const store = new FsObjectStore(dir);
  const problems: string[] = [];
  const shas: string[] = [];
  for await (const sha of store.list()) shas.push(sha);
  await eachLimited(shas, async (sha) => {
    const v = await store.verify(sha);
    if (v !== "ok") problems.push(`object ${sha} is ${v}`);
  });
  const objects = shas.length;
  let temps = 0;
  for (const name of await dirNames(dir)) {
    if (OBJECT_NAME.test(name)) continue;
    if (STORE_TEMP.test(name)) temps++;
    else problems.push(`unexpected entry ${name} in the objects dir`);
  }
  return { objects, temps, problems };
}

// ---------------------------------------------------------------------------------
// Fixtures

/** How much data a fixture holds. */
export interface FixtureSize {
  /** Small files (256 B .. 8 KiB) in the base tree. */
  small: number;
  /** Multi-MiB files in the base tree. */
  big: number;
  /** Size of each of them, in MiB. */
  bigMiB: number;
}

/** The default: a few hundred small files and a few multi-MiB files. */
export const DEFAULT_SIZE: FixtureSize = { small: 200, big: 3, bigMiB: 4 };

/** One way to run the operation (trial `i` uses variant `i % variants.length`). */
export interface Variant {
  label: string;
  /** pvr arguments. */
  args: string[];
  /** Duration of the uninterrupted reference run, spawn to exit. */
  ms: number;
}

/**
 * A repository (`<root>/repo`) with its config dir (`<root>/config`, PVR_CONFIG_DIR,
 * holding the objects), and the stat-cache entries that are valid for it (key → sha),
 * taken before anything linked its files (a new link changes a file's ctime).
 */
interface Template {
  root: string;
  cached: Map<string, string>;
}

/** A repository prepared for one operation, with its old and new states. */
export interface Fixture extends Template {
  op: CrashOp;
  /** `.pvr/json` before the operation. */
  oldJson: Uint8Array;
  /** `.pvr/json` after an uninterrupted run (the same as oldJson for checkout). */
  newJson: Uint8Array;
  /** `.pvr/new` before the operation (null: absent). */
  oldAdded: Uint8Array | null;
  /** The working tree before the operation. */
  oldTree: TreeSnapshot;
  /** The working tree after an uninterrupted run (oldTree but for checkout). */
  newTree: TreeSnapshot;
  /** Files that no state tracks: every trial must leave them byte for byte. */
  untracked: string[];
  variants: Variant[];
  /** Where the trials' copies go (on the fixture's file system: they hardlink to it). */
  trialsDir: string;
}

/** The fixtures of one run, in one temp dir. */
export interface FixtureSet {
  root: string;
  fixtures: Fixture[];
  /** The fixture of `op` (which must have been built). */
  get(op: CrashOp): Fixture;
  /** Removes everything. */
  cleanup(): Promise<void>;
}

/** Deterministic pseudo-random bytes (xorshift32). */
function bytesOf(size: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (Math.imul(seed + 1, 0x9e3779b1) >>> 0) || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, size);
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");
const smallKey = (i: number) => `small/d${pad(i % 15, 2)}/f${pad(i, 3)}.bin`;
const smallBytes = (i: number, variant: number) =>
  bytesOf(256 + ((i * 977 + variant * 131) % 7937), variant * 100_000 + i);
const cfgKey = (i: number) => `cfg/c${pad(i, 2)}.json`;
/** JSON written 2-space indented (not as pvr writes it, so checkout reformats it). */
const cfgText = (i: number, variant: number) =>
  JSON.stringify({ name: `c${pad(i, 2)}`, index: i, rev: variant, values: [i, i * 2] }, null, 2);
const bigKey = (i: number) => `big/b${i}.img`;
const bigBytes = (i: number, variant: number, size: FixtureSize) =>
  bytesOf(size.bigMiB << 20, 900_000 + variant * 1000 + i);

/** Untracked files of every fixture. */
const UNTRACKED: Record<string, string> = {
  "notes/todo.txt": "untracked notes\n",
  "notes/deep/keep.me": "never added\n",
  "scratch.log": "log line\n".repeat(50),
};

/** The base tree every fixture's repository commits first (state "A"). */
function baseTree(size: FixtureSize): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = {};
  for (let i = 0; i < size.small; i++) files[smallKey(i)] = smallBytes(i, 0);
  for (let i = 0; i < 20; i++) files[cfgKey(i)] = cfgText(i, 0);
  for (let i = 0; i < size.big; i++) files[bigKey(i)] = bigBytes(i, 0, size);
  return files;
}

/** The tracked top-level paths of the base tree (so `notes/`, `scratch.log` stay untracked). */
const TRACKED_ROOTS = ["small", "cfg", "big"];

/** Lets the clock tick past files just written, so the stat cache trusts them (racy-git rule). */
const settle = () => new Promise((r) => setTimeout(r, 30));

/**
 * Writes files under `dir`, each as a new inode (an existing file is unlinked first:
 * fixtures share inodes through hardlinks and must never be written in place).
 */
async function putFiles(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
}

async function removeFiles(dir: string, keys: string[]): Promise<void> {
  for (const k of keys) await Deno.remove(`${dir}/${k}`);
}

/**
 * Copies a directory tree: files for which `link(rel)` is true are hardlinked (cheap,
 * and safe for files pvr only reads or replaces by rename: objects, working files),
 * the others are copied with their modification time.
 */
async function linkTree(
  from: string,
  to: string,
  link: (rel: string) => boolean,
  rel = "",
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  const entries: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(from)) entries.push(e);
  await eachLimited(entries, async (e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const src = `${from}/${e.name}`;
    const dst = `${to}/${e.name}`;
    if (e.isDirectory) await linkTree(src, dst, link, r);
    else if (e.isSymlink) await Deno.symlink(await Deno.readLink(src), dst);
    else if (link(r)) await Deno.link(src, dst);
    else {
      await Deno.copyFile(src, dst);
      const st = await Deno.stat(src);
      await Deno.utime(dst, st.atime ?? new Date(), st.mtime ?? new Date());
    }
  }, 4);
}

/** The valid stat-cache entries of a template's repository, right now. */
async function validCacheEntries(root: string): Promise<Map<string, string>> {
  const cache = await StatCache.load(`${root}/repo/.pvr/stat-cache`);
  const out = new Map<string, string>();
  for (const key of [...cache.fileKeys()]) {
    const st = await Deno.lstat(`${root}/repo/${key}`).catch(() => null);
    const sha = st ? cache.lookupFile(key, st) : undefined;
    if (sha !== undefined) out.set(key, sha);
  }
  return out;
}

/** A copy of a template. */
interface Workspace extends PvrPlace {
  root: string;
}

/**
 * Copies a template to `dest` (working files and objects hardlinked, `.pvr/` and the
 * rest copied), points the copy's `.pvr/config` at the copied objects dir, and
 * re-stamps the copy's stat cache with the template's valid entries, so the copy
 * behaves as the template did (a stale cache would make checkout keep files it
 * should remove).
 */
async function cloneTemplate(t: Template, dest: string): Promise<Workspace> {
  const cwd = `${dest}/repo`;
  const configDir = `${dest}/config`;
  await linkTree(`${t.root}/repo`, cwd, (r) => r !== ".pvr" && !r.startsWith(".pvr/"));
  await linkTree(`${t.root}/config`, configDir, (r) => r.startsWith("objects/"));
  const repo = await Repo.open({ dir: cwd, configDir });
  await repo.writeConfig({ ...repo.config, ObjectsDir: `${configDir}/objects` });
  const ws = { root: dest, cwd, configDir };
  await restampCache(ws, t.cached);
  return ws;
}

/**
 * Records `cached` (key → sha, for files known to hold those bytes) and every object
 * with their current stat in the stat cache of `ws`. Needed after anything linked the
 * files, since a new link changes a file's ctime and so invalidates its entry.
 */
async function restampCache(ws: Workspace, cached: Map<string, string>): Promise<void> {
  const cache = await StatCache.load(repoPaths(ws.cwd).statCache);
  for (const [key, sha] of cached) cache.recordFile(key, await Deno.lstat(`${ws.cwd}/${key}`), sha);
  const store = new FsObjectStore(`${ws.configDir}/objects`);
  for await (const sha of store.list()) cache.recordObject(sha, await Deno.stat(store.pathOf(sha)));
  await cache.save(); // newer than every copied file (their mtimes are kept): all trusted
}

/**
 * Stores the blobs of the files under `dir` (all but `.json` files, `.pvr` skipped) in
 * the objects dir without fsync, so the fixture's own commits find them present and
 * skip their fsyncs: building a fixture is setup, not the subject of the test.
 */
async function prestore(dir: string, objectsDir: string): Promise<void> {
  const store = await FsObjectStore.open(objectsDir, { create: true, fsync: false });
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (key === ".pvr") continue;
      if (e.isDirectory) await walk(key);
      else if (e.isFile && !key.endsWith(".json")) await store.putFile(`${dir}/${key}`);
    }
  };
  await walk("");
}

/** Builds the base repository (state A committed) at `<root>/repo` + `<root>/config`. */
async function buildBase(root: string, size: FixtureSize): Promise<Template> {
  const dir = `${root}/repo`;
  const configDir = `${root}/config`;
  await putFiles(dir, baseTree(size));
  await prestore(dir, `${configDir}/objects`);
  await putFiles(dir, UNTRACKED);
  await settle();
  await init({ dir, configDir });
  await add({ dir, configDir, paths: TRACKED_ROOTS });
  await commit({ dir, configDir, message: "A" });
  return { root, cached: await validCacheEntries(root) };
}

/** The commit fixture: state A committed, then files changed, removed and added. */
async function prepareCommit(ws: Workspace, size: FixtureSize): Promise<string[][]> {
  const { cwd: dir, configDir } = ws;
  const changed: Record<string, Uint8Array | string> = {};
  for (let i = 1; i < size.small; i += 6) changed[smallKey(i)] = smallBytes(i, 1);
  changed[bigKey(1 % size.big)] = bigBytes(1, 1, size);
  for (let i = 0; i < 5; i++) changed[cfgKey(i)] = cfgText(i, 1);
  for (let i = 0; i < 60; i++) changed[`small/new/n${pad(i, 3)}.bin`] = smallBytes(i, 2);
  changed[`big/b${size.big}.img`] = bigBytes(size.big, 1, size);
  await putFiles(dir, changed);
  const gone: string[] = [];
  for (let i = 3; i < size.small; i += 10) gone.push(smallKey(i));
  gone.push(cfgKey(18), cfgKey(19));
  await removeFiles(dir, gone);
  await add({ dir, configDir, paths: ["small/new", `big/b${size.big}.img`] });
  return [["commit", "-m", "B"]];
}

/**
 * The checkout fixture: state A committed and in the tree; then `get` of state B from
 * another repository (files changed, new, and gone in B), and local edits: tracked
 * files deleted (missing), a tracked file edited, a file that left the state edited
 * (kept), a file added but not committed (`.pvr/new`).
 */
async function prepareCheckout(
  ws: Workspace,
  size: FixtureSize,
  cached: Map<string, string>,
): Promise<string[][]> {
  const { cwd: dir, configDir } = ws;
  const src = `${ws.root}/src`;
  await linkTree(dir, src, () => true);
  await Deno.remove(`${src}/.pvr`, { recursive: true });
  for (const k of Object.keys(UNTRACKED)) await Deno.remove(`${src}/${k}`);
  const b: Record<string, Uint8Array | string> = {};
  for (let i = 2; i < size.small; i += 5) b[smallKey(i)] = smallBytes(i, 3);
  b[bigKey(1 % size.big)] = bigBytes(1, 3, size);
  for (let i = 0; i < 5; i++) b[cfgKey(i)] = cfgText(i, 3);
  for (let i = 0; i < 40; i++) b[`small/new/n${pad(i, 3)}.bin`] = smallBytes(i, 4);
  b[`big/b${size.big}.img`] = bigBytes(size.big, 3, size);
  b["cfg/new.json"] = '{"added":true,"n":1e3}';
  await putFiles(src, b);
  const gone = [smallKey(0), cfgKey(19)];
  for (let i = 5; i < size.small; i += 8) gone.push(smallKey(i));
  await removeFiles(src, gone);
  await prestore(src, `${configDir}/objects`);
  await settle();
  await init({ dir: src, configDir });
  await add({ dir: src, configDir });
  await commit({ dir: src, configDir, message: "B" });
  await get({ dir, configDir, ref: src });
  await Deno.remove(src, { recursive: true });
  await restampCache(ws, cached); // the links to src changed the ctimes; no file changed yet

  const missing: string[] = [];
  for (let i = 1; i < Math.min(size.small, 80); i += 8) missing.push(smallKey(i));
  await removeFiles(dir, missing);
  await putFiles(dir, {
    [smallKey(0)]: "edited locally, then left the state: kept\n",
    [smallKey(2)]: "edited locally, changed in B: overwritten\n",
    "notes/added.txt": "added, never committed\n",
  });
  await add({ dir, configDir, paths: ["notes/added.txt"] });
  return [["checkout"]];
}

/**
 * The source of the merge and import fixtures: state C in its own repository and
 * objects dir (new apps, a replaced image, an inline JSON to deep-merge), exported as
 * `src.tgz` and `src.tar`.
 */
async function buildSource(root: string, size: FixtureSize): Promise<string> {
  const dir = `${root}/repo`;
  const configDir = `${root}/config`;
  const c: Record<string, Uint8Array | string> = {};
  for (let i = 0; i < Math.max(1, Math.floor(size.small * 2 / 3)); i++) {
    c[`apps/app/d${pad(i % 10, 2)}/f${pad(i, 3)}.bin`] = smallBytes(i, 5);
  }
  for (let i = 0; i < size.big; i++) c[`apps/big/big${i}.img`] = bigBytes(i, 5, size);
  c[bigKey(0)] = bigBytes(0, 6, size);
  c[cfgKey(0)] = '{"extra":{"merged":true},"rev":7}';
  c["apps/app/run.json"] = '{"cmd":["/bin/app","--serve"],"big":12345678901234567890}';
  await putFiles(dir, c);
  await prestore(dir, `${configDir}/objects`);
  await init({ dir, configDir });
  await add({ dir, configDir });
  await commit({ dir, configDir, message: "C" });
  await exportRepo({ dir, configDir, output: `${root}/src.tgz` });
  await exportRepo({ dir, configDir, output: `${root}/src.tar` });
  return root;
}

/** Uninterrupted runs per variant; the fastest sets the kill window (noise only slows). */
const REFERENCE_RUNS = 2;

/** Options of {@link buildFixtures}. */
export interface BuildFixturesOptions {
  size?: FixtureSize;
}

/**
 * Builds the fixtures of `ops` in one fresh temp dir, each with its own repository and
 * PVR_CONFIG_DIR (copied from one base repository), then runs each operation
 * uninterrupted once per variant on a copy: to time it and to record the new state,
 * which is checked against an independent expectation where there is one.
 */
export async function buildFixtures(
  ops: readonly CrashOp[] = CRASH_OPS,
  opts: BuildFixturesOptions = {},
): Promise<FixtureSet> {
  const size = opts.size ?? DEFAULT_SIZE;
  const root = await Deno.makeTempDir({ prefix: "pvr-crash-" });
  const cleanup = () => Deno.remove(root, { recursive: true }).catch(() => {});
  try {
    const base = await buildBase(`${root}/base`, size);
    let source: string | null = null;
    const prepared: { op: CrashOp; tpl: Template; argv: string[][] }[] = [];
    for (const op of ops) {
      const ws = await cloneTemplate(base, `${root}/${op}`);
      let argv: string[][];
      if (op === "commit") argv = await prepareCommit(ws, size);
      else if (op === "checkout") argv = await prepareCheckout(ws, size, base.cached);
      else {
        source ??= await buildSource(`${root}/source`, size);
        argv = [[op, `${source}/src.tgz`], [
          op,
          op === "merge" ? `${source}/repo` : `${source}/src.tar`,
        ]];
      }
      // Now, before another copy links these files (and changes their ctime).
      prepared.push({ op, tpl: { root: ws.root, cached: await validCacheEntries(ws.root) }, argv });
    }
    await Deno.remove(base.root, { recursive: true });
    // The first run of main.ts may compile it (a cold or stale module cache): not timed.
    await runPvr(["--version"], { cwd: root, configDir: root });
    const fixtures: Fixture[] = [];
    for (const p of prepared) fixtures.push(await measure(p.op, p.tpl, p.argv, root, source));
    return {
      root,
      fixtures,
      get(op) {
        const fx = fixtures.find((f) => f.op === op);
        if (!fx) throw new Error(`no ${op} fixture was built`);
        return fx;
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Records a template's old state and runs each variant once to measure it. */
async function measure(
  op: CrashOp,
  tpl: Template,
  argv: string[][],
  setRoot: string,
  source: string | null,
): Promise<Fixture> {
  const paths = repoPaths(`${tpl.root}/repo`);
  const oldJson = await Deno.readFile(paths.json);
  const oldTree = await snapshotTree(paths.dir);
  const fx: Fixture = {
    ...tpl,
    op,
    oldJson,
    newJson: oldJson,
    oldAdded: await readOrNull(paths.new),
    oldTree,
    newTree: oldTree,
    untracked: Object.keys(UNTRACKED),
    variants: [],
    trialsDir: `${setRoot}/trials`,
  };
  await Deno.mkdir(fx.trialsDir, { recursive: true });
  for (const args of argv) {
    const label = args.join(" ").replaceAll(`${setRoot}/`, "");
    let ms = Infinity;
    for (let round = 0; round < REFERENCE_RUNS; round++) {
      const first = fx.variants.length === 0 && round === 0;
      ms = Math.min(ms, await referenceRun(fx, args, label, source, first));
    }
    fx.variants.push({ label, args, ms });
  }
  return fx;
}

/**
 * Runs the operation uninterrupted on a copy, checks where it ends (recording the new
 * state on the first run of the first variant) and returns how long it took.
 */
async function referenceRun(
  fx: Fixture,
  args: string[],
  label: string,
  source: string | null,
  first: boolean,
): Promise<number> {
  const ws = await copyFixture(fx, `${fx.op}-reference-`);
  try {
    const expected = fx.op === "commit"
      ? new TextEncoder().encode(
        canonicalJson((await workingJson({ dir: ws.cwd, configDir: ws.configDir })).state),
      )
      : null;
    const run = await runPvr(args, ws);
    assert.equal(run.code, 0, `reference run of pvr ${label}: ${run.stderr}`);
    const json = await Deno.readFile(repoPaths(ws.cwd).json);
    const tree = await snapshotTree(ws.cwd);
    if (first) {
      fx.newJson = json;
      fx.newTree = tree;
    }
    assert.ok(sameBytes(json, fx.newJson), `${label} ends in another state than the first run`);
    assert.equal(treeDifference(tree, fx.newTree), "", `${label} leaves another tree`);
    if (expected) assert.ok(sameBytes(json, expected), "commit did not commit `pvr json`");
    if (fx.op === "import") {
      const srcJson = await Deno.readFile(`${source}/repo/.pvr/json`);
      assert.ok(sameBytes(json, srcJson), "import did not commit the exported state");
    }
    if (fx.op === "checkout") await checkCheckoutReference(ws, fx);
    else assert.ok(!sameBytes(json, fx.oldJson), `${label} did not change .pvr/json`);
    return run.ms;
  } finally {
    await Deno.remove(ws.root, { recursive: true }).catch(() => {});
  }
}

/** A fresh copy of a fixture under its trials dir. */
async function copyFixture(fx: Fixture, prefix: string): Promise<Workspace> {
  return await cloneTemplate(fx, await Deno.makeTempDir({ dir: fx.trialsDir, prefix }));
}

/** The uninterrupted checkout did what the scenario is about. */
async function checkCheckoutReference(ws: PvrPlace, fx: Fixture): Promise<void> {
  const st = await runPvrInProcess(["status", "--json"], ws);
  assert.equal(st.code, 0, st.stderr);
  const s = JSON.parse(st.stdout);
  assert.deepEqual([s.added, s.removed, s.changed], [[], [], []], "tree differs from state B");
  const tree = fx.newTree;
  assert.ok(fx.oldTree.has(smallKey(5)) && !tree.has(smallKey(5)), "no file was removed");
  assert.ok(!fx.oldTree.has(smallKey(1)) && tree.has(smallKey(1)), "no missing file restored");
  assert.ok(tree.has(smallKey(0)), "an edited file that left the state was removed");
  assert.notEqual(tree.get(smallKey(2)), fx.oldTree.get(smallKey(2)), "no file overwritten");
  assert.ok((await readOrNull(repoPaths(ws.cwd).new)) === null, "checkout kept .pvr/new");
}

// ---------------------------------------------------------------------------------
// Trials

/** Options of {@link runTrial}. */
export interface TrialOptions {
  seed: number;
  trial: number;
  /** Keep the trial's directory when it fails (its path is in the error). */
  keepFailed?: boolean;
}

/** What one trial saw. */
export interface TrialOutcome {
  op: CrashOp;
  trial: number;
  variant: string;
  delayMs: number;
  /** False when the operation finished before the kill. */
  killed: boolean;
  /** The state the repository ended in (after recovery for checkout). */
  ended: "old" | "new";
  /** Temp files left in the objects dir and in `.pvr/` (garbage, not damage). */
  leftoverTemps: number;
}

/** The kill delay and variant of a trial. */
export function trialPlan(fx: Fixture, seed: number, trial: number): {
  variant: Variant;
  delayMs: number;
} {
  const variant = fx.variants[trial % fx.variants.length];
  return { variant, delayMs: killFraction(seed, fx.op, trial) * KILL_SPAN * variant.ms };
}

/**
 * One crash trial: copy the fixture, run the operation in a subprocess, SIGKILL it
 * after the trial's delay, then check (throwing with the seed and trial in the message):
 *
 * - a run that was not killed exited 0;
 * - `.pvr/json` is byte for byte the old or the new state (the new one if not killed);
 * - every object in the store hashes to its name; nothing but objects and temp files
 *   is in the objects dir;
 * - commit, merge, import: no working-tree file changed; `.pvr/new` is the old one
 *   while `.pvr/json` is old (added files are not lost);
 * - checkout: after `pvr status` (which must recover and exit 0) the tree is exactly the
 *   old or exactly the new one (the new one if not killed), untracked files are intact,
 *   there is no `.pvr/journal`, `.pvr/tmp` is empty or absent, and `.pvr/new` matches
 *   the tree (old: unchanged, new: cleared);
 * - `pvr fsck` exits 0, and after it (a writer) `.pvr/tmp` is empty or absent and
 *   `.pvr/json` is what it was.
 */
export async function runTrial(fx: Fixture, opts: TrialOptions): Promise<TrialOutcome> {
  const { seed, trial } = opts;
  const { variant, delayMs } = trialPlan(fx, seed, trial);
  const context = `${fx.op} (seed ${seed}, trial ${trial}, ${variant.label}, killed after ` +
    `${delayMs.toFixed(0)} of ${variant.ms.toFixed(0)} ms; replay: PVR_CRASH_SEED=${seed})`;
  const ws = await copyFixture(fx, `${fx.op}-${trial}-`);
  let ok = false;
  try {
    const outcome = await checkTrial(fx, ws, variant, delayMs);
    ok = true;
    return { op: fx.op, trial, variant: variant.label, delayMs, ...outcome };
  } catch (err) {
    const where = opts.keepFailed ? ` [kept in ${ws.root}]` : "";
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${context}${where}: ${message}`, { cause: err });
  } finally {
    if (ok || !opts.keepFailed) await Deno.remove(ws.root, { recursive: true }).catch(() => {});
  }
}

async function checkTrial(
  fx: Fixture,
  ws: Workspace,
  variant: Variant,
  delayMs: number,
): Promise<Omit<TrialOutcome, "op" | "trial" | "variant" | "delayMs">> {
  const paths = repoPaths(ws.cwd);
  const run = await runPvrKilledAfter(variant.args, ws, delayMs);
  if (!run.killed) {
    assert.equal(run.code, 0, `pvr ${variant.label} failed on its own: ${run.stderr.trim()}`);
  }

  const json = await Deno.readFile(paths.json);
  const jsonIsNew = sameBytes(json, fx.newJson);
  assert.ok(jsonIsNew || sameBytes(json, fx.oldJson), ".pvr/json is neither old nor new");
  if (!run.killed) assert.ok(jsonIsNew, "finished, but .pvr/json is not the new state");

  const objectsDir = `${ws.configDir}/objects`;
  const objects = await checkObjectsDir(objectsDir);
  assert.deepEqual(objects.problems, [], "the object store is damaged");

  let ended: "old" | "new" = jsonIsNew ? "new" : "old";
  const added = await readOrNull(paths.new);
  if (fx.op !== "checkout") {
    const tree = await snapshotTree(ws.cwd);
    assert.equal(treeDifference(tree, fx.oldTree), "", `${fx.op} changed the working tree`);
    // Old state: the added files must still be marked. New state: `.pvr/new` is cleared
    // right after the switch, so a kill in between may leave it (it names committed files).
    assert.ok(
      sameBytes(added, fx.oldAdded) || (jsonIsNew && added === null),
      `.pvr/new is ${added === null ? "gone" : "changed"} while .pvr/json is ${ended}`,
    );
  } else {
    const status = await runPvrInProcess(["status"], ws);
    assert.equal(status.code, 0, `pvr status after the kill: ${status.stderr.trim()}`);
    assert.equal(await existsPath(paths.journal), false, ".pvr/journal is left after status");
    assert.deepEqual(await dirNames(paths.tmp), [], ".pvr/tmp is not empty after status");
    const tree = await snapshotTree(ws.cwd);
    const isNew = sameTree(tree, fx.newTree);
    assert.ok(
      isNew || sameTree(tree, fx.oldTree),
      `after status the tree is neither old nor new: vs new: ${treeDifference(tree, fx.newTree)}` +
        `; vs old: ${treeDifference(tree, fx.oldTree)}`,
    );
    if (!run.killed) assert.ok(isNew, "checkout finished, but the tree is not the new one");
    for (const key of fx.untracked) {
      assert.equal(tree.get(key), fx.oldTree.get(key), `untracked ${key} changed`);
    }
    const addedNow = await readOrNull(paths.new);
    if (isNew) {
      assert.ok(addedNow === null, ".pvr/new is left although the checkout was completed");
    } else assert.ok(sameBytes(addedNow, fx.oldAdded), ".pvr/new changed, the tree did not");
    ended = isNew ? "new" : "old";
  }

  const fsck = await runPvrInProcess(["fsck"], ws);
  assert.equal(fsck.code, 0, `pvr fsck: ${fsck.stdout.trim()} ${fsck.stderr.trim()}`);
  assert.equal(await existsPath(paths.journal), false, ".pvr/journal is left after fsck");
  assert.deepEqual(await dirNames(paths.tmp), [], ".pvr/tmp is not empty after fsck");
  assert.ok(sameBytes(await Deno.readFile(paths.json), json), "recovery changed .pvr/json");

  const pvrTemps = (await dirNames(paths.pvr)).filter((n) => ATOMIC_TEMP.test(n)).length;
  const storeTemps = (await dirNames(objectsDir)).filter((n) => STORE_TEMP.test(n)).length;
  return { killed: run.killed, ended, leftoverTemps: pvrTemps + storeTemps };
}

// ---------------------------------------------------------------------------------
// Watching the lock from outside (Linux /proc/locks)

/** True when `/proc/locks` can be read (the lock tests need it). */
export function canWatchLocks(): boolean {
  try {
    Deno.readTextFileSync("/proc/locks");
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` holds, or waits for, a lock on the file with inode `ino`. */
function lockState(ino: number, pid: number): "held" | "waiting" | null {
  for (const line of Deno.readTextFileSync("/proc/locks").split("\n")) {
    const f = line.trim().split(/\s+/);
    const waiting = f[1] === "->";
    if (waiting) f.splice(1, 1);
    if (f.length < 6 || Number(f[4]) !== pid) continue;
    if (Number(f[5].split(":").pop()) !== ino) continue;
    return waiting ? "waiting" : "held";
  }
  return null;
}

/**
 * Polls until process `pid` holds (or waits for) the lock of the repository at `dir`.
 * Returns false when `until` resolves first (the process exited) or after `timeoutMs`.
 */
export async function waitForLock(
  dir: string,
  pid: number,
  want: "held" | "waiting",
  until: Promise<unknown>,
  timeoutMs = 30_000,
): Promise<boolean> {
  let done = false;
  until.then(() => done = true, () => done = true);
  const deadline = performance.now() + timeoutMs;
  const lock = repoPaths(dir).lock;
  while (!done && performance.now() < deadline) {
    const st = await Deno.stat(lock).catch(() => null);
    if (st?.ino != null && lockState(st.ino, pid) === want) return true;
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}

/** A fixture copy for tests that drive processes themselves (removed by `cleanup`). */
export async function workspace(
  fx: Fixture,
): Promise<PvrPlace & { cleanup: () => Promise<void> }> {
  const ws = await copyFixture(fx, `${fx.op}-lock-`);
  return { ...ws, cleanup: () => Deno.remove(ws.root, { recursive: true }).catch(() => {}) };
}

/** `.pvr/json` of a repository. */
export function readStateBytes(dir: string): Promise<Uint8Array> {
  return Deno.readFile(repoPaths(dir).json);
}
