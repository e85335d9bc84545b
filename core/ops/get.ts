/**
 * `pvr get` and `pvr merge`: bring a state (or parts of it) and its objects into the
 * committed state of this repository. The working tree is not touched.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { applyMerge, applyReplace, filterByParts, parseParts } from "../model/parts.ts";
import type { State } from "../model/state.ts";
import { type FetchedObject, fetchObjects } from "../repo/fetch.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openSource, splitRef } from "../remote/source.ts";
import { fixupRepoRef, type RemoteOptions } from "../remote/pantahub/remote.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link get} and {@link merge}. */
export interface GetOptions extends RepoOptions, RemoteOptions {
  /**
   * The source: a bare repo dir (`json` + `objects/`), a checkout root, an export
   * tarball, a Pantahub URL (`…/trails/<id>`, `…/trails/<id>/steps/<rev>`), a bare IP
   * (pvr-sdk) or `user/device` (against `repoBaseUrl`), optionally with
   * `#part,part,-part`. Default: `.pvr/config` DefaultGetUrl.
   */
  ref?: string;
}

/** What {@link get}/{@link merge} did. */
export interface GetResult {
  /** The reference used. */
  ref: string;
  /** Every object of the selected parts, and whether it was already present. */
  objects: FetchedObject[];
  /** Objects copied in. */
  imported: number;
  /** The repo's objects dir. */
  objectsDir: string;
  /** The new committed state. */
  state: State;
}

async function getOrMerge(opts: GetOptions, mode: "replace" | "merge"): Promise<GetResult> {
  const repo = await openRepo(opts);
  // Fixed: the Go pvr falls back to DefaultPutUrl here.
  const given = opts.ref || repo.config.DefaultGetUrl;
  if (!given) {
    throw new PvrError("USAGE", "no repository given and no default get URL in .pvr/config");
  }
  // Fixed: the Go pvr's merge skipped the reference fixup.
  const ref = await fixupRepoRef(given, { cwd: repo.dir, repoBaseUrl: opts.repoBaseUrl });
  const { base, fragment } = splitRef(ref);
  const parts = parseParts(fragment);
  return await withWriteLock(repo, opts, async (cache) => {
    const source = await openSource(base, {
      cwd: repo.dir,
      tmpDir: await repo.tmpDir(),
      remote: opts,
    });
    try {
      const selected = filterByParts(source.state, parts.select);
      const next = mode === "replace"
        ? applyReplace(repo.pristine, source.state, parts)
        : applyMerge(repo.pristine, source.state, parts);
      // Every object is in the store (verified) before the state switches.
      const objects = await fetchObjects(repo, source, selected, cache);
      await repo.writePristine(next);
      const cfg = { ...repo.config, DefaultGetUrl: ref };
      if (!source.local) {
        cfg.DefaultPutUrl ||= ref;
        cfg.DefaultPostUrl ||= ref;
      }
      await repo.writeConfig(cfg);
      return {
        ref,
        objects,
        imported: objects.filter((o) => !o.cached).length,
        objectsDir: repo.store.location,
        state: next,
      };
    } finally {
      await source.close();
    }
  });
}

/**
 * Replaces the selected parts of the committed state with the source's (all of it
 * without a fragment) and copies in their objects, each verified. One atomic switch of
 * `.pvr/json`; then run {@link checkout} to update the working tree.
 *
 * From a remote, the state is validated before anything is written, objects are
 * downloaded in parallel (`jobs`), resumed and retried, and the committed state only
 * changes once every object is stored: a failure leaves it as it was.
 *
 * Permissions: read, write; net for remotes.
 */
export function get(opts: GetOptions): Promise<GetResult> {
  return getOrMerge(opts, "replace");
}

/**
 * Like {@link get}, but merges the source state into the committed one as an RFC 7396
 * merge patch (inline JSON objects are deep-merged; `null`s in the source are kept).
 *
 * Permissions: read, write; net for remotes.
 */
export function merge(opts: GetOptions): Promise<GetResult> {
  return getOrMerge(opts, "merge");
}
