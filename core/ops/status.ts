/**
 * `pvr status`: what changed between the committed state and the working tree.
 *
 * @module
 */

import { classifyStatus, type StatusResult } from "../model/status.ts";
import { readStatusSnapshot, StatusSnapshotRecorder } from "../repo/stat_cache.ts";
import { type StatProbe, statProbe } from "../../native/walk_stat.ts";
import { readWorkingState, type RepoOptions } from "./common.ts";

export type { StatusResult };

/** Options for {@link status}. */
export type StatusOptions = RepoOptions;

/**
 * Classifies every path: added (`A`), removed (`D`), changed (`C`), untracked (`?`),
 * each list sorted by code point (the Go pvr's order inside a group is random).
 * Unchanged files are not read again (stat cache); when nothing that the last result
 * depended on changed, the stored result is returned without reading `.pvr/json` or
 * any working file (the status snapshot, see core/repo/stat_cache.ts).
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
export function status(opts: StatusOptions): Promise<StatusResult> {
  return statusWithProbe(opts, statProbe());
}

/** {@link status} with the status snapshot's stat records taken by `probe` (tests). */
export async function statusWithProbe(
  opts: StatusOptions,
  probe: StatProbe,
): Promise<StatusResult> {
  const stored = readStatusSnapshot(opts.dir, probe);
  if (stored !== null) return stored;
  const recorder = new StatusSnapshotRecorder(opts.dir, probe);
  let result: StatusResult | undefined;
  try {
    await readWorkingState(opts, {
      recorder,
      beforeSave(repo, ws, cache) {
        result = classifyStatus(repo.pristine, ws.state, ws.untracked);
        const snapshot = recorder.finish(result);
        if (snapshot !== null) cache.setStatusSnapshot(snapshot);
      },
    });
  } finally {
    recorder.stop();
  }
  return result!;
}
