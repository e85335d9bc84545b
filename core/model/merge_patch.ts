/**
 * RFC 7396 JSON Merge Patch with pvr's rules (spec §4.1), for `status`, `diff`,
 * `commit` and `merge`.
 *
 * Written by hand because pvr's rules differ from a plain RFC 7396 library: numbers
 * compare by exact value, and null pruning is switchable (Go's json-patch fork prunes
 * nulls inside inserted values; `merge` of a stored state must not).
 *
 * Results may share unchanged sub-values with the inputs; inputs are never mutated.
 * Treat all values as immutable.
 *
 * @module
 */

import { isJsonObject, type JsonObject, type JsonValue } from "./json_value.ts";
import { jsonEquals } from "./json_equal.ts";

/**
 * The merge patch that turns `from` into `to`:
 *
 * * a key of `to` absent from `from` → the whole new value;
 * * values of different JSON types → the whole new value;
 * * both objects → the sub-patch, only when it is not empty;
 * * arrays → the whole new array when they are not {@link jsonEquals};
 * * scalars → the new value when not {@link jsonEquals}. Numbers compare by exact
 *   decimal value, not as float64 (deliberate difference from the Go pvr, which missed
 *   changes beyond float64 precision);
 * * a key of `from` absent from `to` → `null`.
 *
 * A `null` in `to` where `from` has another value also gives `null`, which RFC 7396
 * reads as a deletion: a patch cannot store `null`. Code that must keep nulls (commit)
 * should write the target document itself rather than re-apply the patch.
 *
 * @example
 * ```ts
 * createMergePatch(jsonObject({ a: "x", b: "y" }), jsonObject({ a: "x", c: "z" }));
 * // Map { "c" => "z", "b" => null }
 * ```
 */
export function createMergePatch(from: JsonObject, to: JsonObject): JsonObject {
  const patch: JsonObject = new Map();
  for (const [k, t] of to) {
    const f = from.get(k);
    if (f === undefined) {
      patch.set(k, t);
    } else if (isJsonObject(f) && isJsonObject(t)) {
      const sub = createMergePatch(f, t);
      if (sub.size > 0) patch.set(k, sub);
    } else if (!jsonEquals(f, t)) {
      patch.set(k, t);
    }
  }
  for (const k of from.keys()) {
    if (!to.has(k)) patch.set(k, null);
  }
  return patch;
}

/** Options of {@link applyMergePatch}. */
export interface ApplyMergePatchOptions {
  /**
   * A `null` member of the patch deletes the target's member (RFC 7396). When false,
   * the member is set to `null` instead. Default true.
   */
  nullMeansDelete?: boolean;
  /**
   * Nulls inside a value that is inserted whole (new key, or replacing a non-object)
   * are removed, array elements included: `[null, {"a": null}]` becomes `[{}]` (what
   * the Go pvr does on commit). When false, inserted values are copied verbatim.
   * Default true.
   */
  pruneNulls?: boolean;
}

/**
 * Applies a merge patch (RFC 7396) to `target` and returns the result; neither input
 * is changed.
 *
 * * A non-object patch replaces the target (after null pruning, see options).
 * * An object patch is merged member by member into the target (a non-object target
 *   counts as `{}`): objects on both sides merge recursively; other values replace.
 *
 * What pvr uses:
 * * `commit`: the defaults (`null` deletes, inserted values are null-pruned), as the
 *   Go pvr does.
 * * `merge` of a remote state ({@link applyMerge} in `parts.ts`):
 *   `{ nullMeansDelete: false, pruneNulls: false }`, because the remote document is a
 *   stored state, not a patch: its nulls are values and survive (deliberate
 *   difference from the Go pvr, which dropped them).
 */
export function applyMergePatch(
  target: JsonValue,
  patch: JsonValue,
  opts: ApplyMergePatchOptions = {},
): JsonValue {
  const nullMeansDelete = opts.nullMeansDelete ?? true;
  const prune = opts.pruneNulls ?? true;
  return apply(target, patch, nullMeansDelete, prune);
}

function apply(
  target: JsonValue,
  patch: JsonValue,
  nullMeansDelete: boolean,
  prune: boolean,
): JsonValue {
  if (!isJsonObject(patch)) return prune ? pruneNulls(patch) : patch;
  const result: JsonObject = isJsonObject(target) ? new Map(target) : new Map();
  for (const [k, v] of patch) {
    if (v === null && nullMeansDelete) {
      result.delete(k);
      continue;
    }
    const cur = result.get(k);
    if (isJsonObject(v) && isJsonObject(cur)) {
      result.set(k, apply(cur, v, nullMeansDelete, prune));
    } else {
      // Inserted whole. (RFC 7396 merges a new object into `{}`, which drops its null
      // members: pruning does that and more.)
      result.set(k, prune ? pruneNulls(v) : v);
    }
  }
  return result;
}

/**
 * `v` without nulls inside it: null members of objects and null elements of arrays
 * are removed, recursively. A top-level `null` stays `null`. Returns `v` itself when
 * there is nothing to remove.
 */
export function pruneNulls(v: JsonValue): JsonValue {
  if (Array.isArray(v)) {
    let changed = false;
    const out: JsonValue[] = [];
    for (const x of v) {
      if (x === null) {
        changed = true;
        continue;
      }
      const p = pruneNulls(x);
      if (p !== x) changed = true;
      out.push(p);
    }
    return changed ? out : v;
  }
  if (isJsonObject(v)) {
    let changed = false;
    const out: JsonObject = new Map();
    for (const [k, x] of v) {
      if (x === null) {
        changed = true;
        continue;
      }
      const p = pruneNulls(x);
      if (p !== x) changed = true;
      out.set(k, p);
    }
    return changed ? out : v;
  }
  return v;
}
