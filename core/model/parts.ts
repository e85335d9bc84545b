/**
 * Fragments and parts (spec §5.8): `#a,b,-c` selects the parts `a` and `b` of a
 * state and "unparts" `c`. A part is a key or a directory of keys.
 *
 * Deliberate difference from the Go pvr: the `/` boundary applies everywhere, so the
 * part `bsp` is `bsp` and `bsp/…`, never `bsp2/…` or `bspfoo.json` (Go removed keys by
 * raw string prefix, spec §13.5 item 37).
 *
 * @module
 */

import type { JsonObject } from "./json_value.ts";
import type { State } from "./state.ts";
import { SPEC_KEY } from "./paths.ts";
import { applyMergePatch } from "./merge_patch.ts";

/** A parsed fragment. */
export interface Parts {
  /** Parts to take from the source (all of it when empty). */
  select: string[];
  /** Parts to remove from the destination (`-x` items). */
  unselect: string[];
}

/**
 * Parses a fragment (the text after `#`): items split on `,`; a leading `-` makes an
 * unpart; trailing `/`s are trimmed; empty items are ignored.
 *
 * @example
 * ```ts
 * parseParts("bsp/,os,-_config/os"); // { select: ["bsp", "os"], unselect: ["_config/os"] }
 * ```
 */
export function parseParts(fragment: string): Parts {
  const parts: Parts = { select: [], unselect: [] };
  for (const item of fragment.split(",")) {
    const un = item.startsWith("-");
    let part = un ? item.slice(1) : item;
    let end = part.length;
    while (end > 0 && part.charCodeAt(end - 1) === 0x2f) end--;
    part = part.slice(0, end);
    if (part === "") continue;
    (un ? parts.unselect : parts.select).push(part);
  }
  return parts;
}

/**
 * True when `key` belongs to `part`: it is the part itself or lies under it
 * (`key` starts with `part + "/"`). The empty part holds every key.
 */
export function keyInPart(key: string, part: string): boolean {
  if (part === "" || key === part) return true;
  return key.length > part.length && key.charCodeAt(part.length) === 0x2f &&
    key.startsWith(part);
}

function inAnyPart(key: string, parts: readonly string[]): boolean {
  for (const p of parts) {
    if (keyInPart(key, p)) return true;
  }
  return false;
}

/**
 * The keys of `state` in the selected parts (a new object). With no parts, all keys,
 * `#spec` included; with parts, `#spec` is kept only when a part selects it.
 */
export function filterByParts(state: JsonObject, select: readonly string[]): JsonObject {
  if (select.length === 0) return new Map(state);
  const out: JsonObject = new Map();
  for (const [k, v] of state) {
    if (inAnyPart(k, select)) out.set(k, v);
  }
  return out;
}

/** `state` without the keys in any of `parts` (a new object). */
function removeParts(state: JsonObject, parts: readonly string[]): JsonObject {
  const out: JsonObject = new Map();
  for (const [k, v] of state) {
    if (!inAnyPart(k, parts)) out.set(k, v);
  }
  return out;
}

/**
 * Replace mode (`get`, `clone`, `deploy -n`): for each selected part (the whole state
 * when none is selected), the local keys in the part are dropped and the remote keys
 * in the part copied in; then the unselected parts are removed.
 *
 * `#spec` of the result is the remote's when no part is selected or a part selects
 * `#spec`, else the local's. Returns a new state; the inputs are not changed.
 */
export function applyReplace(local: State, remote: State, parts: Parts): State {
  const select = parts.select;
  const out = select.length === 0 ? new Map(remote) : new Map(removeParts(local, select));
  if (select.length > 0) {
    for (const [k, v] of remote) {
      if (inAnyPart(k, select)) out.set(k, v);
    }
  }
  const specFrom = select.length === 0 || select.includes(SPEC_KEY) ? remote : local;
  const spec = specFrom.get(SPEC_KEY);
  if (spec === undefined) out.delete(SPEC_KEY);
  else out.set(SPEC_KEY, spec);
  return removeParts(out, parts.unselect);
}

/**
 * Merge mode (`merge`, `deploy`): the unselected parts are removed from the local
 * state, then the selected part of the remote state is merge-patched in with
 * `{ nullMeansDelete: false, pruneNulls: false }`: inline JSON objects on both sides
 * are deep-merged, other values are replaced, and nulls of the remote state are kept
 * as values (deliberate difference from the Go pvr, where they deleted or vanished).
 * Returns a new state; the inputs are not changed.
 */
export function applyMerge(local: State, remote: State, parts: Parts): State {
  const base = removeParts(local, parts.unselect);
  const patch = filterByParts(remote, parts.select);
  return applyMergePatch(base, patch, { nullMeansDelete: false, pruneNulls: false }) as State;
}
