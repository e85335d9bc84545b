/**
 * `pvr app ls` (spec pvr-reference §9.9): the apps of the working tree.
 *
 * @module
 */

import { listApps } from "../app/app_dir.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options of {@link appLs}. */
export type AppLsOptions = RepoOptions;

/** What {@link appLs} found. */
export interface AppLsResult {
  /** Top-level directories holding `src.json`, sorted by code point. */
  apps: string[];
}

/**
 * Lists the apps: every top-level directory of the working tree with a `src.json`.
 *
 * Permissions: read.
 *
 * @throws {PvrError} `NOT_A_REPO` outside a repository
 * @example
 * ```ts
 * const { apps } = await appLs({ dir, configDir }); // ["nginx", "redis"]
 * ```
 */
export async function appLs(opts: AppLsOptions): Promise<AppLsResult> {
  const repo = await openRepo(opts);
  return { apps: await listApps(repo.dir) };
}
