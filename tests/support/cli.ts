/**
 * Helpers for the integration and end-to-end tests: run the CLI in-process or as a
 * real subprocess, make throw-away repositories (each with its own config dir, so no
 * test ever touches `~/.pvr`), and snapshot directory trees byte for byte.
 */

import { createHash } from "node:crypto";
import { runCli } from "../../commands/cli.ts";
import { BufferStream } from "../../commands/output.ts";
import { init } from "../../core/ops/init.ts";
import { PvrError, type PvrErrorCode } from "../../core/errors.ts";

/** What a pvr run produced. */
export interface PvrRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where and how to run pvr. */
export interface RunOptions {
  /** The working directory (the repository every command works on). */
  cwd: string;
  /**
   * The whole environment pvr sees (nothing is inherited). Set `PVR_CONFIG_DIR`:
   * without it (and without `HOME`) pvr refuses to guess a config dir.
   */
  env?: Record<string, string>;
  /** Bytes for standard input (`pvr import -`). */
  stdin?: Uint8Array;
}

/** The repository root of this project (where `main.ts` and `deno.json` are). */
export const PROJECT_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Runs pvr in-process through `runCli`, capturing stdout and stderr. */
export async function runPvr(args: string[], opts: RunOptions): Promise<PvrRun> {
  const stdout = new BufferStream();
  const stderr = new BufferStream();
  const code = await runCli(args, {
    stdout,
    stderr,
    env: { ...opts.env },
    cwd: opts.cwd,
    stdin: opts.stdin ? streamOf(opts.stdin) : undefined,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Options of {@link spawnPvr}. */
export interface SpawnOptions extends RunOptions {
  /** The program to run: `main.ts` of this project (default) or a bundle's path. */
  entry?: string;
}

/** The Deno cache of the process running the tests: children use it (nothing to fetch). */
export function callerDenoDir(): string {
  const env = Deno.env.toObject();
  if (env.DENO_DIR) return env.DENO_DIR;
  const cache = env.XDG_CACHE_HOME || `${env.HOME ?? "/root"}/.cache`;
  return `${cache}/deno`;
}

/** Options of {@link pvrProcess}. */
export interface PvrProcessOptions {
  cwd: string;
  env?: Record<string, string>;
  /** The program: `main.ts` of this project (default), or an absolute path (a bundle). */
  entry?: string;
  /** Flags of `deno run` put before the program (`--coverage=DIR`, `--cached-only`). */
  denoFlags?: string[];
  /** The Deno cache (default {@link callerDenoDir}). */
  denoDir?: string;
  /** Standard input (default none). */
  stdin?: "piped" | "null";
}

/**
 * pvr as a real subprocess, not started yet: `deno run -A --quiet <entry> <args>` with a
 * cleared environment (only `PATH`, `DENO_DIR`, `HOME` = the cwd, `NO_COLOR`,
 * `DENO_NO_UPDATE_CHECK` and `opts.env`).
 */
export function pvrProcess(args: string[], opts: PvrProcessOptions): Deno.Command {
  const entry = opts.entry ?? "main.ts";
  const program = entry.startsWith("/") ? entry : `${PROJECT_ROOT}/${entry}`;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", ...(opts.denoFlags ?? []), program, ...args],
    cwd: opts.cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: opts.denoDir ?? callerDenoDir(),
      HOME: opts.cwd,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      ...opts.env,
    },
    stdin: opts.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * Runs pvr as a real subprocess ({@link pvrProcess}) and waits for it.
 * `entry` is `main.ts` (resolved against the project root) or an absolute path.
 */
export async function spawnPvr(args: string[], opts: SpawnOptions): Promise<PvrRun> {
  const env = opts.env ?? {};
  if (!env.PVR_CONFIG_DIR && !args.some((a) => a === "-c" || a.startsWith("--config-dir"))) {
    throw new Error("spawnPvr: set PVR_CONFIG_DIR so that the test never uses ~/.pvr");
  }
  const child = pvrProcess(args, {
    cwd: opts.cwd,
    env,
    entry: opts.entry,
    stdin: opts.stdin ? "piped" : "null",
  }).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A throw-away repository. */
export interface TestRepo {
  /** A temp dir holding everything of this test: `repo/`, `config/`, anything else. */
  root: string;
  /** The working tree (`<root>/repo`). */
  dir: string;
  /** The global config dir (`<root>/config`); objects are in `<configDir>/objects`. */
  configDir: string;
  /** `<configDir>/objects`. */
  objectsDir: string;
  /** The environment for {@link runPvr}/{@link spawnPvr}: `PVR_CONFIG_DIR` set. */
  env: Record<string, string>;
  /** `{ dir, configDir }` for the library operations. */
  opts: { dir: string; configDir: string };
  /** Runs pvr in-process in the working tree. */
  run(args: string[], extra?: Partial<RunOptions>): Promise<PvrRun>;
  /** Writes files under the working tree (parents created). */
  write(files: Record<string, string | Uint8Array>): Promise<void>;
  /** Removes the whole root. */
  cleanup(): Promise<void>;
}

/** Options of {@link makeRepo}. */
export interface MakeRepoOptions {
  /** Run `init` on the working tree (default true). */
  init?: boolean;
  /** Files to write into the working tree (after init). */
  files?: Record<string, string | Uint8Array>;
}

/** Writes files given as `{ "rel/path": content }` under `dir` (parents created). */
export async function writeFiles(
  dir: string,
  files: Record<string, string | Uint8Array>,
): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const path = `${dir}/${rel}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
}

/**
 * Creates `<tmp>/repo` (initialised unless `init: false`) and `<tmp>/config`. Use with
 * `try { … } finally { await r.cleanup(); }`.
 */
export async function makeRepo(options: MakeRepoOptions = {}): Promise<TestRepo> {
  const root = await Deno.makeTempDir({ prefix: "pvr-it-" });
  const dir = `${root}/repo`;
  const configDir = `${root}/config`;
  await Deno.mkdir(dir);
  if (options.init ?? true) await init({ dir, configDir });
  if (options.files) await writeFiles(dir, options.files);
  const env = { PVR_CONFIG_DIR: configDir };
  return {
    root,
    dir,
    configDir,
    objectsDir: `${configDir}/objects`,
    env,
    opts: { dir, configDir },
    run: (args, extra = {}) =>
      runPvr(args, { cwd: extra.cwd ?? dir, env: extra.env ?? env, stdin: extra.stdin }),
    write: (files) => writeFiles(dir, files),
    cleanup: () => Deno.remove(root, { recursive: true }).catch(() => {}),
  };
}

/** Runs `fn` with a fresh {@link makeRepo}, cleaned up afterwards whatever happens. */
export async function withRepo<T>(
  fn: (r: TestRepo) => Promise<T>,
  options?: MakeRepoOptions,
): Promise<T> {
  const r = await makeRepo(options);
  try {
    return await fn(r);
  } finally {
    await r.cleanup();
  }
}

/** Lowercase hex sha256 of bytes or text. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Options of {@link snapshotTree}. */
export interface SnapshotOptions {
  /** Relative paths to leave out (with everything below them). */
  skip?: string[];
}

/**
 * Every entry under `dir`, sorted, one string each: `d <path> <mode>`,
 * `f <path> <mode> <size> <sha256>` or `l <path> -> <target>` (symlinks not followed).
 * Two equal snapshots mean the same names, types, modes and bytes.
 */
export async function snapshotTree(dir: string, opts: SnapshotOptions = {}): Promise<string[]> {
  const out: string[] = [];
  const skip = new Set(opts.skip ?? []);
  async function walk(rel: string): Promise<void> {
    const abs = rel === "" ? dir : `${dir}/${rel}`;
    for await (const e of Deno.readDir(abs)) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (skip.has(r)) continue;
      const p = `${dir}/${r}`;
      const info = await Deno.lstat(p);
      const mode = ((info.mode ?? 0) & 0o7777).toString(8);
      if (info.isSymlink) out.push(`l ${r} -> ${await Deno.readLink(p)}`);
      else if (info.isDirectory) {
        out.push(`d ${r} ${mode}`);
        await walk(r);
      } else out.push(`f ${r} ${mode} ${info.size} ${sha256Hex(await Deno.readFile(p))}`);
    }
  }
  await walk("");
  return out.sort();
}

/** True when `path` exists (symlinks not followed). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Awaits `p` and checks that it fails with a `PvrError` of `code`; returns the error. */
export async function rejectsWithCode(p: Promise<unknown>, code: PvrErrorCode): Promise<PvrError> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof PvrError)) throw new Error(`expected a PvrError ${code}, got ${err}`);
    if (err.code !== code) {
      throw new Error(`expected ${code}, got ${err.code}: ${err.message}`, { cause: err });
    }
    return err;
  }
  throw new Error(`expected a PvrError ${code}, but it succeeded`);
}

/** A fixed past time (2020-01-02T03:04:05Z). */
export const PAST = new Date("2020-01-02T03:04:05Z");

/**
 * Sets the mtime of files under `dir` into the past, so that the stat cache never
 * sees them as "racy" (modified in the same clock tick as the cache was written).
 */
export async function ageFiles(dir: string, keys: string[], when = PAST): Promise<void> {
  for (const k of keys) await Deno.utime(`${dir}/${k}`, when, when);
}

/**
 * Gives every path of the working tree (directories too) and of `.pvr` — but the stat
 * cache and the lock — a past mtime, so that a status snapshot taken next holds.
 */
export async function settleTree(r: TestRepo): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? `${r.dir}/${rel}` : r.dir;
    for await (const e of Deno.readDir(abs)) {
      const k = rel ? `${rel}/${e.name}` : e.name;
      if (k === ".pvr/stat-cache" || k === ".pvr/lock") continue;
      if (e.isDirectory) await walk(k);
      if (!e.isSymlink) await Deno.utime(`${r.dir}/${k}`, PAST, PAST);
    }
    await Deno.utime(abs, PAST, PAST);
  };
  await walk("");
}

/**
 * Writes `files` into the repo, adds and commits them. With `age`, the files get an
 * mtime in the past first, so the stat cache never sees them as "just modified".
 */
export async function commitFiles(
  r: TestRepo,
  files: Record<string, string>,
  opts: { age?: boolean } = {},
): Promise<void> {
  const { add, commit } = await import("../../mod.ts");
  await r.write(files);
  if (opts.age) await ageFiles(r.dir, Object.keys(files));
  await add(r.opts);
  await commit(r.opts);
}
