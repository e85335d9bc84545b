/**
 * Running a repository-changing operation: take the write lock, finish whatever a
 * killed command left (journal roll-forward, stale staging files), run, release.
 *
 * @module
 */

import { lockRepo } from "./lock.ts";
import { readJournal } from "./journal.ts";
import { checkoutState } from "./checkout.ts";
import type { Repo } from "./repo.ts";
import { StatCache } from "./stat_cache.ts";

/** Options for {@link withWriteLock}. */
export interface WriteLockOptions {
  /** Wait for another writer instead of failing with `LOCKED`. */
  wait?: boolean;
}

/**
 * Finishes an interrupted operation. The caller holds the lock. Returns true when
 * something was recovered.
 */
export async function recoverRepo(repo: Repo, cache: StatCache): Promise<boolean> {
  await Deno.remove(repo.paths.tmp, { recursive: true }).catch(() => {});
  const journal = await readJournal(repo.paths);
  if (!journal) return false;
  await checkoutState(repo, repo.pristine, {
    hardlink: journal.hardlink,
    canonical: journal.canonical,
    remove: journal.remove,
    clearAdded: journal.clearAdded,
    cache,
  });
  return true;
}

/**
 * Runs `fn` holding the repo's write lock, after re-reading the repo's files and
 * recovery, with the repo's stat cache (saved afterwards, also when `fn` fails).
 */
export async function withWriteLock<T>(
  repo: Repo,
  opts: WriteLockOptions,
  fn: (cache: StatCache) => Promise<T>,
): Promise<T> {
  const lock = await lockRepo(repo.paths, opts);
  let cache: StatCache;
  try {
    // What the repo read before the lock may be stale: another writer may have
    // finished in between (or been waited for, with --wait).
    await repo.reload();
    cache = await StatCache.load(repo.paths.statCache);
  } catch (err) {
    lock.release();
    throw err;
  }
  try {
    await recoverRepo(repo, cache);
    return await fn(cache);
  } finally {
    await cache.save();
    lock.release();
  }
}

/**
 * For read-only commands: loads the stat cache; if a killed checkout left a journal and
 * no writer is running, finishes it first. The cache is saved by the caller.
 */
export async function prepareRead(repo: Repo): Promise<StatCache> {
  const cache = await StatCache.load(repo.paths.statCache);
  if ((await readJournal(repo.paths)) === null) return cache;
  let lock;
  try {
    lock = await lockRepo(repo.paths, {});
  } catch {
    return cache; // a writer is at work; read what is there
  }
  try {
    await repo.reload(); // the journal's state is the one on disk now
    await recoverRepo(repo, cache);
  } finally {
    lock.release();
  }
  return cache;
}
