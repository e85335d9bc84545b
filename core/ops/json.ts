/**
 * `pvr json`: the working state as one JSON document.
 *
 * @module
 */

import type { State } from "../model/state.ts";
import { readWorkingState, type RepoOptions } from "./common.ts";

/** Options for {@link json}. */
export type JsonOptions = RepoOptions;

/** The working state. */
export interface JsonResult {
  state: State;
}

/**
 * Computes the working state (tracked files only: inline JSON and object ids).
 *
 * Permissions: read, write (the stat cache in `.pvr/`).
 */
export async function json(opts: JsonOptions): Promise<JsonResult> {
  const { ws } = await readWorkingState(opts);
  return { state: ws.state };
}
