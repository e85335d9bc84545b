/**
 * Options shared by the repository operations.
 *
 * @module
 */

import { Repo } from "../repo/repo.ts";
import { prepareRead } from "../repo/transaction.ts";
import { computeWorkingState, type WorkingState } from "../repo/working_state.ts";
import type { StatCache, StatusSnapshotRecorder } from "../repo/stat_cache.ts";

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

/** Status snapshot hooks of {@link readWorkingState}. */
export interface ReadWorkingStateHooks {
  /** Records the snapshot's inputs (created before the repository is opened). */
  recorder?: StatusSnapshotRecorder;
  /** Runs before the stat cache is saved (e.g. to give it a status snapshot). */
  beforeSave?: (repo: Repo, ws: WorkingState, cache: StatCache) => void;
}

/**
 * Opens the repository and computes its working state for a read command (finishing
 * an interrupted checkout first, and saving the stat cache after).
 */
export async function readWorkingState(
  opts: RepoOptions,
  hooks: ReadWorkingStateHooks = {},
): Promise<{ repo: Repo; ws: WorkingState }> {
  const repo = await openRepo(opts);
  const cache = await prepareRead(repo);
  const ws = await computeWorkingState(repo, { cache, recorder: hooks.recorder });
  hooks.beforeSave?.(repo, ws, cache);
  await cache.save();
  return { repo, ws };
}

/**
 * Records objects of the repository's store as verified in the stat cache (their bytes
 * were hashed on the way in), so that a later checkout does not hash them again. Only a
 * cache: an object that cannot be looked at is simply not recorded.
 */
export function recordVerifiedObjects(
  repo: Repo,
  cache: StatCache,
  shas: Iterable<string>,
): void {
  for (const sha of shas) {
    try {
      cache.recordObject(sha, Deno.statSync(repo.store.pathOf(sha)));
    } catch {
      // not recorded: a later checkout verifies it
    }
  }
}
