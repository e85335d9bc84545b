/**
 * `pvr status` (alias `s`, optionally `--json`) answered without loading the CLI, when
 * the repository's status snapshot still holds (see core/repo/stat_cache.ts).
 *
 * Loading the CLI (its parser, the command and its core modules) costs several times what
 * an unchanged status needs. This module's whole import graph has no `npm:` and no
 * `node:` import. It only answers when the answer is certain and reading it changed
 * nothing; in every other case (any other argument, no or stale snapshot, a pending
 * recovery, an error of any kind) it returns null and the caller runs the full CLI,
 * which computes, reports errors and exit codes as always.
 *
 * @module
 */

import { resolveConfigDir } from "../core/repo/global_config.ts";
import { noteStatusSnapshotMiss, readStatusSnapshot } from "../core/repo/stat_cache.ts";
import { formatStatusLines } from "../core/model/status.ts";

/**
 * The full stdout of `pvr <args>` when `args` is a status command this path handles and
 * the snapshot holds for `cwd`; null when the full CLI must run.
 *
 * Needs `--allow-read` (and uses `--allow-ffi` when granted).
 */
export function leanStatus(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string | null {
  if (args.length < 1 || args.length > 2 || (args[0] !== "status" && args[0] !== "s")) {
    return null;
  }
  const json = args.length === 2;
  if (json && args[1] !== "--json") return null;
  try {
    // The CLI resolves the global options first; an error there is the CLI's to report.
    resolveConfigDir(env, cwd);
    const s = readStatusSnapshot(cwd);
    if (s === null) {
      noteStatusSnapshotMiss(cwd); // the CLI that runs next need not check again
      return null;
    }
    return json ? JSON.stringify(s) + "\n" : formatStatusLines(s);
  } catch {
    return null;
  }
}
