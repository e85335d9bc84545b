/**
 * `pvr post`: publish the committed state as a new revision (a Pantahub step).
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { canonicalJson } from "../model/canonical.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../model/json_value.ts";
import type { State } from "../model/state.ts";
import { redactUrl } from "../remote/http.ts";
import {
  fetchRemote,
  type PvrRemote,
  type RemoteOptions,
  remoteTargetUrl,
  requireCaller,
} from "../remote/pantahub/remote.ts";
import type { PantahubCaller } from "../remote/pantahub/types.ts";
import { fetchBaseline, type UploadedObject, uploadObjects } from "../remote/pantahub/upload.ts";
import { httpStatusError, readSomeText } from "../remote/pantahub/transfer.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { rememberUrls } from "./remembered.ts";

/** The revision fields of a post (shared with {@link fastcopy}). */
export interface PostEnvelopeOptions {
  /** The commit message (`commit-msg`, sent when not empty). */
  message?: string;
  /** The revision to create: -1 (the default) appends; 0 leaves `rev` out. */
  rev?: number;
  /** Extra envelope fields: a JSON object or its text (default `{}`). */
  envelope?: string | JsonObject;
}

/** Options for {@link post}. */
export interface PostOptions extends RepoOptions, RemoteOptions, PostEnvelopeOptions {
  /**
   * Where to post: a Pantahub URL (`…/trails/<id>`), `user/device` (against
   * `repoBaseUrl`) or a bare IP (pvr-sdk); default `.pvr/config` DefaultPostUrl.
   */
  target?: string;
  /** Send objects the server already has again (never links). */
  force?: boolean;
}

/** What the server made of a posted revision. */
export interface PostedRevision {
  /** The new revision (`rev`, or the device's `revlocal` when `rev` is -1). */
  rev: string;
  /** The SHA-256 of the state's canonical JSON, as the server computed it. */
  stateSha: string;
  /** The trail (device) id. */
  trailId: string;
}

/** What {@link post} did. */
export interface PostResult extends PostedRevision {
  /** The target as given (remembered as DefaultPostUrl). */
  target: string;
  /** The URL posted to (the repo URL, not the post-url). */
  url: string;
  /** What became of each object, sorted by key. */
  objects: UploadedObject[];
  /** Objects sent. */
  uploaded: number;
  /** Bytes sent. */
  bytes: number;
}

const StepReply = z.object({
  rev: z.number(),
  "state-sha": z.string(),
  "trail-id": z.string(),
  revlocal: z.string().nullish(),
});

/** The envelope of a post (§7.5): `--envelope`, `commit-msg`, `rev`, the state under `json-key`. */
export function postEnvelope(state: State, jsonKey: string, opts: PostEnvelopeOptions): JsonObject {
  let env: JsonValue;
  if (opts.envelope === undefined || opts.envelope === "") env = new Map();
  else if (typeof opts.envelope === "string") {
    try {
      env = parseJson(opts.envelope, "--envelope");
    } catch (err) {
      throw new PvrError("USAGE", `--envelope is not JSON: ${(err as Error).message}`);
    }
  } else env = new Map(opts.envelope);
  if (!isJsonObject(env)) throw new PvrError("USAGE", "--envelope must be a JSON object");
  const out: JsonObject = new Map(env);
  if (opts.message) out.set("commit-msg", opts.message);
  const rev = opts.rev ?? -1;
  if (!Number.isSafeInteger(rev)) throw new PvrError("USAGE", `--rev must be an integer: ${rev}`);
  if (rev !== 0) out.set("rev", new JsonNumber(String(rev)));
  out.set(jsonKey || "post", state);
  return out;
}

/**
 * POSTs an envelope to the descriptor's `post-url` as canonical JSON (with the
 * `text/plain` content type the Go pvr's client sniffed) and reads the new step.
 *
 * Needs `--allow-net`.
 */
export async function postRevision(
  caller: PantahubCaller,
  remote: PvrRemote,
  envelope: JsonObject,
): Promise<PostedRevision> {
  const url = remote["post-url"];
  if (!url) throw new PvrError("REMOTE", "the remote descriptor has no post-url");
  const what = `POST ${redactUrl(url)}`;
  const res = await caller.call({
    method: "POST",
    url,
    body: canonicalJson(envelope),
    headers: { "Content-Type": "text/plain; charset=utf-8" },
    anonymous: false,
  });
  if (res.status !== 200) {
    throw httpStatusError(what, res.status, res.statusText, await readSomeText(res));
  }
  let reply;
  try {
    reply = StepReply.safeParse(JSON.parse(await res.text()));
  } catch {
    throw new PvrError("REMOTE", `${what}: the answer is not JSON`);
  }
  if (!reply.success) {
    throw new PvrError("REMOTE", `${what}: the answer has no rev, state-sha or trail-id`);
  }
  const r = reply.data;
  const rev = r.rev === -1 && r.revlocal ? r.revlocal : String(r.rev);
  return { rev, stateSha: r["state-sha"], trailId: r["trail-id"] };
}

/**
 * Posts the committed state as a new revision (§5.11): the remote descriptor, the
 * objects the remote lacks (baseline skipped, in parallel, retried), then the envelope.
 * Remembers the target as DefaultPostUrl (and as DefaultGetUrl/DefaultPutUrl when those
 * are empty). Uncommitted changes are not posted.
 *
 * Permissions: read, write (`.pvr/config`), net.
 *
 * @example
 * ```ts
 * import { post } from "./mod.ts";
 * const r = await post({ dir: Deno.cwd(), configDir, target: "https://api.pantahub.com/trails/<id>", message: "new app" });
 * console.log(`revision ${r.rev}, ${r.uploaded} objects sent`);
 * ```
 */
export async function post(opts: PostOptions): Promise<PostResult> {
  const repo = await openRepo(opts);
  const target = opts.target || repo.config.DefaultPostUrl;
  if (!target) {
    throw new PvrError("USAGE", "no target given and no default post URL in .pvr/config");
  }
  const url = remoteTargetUrl(target, opts.repoBaseUrl);
  const caller = requireCaller(opts, `post to ${redactUrl(url)}`);
  const state = repo.pristine;
  const remote = await fetchRemote(caller, url);
  const envelope = postEnvelope(state, remote["json-key"], opts);
  if (!remote["objects-endpoint"]) {
    throw new PvrError("REMOTE", "the remote descriptor has no objects-endpoint");
  }
  const up = await uploadObjects({
    ...opts,
    caller,
    objectsEndpoint: remote["objects-endpoint"],
    state,
    store: repo.store,
    baseline: await fetchBaseline(caller, remote),
  });
  const posted = await postRevision(caller, remote, envelope);
  await rememberUrls(opts, (cfg) => {
    cfg.DefaultPostUrl = target;
    cfg.DefaultGetUrl ||= target;
    cfg.DefaultPutUrl ||= target;
  });
  return { ...posted, target, url, objects: up.objects, uploaded: up.uploaded, bytes: up.bytes };
}
