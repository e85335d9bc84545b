/**
 * `pvr app info <name>` (spec pvr-reference §9.9): an app's `src.json`.
 *
 * @module
 */

import { appName, readSrcJsonBytes } from "../app/app_dir.ts";
import { goMarshalIndent } from "../model/go_json.ts";
import { parseJson } from "../model/json_parse.ts";
import type { JsonValue } from "../model/json_value.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options of {@link appInfo}. */
export interface AppInfoOptions extends RepoOptions {
  /** The app name (leading and trailing `/` are trimmed). */
  name: string;
}

/** An app's `src.json`. */
export interface AppInfoResult {
  /** The app name. */
  name: string;
  /** `src.json` as a value (numbers keep their text). */
  src: JsonValue;
  /**
   * `src.json` as the Go pvr prints it: 4-space indent, sorted keys, HTML-escaped,
   * numbers as Go writes a float64 (no trailing newline).
   */
  text: string;
}

/**
 * Reads an app's `src.json`.
 *
 * Permissions: read.
 *
 * @throws {PvrError} `NOT_A_REPO`; `USAGE`/`UNSAFE_PATH` for a bad name; `BAD_WORKTREE`
 *   when there is no such app; `BAD_JSON` when `src.json` does not parse
 * @example
 * ```ts
 * const { text } = await appInfo({ dir, configDir, name: "nginx" });
 * ```
 */
export async function appInfo(opts: AppInfoOptions): Promise<AppInfoResult> {
  const name = appName(opts.name);
  const repo = await openRepo(opts);
  const src = parseJson(await readSrcJsonBytes(repo.dir, name), `${name}/src.json`);
  return { name, src, text: goMarshalIndent(src, "", "    ", { numbers: "float" }) };
}
