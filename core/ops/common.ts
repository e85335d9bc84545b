/**
 * Options shared by the repository operations.
 *
 * @module
 */

import { Repo } from "../repo/repo.ts";
import { prepareRead } from "../repo/transaction.ts";
import { computeWorkingState, type WorkingState } from "../repo/working_state.ts";

/** Every operation on an existing repository takes these. */
export interface RepoOptions {
  /** The repository's working tree root (absolute). The CLI passes the cwd. */
  dir: string;
  /** The global config dir (`~/.pvr` by default; see `resolveConfigDir`). */
  configDir: string;
  /** Wait for another writer's lock instead of failing with `LOCKED`. */
  wait?: boolean;
}

/** Opens the repository named by the options. */
export function openRepo(opts: RepoOptions): Promise<Repo> {
  return Repo.open({ dir: opts.dir, configDir: opts.configDir });
}

/**
 * Opens the repository and computes its working state for a read command (finishing
 * an interrupted checkout first, and saving the stat cache after).
 */
export async function readWorkingState(
  opts: RepoOptions,
): Promise<{ repo: Repo; ws: WorkingState }> {
  const repo = await openRepo(opts);
  const cache = await prepareRead(repo);
  const ws = await computeWorkingState(repo, { cache });
  await cache.save();
  return { repo, ws };
}
