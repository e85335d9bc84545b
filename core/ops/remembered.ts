/**
 * Remembered defaults (spec §6.3): the URLs `.pvr/config` keeps for the next `get`,
 * `put` and `post` without a reference. Remote commands update them after their network
 * work, holding the repository lock only for that short write.
 *
 * @module
 */

import type { RepoConfig } from "../repo/repo.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/**
 * Re-reads `.pvr/config` under the write lock, applies `update` and writes the result
 * (only when something changed).
 *
 * Permissions: read, write.
 */
export async function rememberUrls(
  opts: RepoOptions,
  update: (cfg: RepoConfig) => void,
): Promise<void> {
  const locked = await openRepo(opts);
  await withWriteLock(locked, opts, async () => {
    const repo = await openRepo(opts);
    const cfg = { ...repo.config };
    update(cfg);
    const changed = (["DefaultGetUrl", "DefaultPutUrl", "DefaultPostUrl"] as const).some((k) =>
      cfg[k] !== repo.config[k]
    );
    if (changed) await repo.writeConfig(cfg);
  });
}
