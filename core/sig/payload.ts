/**
 * The payload of a pvs@2 signature (spec §10.2): the canonical JSON of the committed
 * state's keys that match any include glob and no exclude glob (doublestar semantics,
 * see core/model/glob.ts). A verifier recomputes exactly these bytes.
 *
 * @module
 */

import { canonicalJson, compareCodePoints } from "../model/canonical.ts";
import { globToRegExp } from "../model/glob.ts";
import type { JsonObject } from "../model/json_value.ts";
import type { State } from "../model/state.ts";

/** The match rule stored in the `pvs` header. */
export interface PvsMatch {
  include: string[];
  exclude: string[];
}

/** How a state's keys fall under a match rule. */
export interface PvsSelection {
  /** The protected keys and their values (the payload object). */
  selected: JsonObject;
  /** Keys an exclude glob matched (excludes win over includes). */
  excluded: string[];
  /** Keys no glob matched. */
  notSeen: string[];
}

/** Splits the keys of `state` by `match` (excludes win over includes). */
export function selectPayload(state: State, match: PvsMatch): PvsSelection {
  const inc = match.include.map(globToRegExp);
  const exc = match.exclude.map(globToRegExp);
  const selected: JsonObject = new Map();
  const excluded: string[] = [];
  const notSeen: string[] = [];
  for (const [k, v] of state) {
    if (exc.some((re) => re.test(k))) excluded.push(k);
    else if (inc.some((re) => re.test(k))) selected.set(k, v);
    else notSeen.push(k);
  }
  excluded.sort(compareCodePoints);
  notSeen.sort(compareCodePoints);
  return { selected, excluded, notSeen };
}

/** The payload bytes: canonical JSON of the selected keys (spec §3.2). */
export function payloadBytes(state: State, match: PvsMatch): Uint8Array {
  return new TextEncoder().encode(canonicalJson(selectPayload(state, match).selected));
}
