/**
 * `pvr putobjects`: send every object of the committed state to an objects endpoint.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { isUrl } from "../remote/source.ts";
import { redactUrl } from "../remote/http.ts";
import { type RemoteOptions, requireCaller } from "../remote/pantahub/remote.ts";
import { type UploadedObject, uploadObjects } from "../remote/pantahub/upload.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link putObjects}. */
export interface PutObjectsOptions extends RepoOptions, RemoteOptions {
  /** The objects endpoint, e.g. `https://api.pantahub.com/objects` (a URL). */
  endpoint: string;
  /** Send objects the server already has again (never links). */
  force?: boolean;
}

/** What {@link putObjects} did. */
export interface PutObjectsResult {
  endpoint: string;
  /** What became of each object, sorted by key. */
  objects: UploadedObject[];
  /** Objects sent. */
  uploaded: number;
  /** Bytes sent. */
  bytes: number;
}

/**
 * Registers and sends every object the committed state references to `endpoint`
 * (§5.12), with no baseline: the server's 409s tell what it has. In parallel, retried.
 *
 * Permissions: read, net.
 *
 * @example
 * ```ts
 * import { putObjects } from "./mod.ts";
 * await putObjects({ dir: Deno.cwd(), configDir, endpoint: "https://api.pantahub.com/objects" });
 * ```
 */
export async function putObjects(opts: PutObjectsOptions): Promise<PutObjectsResult> {
  if (!isUrl(opts.endpoint)) {
    throw new PvrError(
      "USAGE",
      `putobjects needs the URL of an objects endpoint: ${opts.endpoint}`,
    );
  }
  const repo = await openRepo(opts);
  const caller = requireCaller(opts, `putobjects to ${redactUrl(opts.endpoint)}`);
  const up = await uploadObjects({
    ...opts,
    caller,
    objectsEndpoint: opts.endpoint,
    state: repo.pristine,
    store: repo.store,
  });
  return { endpoint: opts.endpoint, ...up };
}
