/**
 * `pvr fastcopy`: copy a state, or parts of it, from one remote to another as a new
 * revision, without moving any object bytes (the server links them).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import type { JsonObject } from "../model/json_value.ts";
import { keyInPart } from "../model/parts.ts";
import { type State, validateState } from "../model/state.ts";
import { splitRef } from "../remote/source.ts";
import { redactUrl } from "../remote/http.ts";
import {
  fetchRemote,
  fetchRemoteState,
  type RemoteOptions,
  remoteTargetUrl,
  requireCaller,
} from "../remote/pantahub/remote.ts";
import {
  type PostedRevision,
  postEnvelope,
  type PostEnvelopeOptions,
  postRevision,
} from "./post.ts";

/** Options for {@link fastcopy}. */
export interface FastcopyOptions extends RemoteOptions, PostEnvelopeOptions {
  /** The source: a URL or `user/device`, with optional `#part,part`. */
  source: string;
  /** The destination: a URL or `user/device`, with optional `#part,part` (renames). */
  dest: string;
  /** Merge into the destination's parts instead of replacing them. */
  merge?: boolean;
  /** The global config dir (saved tokens), when no `caller` is given. */
  configDir?: string;
}

/** What {@link fastcopy} did. */
export interface FastcopyResult extends PostedRevision {
  /** The state posted to the destination. */
  state: State;
}

function fragments(ref: string): string[] {
  const { fragment } = splitRef(ref);
  if (fragment === "") return [];
  return fragment.split(",").map((f) => f.replace(/\/+$/, ""));
}

/**
 * Computes the destination state of a fast copy (§5.13): unless `merge`, the
 * destination parts are removed (everything without fragments); then every source key
 * in source part `i` is copied to destination part `i` (`#a,b` → `#c,d` renames `a` to
 * `c` and `b` to `d`). Parts end at a `/`: `bsp` is `bsp` and `bsp/…`. Pure.
 */
export function fastcopyState(
  source: State,
  dest: State,
  srcFrags: readonly string[],
  destFrags: readonly string[],
  merge: boolean,
): State {
  if (destFrags.length > 0 && srcFrags.length === 0) {
    throw new PvrError(
      "USAGE",
      "the source needs a #fragment when the destination has one",
    );
  }
  if (destFrags.length > 0 && destFrags.length !== srcFrags.length) {
    throw new PvrError(
      "USAGE",
      "the source and the destination need as many #fragment parts, or the destination none",
    );
  }
  const from = srcFrags.length > 0 ? srcFrags : [""];
  const to = destFrags.length > 0 ? destFrags : from;
  let out: JsonObject = new Map(dest);
  if (!merge) {
    out = new Map([...out].filter(([k]) => !to.some((part) => keyInPart(k, part))));
  }
  for (let i = 0; i < from.length; i++) {
    for (const [k, v] of source) {
      if (!keyInPart(k, from[i])) continue;
      out.set(to[i] + k.slice(from[i].length), v);
    }
  }
  return validateState(out, "the fastcopy result");
}

/**
 * Copies the source's state (or parts, renamed by the destination's fragment) into the
 * destination's state and posts it there as a new revision. No object bytes move:
 * Pantahub links the objects (the destination account must be able to see them).
 *
 * Permissions: net (and read of `configDir` for saved tokens).
 *
 * @example
 * ```ts
 * import { fastcopy } from "./mod.ts";
 * // bsp of device A becomes bsp of device B's next revision.
 * await fastcopy({ configDir, source: `${hub}/trails/${a}#bsp`, dest: `${hub}/trails/${b}` });
 * ```
 */
export async function fastcopy(opts: FastcopyOptions): Promise<FastcopyResult> {
  const srcUrl = remoteTargetUrl(opts.source, opts.repoBaseUrl);
  const destUrl = remoteTargetUrl(opts.dest, opts.repoBaseUrl);
  const caller = requireCaller(opts, `fastcopy to ${redactUrl(destUrl)}`);
  const srcFrags = fragments(opts.source);
  const destFrags = fragments(opts.dest);
  const srcRemote = await fetchRemote(caller, srcUrl);
  const source = await fetchRemoteState(caller, srcRemote);
  const destRemote = await fetchRemote(caller, destUrl);
  const dest = await fetchRemoteState(caller, destRemote, { allowEmpty: true });
  const state = fastcopyState(source, dest, srcFrags, destFrags, opts.merge ?? false);
  const envelope = postEnvelope(state, destRemote["json-key"], opts);
  const posted = await postRevision(caller, destRemote, envelope);
  return { ...posted, state };
}
