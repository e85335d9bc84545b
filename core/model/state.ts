/**
 * The state document (spec §3.1): one flat JSON object whose keys are file paths
 * (plus `#spec`) and whose values are inline JSON or object ids.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "./json_value.ts";
import { isObjectId } from "./object_id.ts";
import { sortedKeys } from "./canonical.ts";
import { SPEC_KEY, stateKeyProblem } from "./paths.ts";

/** The `#spec` used when a state has none (and the default of init and clone). */
export const DEFAULT_SPEC = "pantavisor-service-system@1";

/** A state document: file path (or `#spec`) → inline JSON or object id. */
export type State = JsonObject;

/**
 * Whether the file `key` is stored inline (its parsed JSON content) rather than as an
 * object reference ("isInlineJson", spec §3.1): inline iff the key ends with `.json`,
 * it is not forced to be an object (`pvr add --raw`), and its current pristine value
 * is not an object id (a tracked `.json` file committed as a blob stays a blob).
 *
 * @param key the state key
 * @param pristineValue the key's value in the pristine state (`undefined` when new)
 * @param forceObject the file was added with `--raw`
 */
export function isInlineJson(
  key: string,
  pristineValue: JsonValue | undefined,
  forceObject = false,
): boolean {
  return !forceObject && key.endsWith(".json") && !isObjectId(pristineValue);
}

/**
 * Checks that a parsed document is a valid state and returns it (not copied):
 *
 * * it is an object;
 * * `#spec`, if present, is a string;
 * * every other key is a safe path (see `validateStateKey`);
 * * a key not ending in `.json` has an object id (64 hex digits) as value;
 * * a `.json` key may have any value (a 64-hex string is a blob reference).
 *
 * @param source what the document is (a path or URL), for error messages
 * @throws {PvrError} `BAD_STATE`, or `UNSAFE_PATH` for an unsafe key
 */
export function validateState(state: JsonValue, source: string): State {
  if (!isJsonObject(state)) {
    throw new PvrError("BAD_STATE", `${source}: a state must be a JSON object`);
  }
  for (const [key, value] of state) {
    if (key === SPEC_KEY) {
      if (typeof value !== "string") {
        throw new PvrError("BAD_STATE", `${source}: "#spec" must be a string`, { path: key });
      }
      continue;
    }
    const problem = stateKeyProblem(key);
    if (problem !== undefined) {
      throw new PvrError(
        "UNSAFE_PATH",
        `${source}: unsafe state key ${JSON.stringify(key)}: ${problem}`,
        { path: key },
      );
    }
    if (!key.endsWith(".json") && !isObjectId(value)) {
      throw new PvrError(
        "BAD_STATE",
        `${source}: value of ${JSON.stringify(key)} must be an object id (64 hex digits)`,
        { path: key },
      );
    }
  }
  return state;
}

/**
 * The objects a state references: lower case object id → the keys that use it, keys
 * sorted by code point. A value is a reference when it is an object id and not inline
 * (see {@link isInlineJson}); `#spec` is never one. Ids are keyed in lower case.
 */
export function stateObjects(state: State): Map<string, string[]> {
  const objects = new Map<string, string[]>();
  for (const key of sortedKeys(state)) {
    if (key === SPEC_KEY) continue;
    const value = state.get(key);
    if (typeof value !== "string" || !isObjectId(value) || isInlineJson(key, value)) continue;
    const id = value.toLowerCase();
    const keys = objects.get(id);
    if (keys === undefined) objects.set(id, [key]);
    else keys.push(key);
  }
  return objects;
}

/** The state's `#spec` when it is a string, else {@link DEFAULT_SPEC}. */
export function specOf(state: State | null): string {
  const spec = state?.get(SPEC_KEY);
  return typeof spec === "string" ? spec : DEFAULT_SPEC;
}
