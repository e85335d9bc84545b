/**
 * `pvr commit`: make the working state the committed state.
 *
 * @module
 */

import { canonicalJson } from "../model/canonical.ts";
import type { JsonValue } from "../model/json_value.ts";
import { classifyStatus } from "../model/status.ts";
import { isInlineJson, type State } from "../model/state.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { computeWorkingState } from "../repo/working_state.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, recordVerifiedObjects, type RepoOptions } from "./common.ts";

/** The default message, as the Go pvr writes it. */
export const DEFAULT_COMMIT_MESSAGE = "** No commit message **";

/** Options for {@link commit}. */
export interface CommitOptions extends RepoOptions {
  /** The commit message (`.pvr/commitmsg`). */
  message?: string;
  /** Also write and commit `checkpoint.json` = `{"major":"<now, RFC 3339>"}`. */
  checkpoint?: boolean;
  /** The clock (for `--checkpoint`); default `() => new Date()`. */
  now?: () => Date;
}

/** One committed path. */
export interface CommittedFile {
  key: string;
  /** Absolute path in the working tree. */
  path: string;
  /** True for inline JSON; false for an object (then `sha` is set). */
  inline: boolean;
  sha?: string;
}

/** What {@link commit} did. */
export interface CommitResult {
  added: CommittedFile[];
  changed: CommittedFile[];
  removed: string[];
  /** The new committed state. */
  state: State;
}

function pad(n: number, w = 2): string {
  return String(Math.abs(n)).padStart(w, "0");
}

/** `date` as Go's `time.RFC3339` in local time (`2006-01-02T15:04:05-07:00`, or `Z`). */
export function formatRfc3339Local(date: Date): string {
  const off = -date.getTimezoneOffset();
  const zone = off === 0
    ? "Z"
    : `${off < 0 ? "-" : "+"}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${
    pad(date.getHours())
  }:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`;
}

/**
 * Stores every new or changed object (each file read and hashed once; unchanged files
 * are not read at all), then switches `.pvr/json` to the working state with one
 * atomic rename. Unlike the Go pvr, `null` values and exact numbers are committed as
 * they are (the Go pvr drops nulls and rounds changed big numbers to float64).
 *
 * Permissions: read, write.
 *
 * @example
 * ```ts
 * import { add, commit } from "./mod.ts";
 * const o = { dir: "/tmp/demo", configDir: `${Deno.env.get("HOME")}/.pvr` };
 * await add(o);
 * const r = await commit({ ...o, message: "first" });
 * console.log(r.added.length);
 * ```
 */
export async function commit(opts: CommitOptions): Promise<CommitResult> {
  const repo = await openRepo(opts);
  return await withWriteLock(repo, opts, async (cache) => {
    const extra = new Map<string, boolean>();
    if (opts.checkpoint) {
      const now = (opts.now ?? (() => new Date()))();
      const body: JsonValue = new Map([["major", formatRfc3339Local(now)]]);
      await writeFileAtomic(`${repo.dir}/checkpoint.json`, canonicalJson(body), { mode: 0o640 });
      extra.set("checkpoint.json", false);
    }
    const ws = await computeWorkingState(repo, { cache, storeObjects: true, extra });
    const st = classifyStatus(repo.pristine, ws.state, []);
    const describe = (key: string): CommittedFile => {
      const raw = ws.raw.get(key);
      const value = ws.state.get(key)!;
      const inline = key === "#spec" || !raw || isInlineJson(key, value);
      return { key, path: `${repo.dir}/${key}`, inline, sha: inline ? undefined : raw?.sha };
    };
    const added = st.added.map(describe);
    const changed = st.changed.map(describe);
    // Objects served by the stat cache were not stored this run: make sure they are there.
    const written = new Set(ws.stored);
    for (const f of [...added, ...changed]) {
      if (f.sha && !(await repo.store.has(f.sha))) {
        const raw = ws.raw.get(f.key)!;
        if ((await repo.store.putFile(raw.path, f.sha)).stored) written.add(f.sha);
      }
    }
    // What this commit wrote was verified on the way in: a later checkout may trust it.
    recordVerifiedObjects(repo, cache, written);
    await repo.writeCommitMsg(opts.message ?? DEFAULT_COMMIT_MESSAGE);
    await repo.writePristine(ws.state);
    await repo.clearAdded();
    return { added, changed, removed: st.removed, state: ws.state };
  });
}
