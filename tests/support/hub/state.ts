/**
 * State handling on the server side (spec pantahub-api.md §5): the state as Go decodes
 * it (every number a float64), the validation rules with their 500s, and `state-sha`.
 *
 * The rules differ from pvr's own `validateState`: the server does not check key
 * paths, requires one of three `#spec` values and requires every referenced object to
 * be uploaded (or linked) for the owner.
 *
 * @module
 */

import { canonicalJson, sortedKeys } from "../../../core/model/canonical.ts";
import {
  isJsonObject,
  JsonNumber,
  type JsonObject,
  type JsonValue,
} from "../../../core/model/json_value.ts";
import { sha256Bytes } from "../../../core/store/hash.ts";
import { appError } from "./http.ts";
import { isSha, resolveStateObject } from "./objects.ts";
import type { HubCore } from "./router.ts";

/** The `#spec` values the server accepts (§5 rule 2). */
export const ACCEPTED_SPECS: readonly string[] = [
  "pantavisor-multi-platform@1",
  "pantavisor-service-embed@1",
  "pantavisor-service-system@1",
];

/**
 * The value as Go's `encoding/json` decodes it into `interface{}`: every number becomes
 * the nearest float64 (so `1.50` is `1.5` and integers above 2^53 lose precision).
 *
 * @throws a 400 for a number out of float64 range (Go refuses to decode it)
 */
export function asGoDecodes(v: JsonValue): JsonValue {
  if (v instanceof JsonNumber) {
    const n = Number(v.text);
    if (!Number.isFinite(n)) throw appError(400, `number out of range: ${v.text.slice(0, 40)}`);
    return new JsonNumber(String(Object.is(n, -0) ? 0 : n));
  }
  if (Array.isArray(v)) return v.map(asGoDecodes);
  if (isJsonObject(v)) {
    const out: JsonObject = new Map();
    for (const [k, x] of v) out.set(k, asGoDecodes(x));
    return out;
  }
  return v;
}

/** `state-sha`: lowercase hex SHA-256 of the canonical JSON of the state (§5). */
export function stateSha(state: JsonObject): string {
  return sha256Bytes(new TextEncoder().encode(canonicalJson(state)));
}

/**
 * Validates a state for `owner` (§5) and returns the storage ids it uses. Referenced
 * objects are un-marked as garbage; autolinks are created when enabled.
 *
 * @throws a 500 (the real server's status for every validation failure)
 */
export async function validateServerState(
  core: HubCore,
  owner: string,
  state: JsonObject,
  autolink: boolean,
): Promise<string[]> {
  if (state.size === 0) return []; // rule 1: {} is accepted without checks
  const spec = state.get("#spec");
  if (spec === undefined) throw appError(500, "state_object: Invalid state:#spec is missing");
  if (typeof spec !== "string") {
    throw appError(500, "state_object: Invalid state:Value of #spec should be string");
  }
  if (!ACCEPTED_SPECS.includes(spec)) {
    throw appError(500, `state_object: Invalid state:#spec should not be ${spec}`);
  }
  const used: string[] = [];
  for (const key of sortedKeys(state)) {
    if (key === "#spec" || key.endsWith(".json")) continue; // rule 5: .json not checked
    const v = state.get(key) as JsonValue;
    if (typeof v !== "string") throw appError(500, `state_object: Object is not a string[${key}]`);
    if (!isSha(v)) throw appError(500, `state_object: Object is not a valid sha[${key}]`);
    const rec = await resolveStateObject(core, owner, key, v, autolink);
    rec.garbage = false;
    if (!used.includes(rec.storageId)) used.push(rec.storageId);
  }
  return used;
}
