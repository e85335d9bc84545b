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
import { isUrl, redactUrl } from "../remote/source.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link put}. */
export interface PutOptions extends RepoOptions {
  /** The target (a directory; default `.pvr/config` DefaultPutUrl). */
  target?: string;
  /** Copy objects even when the target has them. */
  force?: boolean;
}

/** What {@link put} did. */
export interface PutResult {
  target: string;
  /** Objects copied. */
  sent: number;
  /** Objects the target already had. */
  skipped: number;
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
 * Permissions: read, write.
 */
export async function put(opts: PutOptions): Promise<PutResult> {
  const repo = await openRepo(opts);
  const target = opts.target || repo.config.DefaultPutUrl;
  if (!target) throw new PvrError("USAGE", "no target given and no default put URL in .pvr/config");
  if (isUrl(target)) {
    throw new PvrError("BAD_REFERENCE", `remote put is not supported yet: ${redactUrl(target)}`);
  }
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
          throw new PvrError("OBJECT_MISSING", `object ${sha} is missing from ${repo.store.location}`);
        }
        if (!(await haveIntact(repo.store, sha, cache))) {
          throw new PvrError("OBJECT_CORRUPT", `object ${sha} in ${repo.store.location} is damaged`);
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
