/**
 * `pvr diff`: the merge patch from the committed state to the working state.
 *
 * @module
 */

import { createMergePatch } from "../model/merge_patch.ts";
import type { JsonObject } from "../model/json_value.ts";
import type { State } from "../model/state.ts";
import { readWorkingState, type RepoOptions } from "./common.ts";

/** Options for {@link diff}. */
export type DiffOptions = RepoOptions;

/** The two states and the RFC 7396 merge patch between them. */
export interface DiffResult {
  /** The committed state. */
  from: State;
  /** The working state. */
  to: State;
  /** `createMergePatch(from, to)`; empty when nothing changed. */
  patch: JsonObject;
}

/**
 * Computes the working state and its merge patch against the committed state.
 *
 * Permissions: read, write (the stat cache in `.pvr/`).
 */
export async function diff(opts: DiffOptions): Promise<DiffResult> {
  const { repo, ws } = await readWorkingState(opts);
  return { from: repo.pristine, to: ws.state, patch: createMergePatch(repo.pristine, ws.state) };
}
