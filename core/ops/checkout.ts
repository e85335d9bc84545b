/**
 * `pvr checkout` / `pvr reset`: write the committed state into the working tree.
 *
 * @module
 */

import { checkoutState, type CheckoutStateResult } from "../repo/checkout.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link checkout}. */
export interface CheckoutOptions extends RepoOptions {
  /** Hardlink objects from the store (read-only files) instead of copying them. */
  hardlink?: boolean;
  /** Write inline JSON files canonically instead of 4-space indented. */
  canonical?: boolean;
}

/** What {@link checkout} did. */
export type CheckoutResult = CheckoutStateResult;

/**
 * Checks out the committed state: every tracked file is rewritten (atomically, objects
 * verified) unless it already has the right content, and `.pvr/new` is cleared. Files
 * that pvr checked out earlier, that are unchanged and that left the state are removed
 * (the Go pvr leaves them behind as untracked files); edited files are never removed.
 * A killed checkout is finished by the next pvr command.
 *
 * Permissions: read, write (and ffi for reflinks, optional).
 */
export async function checkout(opts: CheckoutOptions): Promise<CheckoutResult> {
  const repo = await openRepo(opts);
  return await withWriteLock(repo, opts, async (cache) => {
    const keep = new Set(repo.pristine.keys());
    const remove = [...cache.fileKeys()].filter((k) => !keep.has(k) && !repo.added.has(k));
    const result = await checkoutState(repo, repo.pristine, {
      hardlink: opts.hardlink,
      canonical: opts.canonical,
      remove,
      clearAdded: true, // under the journal: a killed checkout's recovery clears it too
      cache,
    });
    return result;
  });
}
