/**
 * `pvr stepinfo`: the step resource behind a repository URL.
 *
 * @module
 */

import type { JsonValue } from "../model/json_value.ts";
import {
  fetchRemote,
  fetchStep,
  type PvrRemote,
  requireCaller,
  stepUrl,
} from "../remote/pantahub/remote.ts";
import { type RemoteInfoOptions, resolveRemoteUrl } from "./remoteinfo.ts";

/** Options for {@link stepInfo}. */
export type StepInfoOptions = RemoteInfoOptions;

/** What {@link stepInfo} found. */
export interface StepInfoResult {
  /** The repository URL asked (without fragment). */
  url: string;
  /** Its descriptor. */
  remote: PvrRemote;
  /** Where the step was read (`step-get-url`, or the parent of `json-get-url`). */
  stepUrl: string;
  /** The step document (rev, commit-msg, state, progress, …), as the server sent it. */
  step: JsonValue;
}

/**
 * Fetches the descriptor, then the step it points at (§5.16).
 *
 * Permissions: read (defaults, local paths), net.
 *
 * @example
 * ```ts
 * import { stepInfo } from "./mod.ts";
 * const { step } = await stepInfo({ cwd: Deno.cwd(), configDir, ref: "https://api.pantahub.com/trails/<id>/steps/3" });
 * ```
 */
export async function stepInfo(opts: StepInfoOptions): Promise<StepInfoResult> {
  const url = await resolveRemoteUrl(opts);
  const caller = requireCaller(opts, "stepinfo");
  const remote = await fetchRemote(caller, url);
  return { url, remote, stepUrl: stepUrl(remote), step: await fetchStep(caller, remote) };
}
