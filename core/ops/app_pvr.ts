/**
 * pvr apps (spec pvr-reference §9.3 "pvr type", §9.8): an app taken from another pvr
 * repository's part.
 *
 * `--from <repo>#<part>[,<part>…]` names a local repository, an export tarball or a
 * remote (anything `pvr get` takes). The selected parts of its state are read as a
 * separate state (the committed state of this repository is not touched), their
 * objects are copied into this repository's store (each verified), and the keys are
 * checked out into the working tree as the Go pvr does (blobs hardlinked from the
 * store, read-only; JSON canonical), the first part's directory renamed to `<name>`.
 * Its `src.json` then gets `pvr` = `--from`, `persistence` from `--volume`, and
 * `--config-json` merged into `docker_config`.
 *
 * Difference from the Go pvr: `.pvr/config` is not changed (the Go pvr set
 * `DefaultGetUrl` and could point `DefaultPut/PostUrl` at the app's source).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { pathExists } from "../fs_util.ts";
import { filterByParts, keyInPart, parseParts } from "../model/parts.ts";
import type { JsonObject } from "../model/json_value.ts";
import type { State } from "../model/state.ts";
import { type FetchedObject, fetchObjects } from "../repo/fetch.ts";
import { checkoutState } from "../repo/checkout.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openSource, splitRef } from "../remote/source.ts";
import { fixupRepoRef, type RemoteOptions } from "../remote/pantahub/remote.ts";
import { appDir, readSrcJson, SRC_JSON, writeSrcJson } from "../app/app_dir.ts";
import type { SrcJson } from "../app/src_json.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options of {@link fetchPvrApp}. */
export interface FetchPvrAppOptions extends RepoOptions, RemoteOptions {
  /** The app name (already checked). */
  name: string;
  /** `<repo-ref>#<part>[,<part>…]`. */
  from: string;
  /** `persistence` to set (`--volume`); kept as it is when undefined. */
  persistence?: JsonObject;
  /** Merged into `docker_config` (`--config-json`). */
  configJson?: JsonObject;
  /** `true` for `app update`: the app exists and is replaced. */
  replace?: boolean;
}

/** What {@link fetchPvrApp} did. */
export interface FetchPvrAppResult {
  /** The app's new `src.json`. */
  src: SrcJson;
  /** The objects of the selected parts, and whether each was already in the store. */
  objects: FetchedObject[];
  /** Objects copied in. */
  imported: number;
  /** The repository's objects dir. */
  objectsDir: string;
  /** Working-tree keys written, sorted. */
  keys: string[];
  /** Files removed (update: files of the app that left the source). */
  removed: string[];
}

/** Keys of `state` with the `part` directory renamed to `name`. */
function renamed(state: State, part: string, name: string): State {
  if (part === name) return state;
  const out: State = new Map();
  for (const [k, v] of state) {
    out.set(keyInPart(k, part) ? name + k.slice(part.length) : k, v);
  }
  return out;
}

async function filesUnder(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel === "" ? dir : `${dir}/${rel}`)) {
    const p = rel === "" ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(dir, p));
    else out.push(p);
  }
  return out;
}

/**
 * Fetches the app's parts and checks them out as `<name>` (see the module doc).
 *
 * Permissions: read, write; net for remotes.
 *
 * @throws {PvrError} `USAGE` without a `#part` or (add) when `<name>` exists;
 *   `BAD_REFERENCE` when the source or the part is missing, or the part has no
 *   `src.json`; object and remote errors as `pvr get`
 */
export async function fetchPvrApp(opts: FetchPvrAppOptions): Promise<FetchPvrAppResult> {
  const repo = await openRepo(opts);
  const { name } = opts;
  const ref = await fixupRepoRef(opts.from, { cwd: repo.dir, repoBaseUrl: opts.repoBaseUrl });
  const { base, fragment } = splitRef(ref);
  const parts = parseParts(fragment);
  if (!ref.includes("#") || parts.select.length === 0) {
    throw new PvrError("USAGE", `--from ${opts.from}: a pvr app needs a #part (e.g. repo#app)`);
  }
  const part = parts.select[0];
  if (part.includes("/") || part.startsWith("_") || part.startsWith(".")) {
    throw new PvrError("USAGE", `--from ${opts.from}: the first part must be an app directory`);
  }
  const dir = appDir(repo.dir, name);
  const exists = await pathExists(dir);
  if (!opts.replace && exists) {
    throw new PvrError("USAGE", `${name} already exists`, { hint: `pvr app update ${name}` });
  }
  const old = opts.replace ? await readSrcJson(repo.dir, name) : undefined;
  return await withWriteLock(repo, opts, async (cache) => {
    const source = await openSource(base, {
      cwd: repo.dir,
      tmpDir: await repo.tmpDir(),
      remote: { ...opts, configDir: opts.configDir },
    });
    try {
      const selected = filterByParts(source.state, parts.select);
      selected.delete("#spec");
      if (!selected.has(`${part}/${SRC_JSON}`)) {
        throw new PvrError(
          "BAD_REFERENCE",
          `${source.label} has no app ${part} (no ${part}/${SRC_JSON} in its state)`,
        );
      }
      const objects = await fetchObjects(repo, source, selected, cache);
      const state = renamed(selected, part, name);
      const keys = [...state.keys()].sort();
      await checkoutState(repo, state, { hardlink: true, canonical: true, cache });
      const removed: string[] = [];
      if (exists) {
        // Update: the app's files that are no longer in the source go.
        for (const f of await filesUnder(dir)) {
          if (!state.has(`${name}/${f}`)) {
            await Deno.remove(`${dir}/${f}`);
            removed.push(`${name}/${f}`);
          }
        }
      }
      let src = await readSrcJson(repo.dir, name);
      src = { ...src, pvr: opts.from };
      const persistence = opts.persistence ?? old?.persistence;
      if (persistence !== undefined && persistence.size > 0) src.persistence = persistence;
      if (opts.configJson !== undefined) {
        const cfg: JsonObject = new Map(src.docker_config ?? []);
        for (const [k, v] of opts.configJson) cfg.set(k, v);
        src.docker_config = cfg;
      }
      await writeSrcJson(repo.dir, name, src);
      return {
        src,
        objects,
        imported: objects.filter((o) => !o.cached).length,
        objectsDir: repo.store.location,
        keys,
        removed,
      };
    } catch (err) {
      if (!exists) await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    } finally {
      await source.close();
    }
  });
}
