/**
 * `pvr status` classification (spec §4.2).
 *
 * @module
 */

import type { JsonObject } from "./json_value.ts";
import { jsonEquals } from "./json_equal.ts";
import { compareCodePoints } from "./canonical.ts";

/** The result of {@link classifyStatus}; every list sorted by code point. */
export interface StatusResult {
  /** Keys in the working state but not in the pristine state (`A`). */
  added: string[];
  /** Keys in the pristine state but not in the working state (`D`). */
  removed: string[];
  /** Keys in both with different values (`C`). */
  changed: string[];
  /** Files that are neither in the pristine state nor added (`?`). */
  untracked: string[];
}

/**
 * Classifies the keys of the pristine and working states, comparing them key by key
 * with {@link jsonEquals}. `#spec` takes part like any key (`A #spec` when the
 * pristine state has none).
 *
 * Deliberate differences from the Go pvr, which classified from the merge patch:
 * a `.json` file whose content is `null` is present (not `D` for ever), a stored
 * `null` inside a file is not a change for ever, and every list is sorted (Go's
 * order was random).
 *
 * @param pristine the committed state, or `null` when there is none
 * @param working the state computed from the working tree
 * @param untracked the untracked file paths (sorted here)
 * @example
 * ```ts
 * classifyStatus(jsonObject({ a: "x" }), jsonObject({ b: "y" }), ["n"]);
 * // { added: ["b"], removed: ["a"], changed: [], untracked: ["n"] }
 * ```
 */
export function classifyStatus(
  pristine: JsonObject | null,
  working: JsonObject,
  untracked: string[],
): StatusResult {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [k, w] of working) {
    const p = pristine?.get(k);
    if (p === undefined) added.push(k);
    else if (!jsonEquals(p, w)) changed.push(k);
  }
  if (pristine !== null) {
    for (const k of pristine.keys()) {
      if (!working.has(k)) removed.push(k);
    }
  }
  return {
    added: added.sort(compareCodePoints),
    removed: removed.sort(compareCodePoints),
    changed: changed.sort(compareCodePoints),
    untracked: [...untracked].sort(compareCodePoints),
  };
}

/**
 * The `pvr status` output: one `<letter> <path>\n` line per entry, grouped `A`, `D`,
 * `C`, `?`; the empty string for a clean tree.
 */
export function formatStatusLines(s: StatusResult): string {
  let out = "";
  for (const k of s.added) out += `A ${k}\n`;
  for (const k of s.removed) out += `D ${k}\n`;
  for (const k of s.changed) out += `C ${k}\n`;
  for (const k of s.untracked) out += `? ${k}\n`;
  return out;
}
