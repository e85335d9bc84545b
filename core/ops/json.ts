/**
 * `pvr json`: the working state as one JSON document.
 *
 * @module
 */

import type { State } from "../model/state.ts";
import { computeWorkingState } from "../repo/working_state.ts";
import { prepareRead } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

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
  const repo = await openRepo(opts);
  const cache = await prepareRead(repo);
  const ws = await computeWorkingState(repo, { cache });
  await cache.save();
  return { state: ws.state };
}
