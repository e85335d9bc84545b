/**
 * `pvr put`: publish the committed state and its objects to another place.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { canonicalJson } from "../model/canonical.ts";
import { isJsonObject } from "../model/json_value.ts";
import { parseJson } from "../model/json_parse.ts";
import { FsObjectStore } from "../store/fs_store.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { absolutePath } from "../repo/global_config.ts";
import { blobsOf, haveIntact, transferObject } from "../repo/fetch.ts";
import { StatCache } from "../repo/stat_cache.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { isUrl } from "../remote/source.ts";
import { redactUrl } from "../remote/http.ts";
import {
  fetchRemote,
  type RemoteOptions,
  remoteTargetUrl,
  requireCaller,
} from "../remote/pantahub/remote.ts";
import { fetchBaseline, type UploadedObject, uploadObjects } from "../remote/pantahub/upload.ts";
import { httpStatusError, readSomeText } from "../remote/pantahub/transfer.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { rememberUrls } from "./remembered.ts";

/** Options for {@link put}. */
export interface PutOptions extends RepoOptions, RemoteOptions {
  /**
   * The target: a directory, or a Pantahub URL (a step that is still `NEW`); default
   * `.pvr/config` DefaultPutUrl.
   */
  target?: string;
  /** Copy objects even when the target has them (remote: never links). */
  force?: boolean;
}

/** What {@link put} did. */
export interface PutResult {
  /** The target directory (absolute) or URL. */
  target: string;
  /** Objects copied. */
  sent: number;
  /** Objects the target already had. */
  skipped: number;
  /** Remote targets: what became of each object, sorted by key. */
  objects?: UploadedObject[];
  /** Remote targets: bytes sent. */
  bytes?: number;
}

/**
 * Remote put (§5.10): descriptor, objects (baseline skipped), then `PUT` of the
 * committed state to `json-get-url` (canonical JSON) — which Pantahub accepts only for
 * a step that is still `NEW`.
 */
async function putRemote(opts: PutOptions, target: string): Promise<PutResult> {
  const repo = await openRepo(opts);
  const url = remoteTargetUrl(target, opts.repoBaseUrl);
  const caller = requireCaller(opts, `put to ${redactUrl(url)}`);
  const remote = await fetchRemote(caller, url);
  const stateUrl = remote["json-get-url"];
  if (!stateUrl || !remote["objects-endpoint"]) {
    throw new PvrError("REMOTE", `${redactUrl(url)}: the remote has no state URL to put to`);
  }
  const state = repo.pristine;
  const up = await uploadObjects({
    ...opts,
    caller,
    objectsEndpoint: remote["objects-endpoint"],
    state,
    store: repo.store,
    baseline: await fetchBaseline(caller, remote),
  });
  const res = await caller.call({
    method: "PUT",
    url: stateUrl,
    body: canonicalJson(state),
    headers: { "Content-Type": "application/json; charset=utf-8" },
    anonymous: false,
  });
  if (res.status !== 200) {
    const body = await readSomeText(res);
    throw httpStatusError(`PUT ${redactUrl(stateUrl)}`, res.status, res.statusText, body);
  }
  await res.body?.cancel().catch(() => {});
  await rememberUrls(opts, (cfg) => {
    cfg.DefaultGetUrl ||= target;
    cfg.DefaultPostUrl ||= target;
    cfg.DefaultPutUrl = target;
  });
  return {
    target: url,
    sent: up.uploaded,
    skipped: up.objects.length - up.uploaded,
    objects: up.objects,
    bytes: up.bytes,
  };
}

async function targetObjectsDir(dir: string): Promise<string> {
  const bytes = await Deno.readFile(`${dir}/config`).catch(() => null);
  if (bytes) {
    const cfg = parseJson(bytes, `${dir}/config`);
    const od = isJsonObject(cfg) ? cfg.get("ObjectsDir") : undefined;
    if (typeof od === "string" && od) {
      return od.startsWith("/") ? od : absolutePath(od, `${dir}/..`);
    }
  }
  return `${dir}/objects`;
}

/**
 * Writes the committed state to `<target>/json` and the objects it references (only
 * those, each verified) to `<target>/objects/` — the bare layout that {@link get} and
 * {@link clone} read. The target is created when missing. (The Go pvr's local put
 * fails on the normal layout and copies the whole central store.)
 *
 * To a Pantahub URL: sends the objects the remote lacks (in parallel, retried), then
 * replaces the state of that step (`PUT json-get-url`).
 *
 * Permissions: read, write; net for remotes.
 */
export async function put(opts: PutOptions): Promise<PutResult> {
  const repo = await openRepo(opts);
  const target = opts.target || repo.config.DefaultPutUrl;
  if (!target) throw new PvrError("USAGE", "no target given and no default put URL in .pvr/config");
  if (isUrl(target)) return await putRemote(opts, target);
  const dir = absolutePath(target, repo.dir);
  if (dir === repo.dir || dir === repo.paths.pvr) {
    throw new PvrError("USAGE", "cannot put a repository onto itself");
  }
  return await withWriteLock(repo, opts, async (cache) => {
    let hasState = false;
    let created = false;
    try {
      const st = await Deno.stat(dir);
      if (!st.isDirectory) throw new PvrError("BAD_REFERENCE", `${target} is not a directory`);
      hasState = (await Deno.stat(`${dir}/json`).catch(() => null)) !== null;
      if (!hasState) {
        for await (const _ of Deno.readDir(dir)) {
          throw new PvrError("BAD_REFERENCE", `${target} is not empty and is not a pvr repository`);
        }
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      created = true;
    }
    await Deno.mkdir(dir, { recursive: true });
    let sent = 0;
    let skipped = 0;
    try {
      const store = await FsObjectStore.open(await targetObjectsDir(dir), { create: true });
      const targetCache = StatCache.empty();
      for (const [sha] of blobsOf(repo.pristine)) {
        if (!opts.force && (await haveIntact(store, sha, targetCache))) {
          skipped++;
          continue;
        }
        if (!(await repo.store.has(sha))) {
          throw new PvrError(
            "OBJECT_MISSING",
            `object ${sha} is missing from ${repo.store.location}`,
          );
        }
        if (!(await haveIntact(repo.store, sha, cache))) {
          throw new PvrError(
            "OBJECT_CORRUPT",
            `object ${sha} in ${repo.store.location} is damaged`,
          );
        }
        await transferObject(repo.store, sha, store);
        sent++;
      }
      await writeFileAtomic(`${dir}/json`, canonicalJson(repo.pristine), { mode: 0o644 });
    } catch (err) {
      // A target made by this put goes again: left half-made (objects/ but no json), a
      // second put would refuse it as "not empty and not a pvr repository".
      if (created) await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
    const cfg = { ...repo.config, DefaultPutUrl: target };
    cfg.DefaultGetUrl ||= target;
    await repo.writeConfig(cfg);
    return { target: dir, sent, skipped };
  });
}
