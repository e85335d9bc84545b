/**
 * Apps in a working tree (spec pvr-reference §9.1): an app is a top-level directory
 * `<repo>/<name>/` holding `src.json`. Name checks, listing, reading `src.json`, and
 * writing the rendered templates.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { goMarshalIndent } from "../model/go_json.ts";
import { parseJson } from "../model/json_parse.ts";
import type { JsonValue } from "../model/json_value.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { formatSrcJson, parseSrcJson, type SrcJson } from "./src_json.ts";
import { type RenderResult, renderTemplates } from "./template.ts";

/** The file that makes a directory an app. */
export const SRC_JSON = "src.json";
/** The rendered files. */
export const RUN_JSON = "run.json";
/** The rendered LXC config (absent for data/MOUNTED apps). */
export const LXC_CONF = "lxc.container.conf";

/**
 * The app name of an argument: leading and trailing `/` trimmed (as the Go pvr), then
 * checked: one path segment, not `.`/`..`, no NUL, not `.pvr`/`.pv`.
 *
 * @throws {PvrError} `USAGE` for an empty name; `UNSAFE_PATH` for anything that is not
 *   one plain segment
 */
export function appName(arg: string): string {
  const name = arg.replace(/^\/+/, "").replace(/\/+$/, "");
  if (name === "") throw new PvrError("USAGE", "an app name is required");
  if (
    name.includes("/") || name === "." || name === ".." || name.includes("\0") ||
    name === ".pvr" || name === ".pv"
  ) {
    throw new PvrError("UNSAFE_PATH", `invalid app name "${arg}": it must be one directory name`, {
      path: arg,
    });
  }
  return name;
}

/** `<repo>/<name>`. */
export function appDir(repoDir: string, name: string): string {
  return `${repoDir}/${name}`;
}

async function isAppDir(path: string): Promise<boolean> {
  try {
    const dir = await Deno.lstat(path);
    if (!dir.isDirectory) return false;
    return (await Deno.lstat(`${path}/${SRC_JSON}`)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw err;
  }
}

/** The names of the apps in a working tree, sorted by code point. */
export async function listApps(repoDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(repoDir)) {
    if (!e.isDirectory || e.name === ".pvr" || e.name === ".pv") continue;
    if (await isAppDir(`${repoDir}/${e.name}`)) out.push(e.name);
  }
  return out.sort(compareCodePoints);
}

/** The error of a missing app (exit 3, the Go pvr's message). */
export function noSuchApp(name: string): PvrError {
  return new PvrError("BAD_WORKTREE", `App '${name}' doesn't exist`, {
    hint: "pvr app ls lists the apps",
  });
}

/** Throws {@link noSuchApp} unless `<repo>/<name>` is a real directory with `src.json`. */
export async function requireApp(repoDir: string, name: string): Promise<string> {
  const dir = appDir(repoDir, name);
  if (!(await isAppDir(dir))) throw noSuchApp(name);
  return dir;
}

/** The raw bytes of an app's `src.json`. */
export async function readSrcJsonBytes(repoDir: string, name: string): Promise<Uint8Array> {
  const dir = await requireApp(repoDir, name);
  return await Deno.readFile(`${dir}/${SRC_JSON}`);
}

/** An app's parsed `src.json`. */
export async function readSrcJson(repoDir: string, name: string): Promise<SrcJson> {
  return parseSrcJson(await readSrcJsonBytes(repoDir, name), `${name}/${SRC_JSON}`);
}

/** Writes an app's `src.json` as the Go pvr does (mode 0644). */
export async function writeSrcJson(repoDir: string, name: string, src: SrcJson): Promise<void> {
  const clean = { ...src };
  delete clean.name; // in memory only
  await writeFileAtomic(`${appDir(repoDir, name)}/${SRC_JSON}`, formatSrcJson(clean), {
    mode: 0o644,
  });
}

/**
 * The working `groups.json` (top-level file of the repository), when it is there and
 * parses; `undefined` otherwise.
 */
export async function readGroups(repoDir: string): Promise<JsonValue | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${repoDir}/groups.json`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return parseJson(bytes, "groups.json");
}

/** What {@link writeTemplates} did. */
export interface WriteTemplatesResult extends RenderResult {
  /** Files written, relative to the repository. */
  written: string[];
  /** Files removed (a stale `lxc.container.conf` of an app that became data/MOUNTED). */
  removed: string[];
}

/**
 * Renders an app's templates and writes them (mode 0644): `run.json` as Go's
 * `json.MarshalIndent(v, "", "    ")` (it is inline JSON, so only its value matters),
 * `lxc.container.conf` byte-exact. For a data/MOUNTED app a stale
 * `lxc.container.conf` is removed (the Go pvr left it in place).
 *
 * @throws {PvrError} `BAD_STATE` when the template arguments are unusable
 */
export async function writeTemplates(
  repoDir: string,
  name: string,
  src: SrcJson,
): Promise<WriteTemplatesResult> {
  const groups = await readGroups(repoDir);
  const r = renderTemplates({ name, src, groups });
  const dir = appDir(repoDir, name);
  const written: string[] = [];
  const removed: string[] = [];
  const runText = goMarshalIndent(r.runJson, "", "    ", { numbers: "text" });
  await writeFileAtomic(`${dir}/${RUN_JSON}`, runText, { mode: 0o644 });
  written.push(`${name}/${RUN_JSON}`);
  if (r.lxcConfig !== null) {
    await writeFileAtomic(`${dir}/${LXC_CONF}`, r.lxcConfig, { mode: 0o644 });
    written.push(`${name}/${LXC_CONF}`);
  } else {
    try {
      await Deno.remove(`${dir}/${LXC_CONF}`);
      removed.push(`${name}/${LXC_CONF}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return { ...r, written, removed };
}
