/**
 * Helpers for the end-to-end workflow tests: a shell that runs pvr as a real
 * subprocess (`deno run -A main.ts`) with a fixed environment, asserts exit codes with
 * the whole output in the message, and reads a repository's committed state.
 */

import assert from "node:assert/strict";
import { pvrProcess, type PvrRun, spawnPvr } from "./cli.ts";

/** Runs pvr subprocesses with one environment, in a given directory. */
export class Shell {
  /** Every run, in order (`$ pvr …` lines with their exit code), for failure messages. */
  readonly log: string[] = [];

  constructor(readonly env: Record<string, string>) {}

  /** Runs `pvr <args>` in `cwd`; `extraEnv` is added to the shell's environment. */
  async run(
    cwd: string,
    args: string[],
    o: { env?: Record<string, string>; stdin?: Uint8Array } = {},
  ): Promise<PvrRun> {
    const r = await spawnPvr(args, { cwd, env: { ...this.env, ...o.env }, stdin: o.stdin });
    this.log.push(`$ pvr ${args.join(" ")}  (in ${cwd}) -> ${r.code}`);
    return r;
  }

  /** Runs `pvr <args>` and asserts exit 0. */
  async ok(
    cwd: string,
    args: string[],
    o: { env?: Record<string, string>; stdin?: Uint8Array } = {},
  ): Promise<PvrRun> {
    const r = await this.run(cwd, args, o);
    assert.equal(r.code, 0, describe(args, r));
    return r;
  }

  /** Runs `pvr <args>` and asserts exit `code` with one `ERROR:` line on stderr. */
  async fails(
    cwd: string,
    args: string[],
    code: number,
    o: { env?: Record<string, string> } = {},
  ): Promise<PvrRun> {
    const r = await this.run(cwd, args, o);
    assert.equal(r.code, code, describe(args, r));
    assert.match(r.stderr, /^ERROR: [^\n]+\n$/, describe(args, r));
    return r;
  }
}

/** `pvr <args>` with its exit code and outputs, for assertion messages. */
export function describe(args: string[], r: PvrRun): string {
  return `pvr ${args.join(" ")} -> ${r.code}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** A repository's committed state (`.pvr/json`), parsed. */
export async function committed(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(`${dir}/.pvr/json`));
}

/** The `<sha>` values of a state (its object keys), by key. */
export function objectKeys(state: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(state)) {
    if (k !== "#spec" && typeof v === "string" && /^[0-9a-f]{64}$/.test(v)) out[k] = v;
  }
  return out;
}

/** The names of the files in a directory (not recursive), sorted; [] when it is missing. */
export async function namesIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** Status output lines from `[letter, path]` pairs. */
export function statusLines(entries: [string, string][]): string {
  return entries.map(([l, p]) => `${l} ${p}\n`).join("");
}

/**
 * Starts `pvr <args>` as a subprocess (as {@link spawnPvr} runs it: `deno run -A
 * main.ts`, a cleared environment) with standard input kept open as a pipe, for tests
 * that need a pvr process to stay in the middle of a command (`pvr import -` holds the
 * repository lock until its input ends).
 */
export function startPvr(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Deno.ChildProcess {
  return pvrProcess(args, { cwd, env, stdin: "piped" }).spawn();
}
