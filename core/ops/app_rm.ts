/**
 * `pvr app rm <name>` (spec pvr-reference §9.9): removes an app's directory.
 *
 * @module
 */

import { appName, requireApp } from "../app/app_dir.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options of {@link appRm}. */
export interface AppRmOptions extends RepoOptions {
  /** The app name (leading and trailing `/` are trimmed). */
  name: string;
}

/** What {@link appRm} removed. */
export interface AppRmResult {
  /** The app removed. */
  name: string;
}

/**
 * Removes `<repo>/<name>` and everything in it, and nothing else: the name must be one
 * plain directory name, the directory a real directory (not a symlink) with
 * `src.json`. `_config/<name>` and `_sigs/<name>.json` stay, and nothing is committed
 * (as the Go pvr).
 *
 * Permissions: read, write.
 *
 * @throws {PvrError} `NOT_A_REPO`; `USAGE`/`UNSAFE_PATH` for a bad name; `BAD_WORKTREE`
 *   when there is no such app
 * @example
 * ```ts
 * await appRm({ dir, configDir, name: "nginx" });
 * ```
 */
export async function appRm(opts: AppRmOptions): Promise<AppRmResult> {
  const name = appName(opts.name);
  const repo = await openRepo(opts);
  const dir = await requireApp(repo.dir, name);
  await Deno.remove(dir, { recursive: true });
  return { name };
}
