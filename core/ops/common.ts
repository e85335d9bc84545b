/**
 * Options shared by the repository operations.
 *
 * @module
 */

import { Repo } from "../repo/repo.ts";

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
