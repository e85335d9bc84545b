/**
 * `pvr status`: what changed between the committed state and the working tree.
 *
 * @module
 */

import { classifyStatus, type StatusResult } from "../model/status.ts";
import { readWorkingState, type RepoOptions } from "./common.ts";

export type { StatusResult };

/** Options for {@link status}. */
export type StatusOptions = RepoOptions;

/**
 * Classifies every path: added (`A`), removed (`D`), changed (`C`), untracked (`?`),
 * each list sorted by code point (the Go pvr's order inside a group is random).
 * Unchanged files are not read again (stat cache).
 *
 * Permissions: read, write (the stat cache in `.pvr/`).
 *
 * @example
 * ```ts
 * import { status } from "./mod.ts";
 * const s = await status({ dir: Deno.cwd(), configDir: `${Deno.env.get("HOME")}/.pvr` });
 * console.log(s.changed);
 * ```
 */
export async function status(opts: StatusOptions): Promise<StatusResult> {
  const { repo, ws } = await readWorkingState(opts);
  return classifyStatus(repo.pristine, ws.state, ws.untracked);
}
