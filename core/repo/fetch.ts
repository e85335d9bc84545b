/**
 * Copying the objects of a state from a source store into the repo's store, each
 * verified against its name before it becomes visible.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { isInlineJson, type State } from "../model/state.ts";
import type { ObjectStore } from "../store/object_store.ts";
import type { Repo } from "./repo.ts";
import type { StatCache } from "./stat_cache.ts";
import type { Source } from "../remote/source.ts";

/** One object of a fetch: its first key, and whether it was already in the store. */
export interface FetchedObject {
  key: string;
  sha: string;
  cached: boolean;
}

/** The object ids of a state's blob keys, each with its first key (sorted by key). */
export function blobsOf(state: State): Map<string, string> {
  const out = new Map<string, string>();
  const keys = [...state.keys()].filter((k) => k !== "#spec").sort(compareCodePoints);
  for (const k of keys) {
    const v = state.get(k);
    if (typeof v === "string" && !isInlineJson(k, v)) {
      const sha = v.toLowerCase();
      if (!out.has(sha)) out.set(sha, k);
    }
  }
  return out;
}

/** True when the store holds an intact copy (trusted by the stat cache, or re-hashed). */
export async function haveIntact(
  store: ObjectStore,
  sha: string,
  cache: StatCache,
): Promise<boolean> {
  if (!(await store.has(sha))) return false;
  const path = store.pathOf?.(sha);
  const st = path ? await Deno.stat(path).catch(() => null) : null;
  if (st && cache.objectTrusted(sha, st)) return true;
  const ok = (await store.verify(sha)) === "ok";
  if (ok && st) cache.recordObject(sha, await Deno.stat(path!));
  return ok;
}

/** Copies one object between stores, verified on the way in. */
export async function transferObject(
  from: ObjectStore,
  sha: string,
  to: ObjectStore,
): Promise<void> {
  if (!(await from.has(sha))) {
    throw new PvrError("OBJECT_MISSING", `object ${sha} is missing from ${from.location}`);
  }
  const path = from.pathOf?.(sha);
  if (path) await to.putFile(path, sha);
  else await to.put(await from.read(sha), sha);
}

/**
 * Brings every object of `state` into the repo's store from `source`: objects already
 * there and intact are kept (`cached`), the others are fetched (verified on the way in).
 * Returns one entry per object, sorted by key.
 */
export async function fetchObjects(
  repo: Repo,
  source: Source,
  state: State,
  cache: StatCache,
): Promise<FetchedObject[]> {
  const out: FetchedObject[] = [];
  const missing = new Map<string, string>();
  for (const [sha, key] of blobsOf(state)) {
    const cached = await haveIntact(repo.store, sha, cache);
    out.push({ key, sha, cached });
    if (!cached) missing.set(sha, key);
  }
  await source.fetchObjects(missing, repo.store);
  for (const sha of missing.keys()) {
    cache.recordObject(sha, await Deno.stat(repo.store.pathOf(sha)));
  }
  return out;
}
