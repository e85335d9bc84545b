/**
 * `pvr import`: an export tarball becomes the committed state.
 *
 * @module
 */

import { absolutePath } from "../repo/global_config.ts";
import { commitStaged, readExport } from "../archive/import.ts";
import type { State } from "../model/state.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, recordVerifiedObjects, type RepoOptions } from "./common.ts";

/** Options for {@link importRepo}. */
export interface ImportRepoOptions extends RepoOptions {
  /** The tarball: a path (relative to `dir`) or a byte stream; plain or gzip. */
  input: string | ReadableStream<Uint8Array>;
}

/** What {@link importRepo} did. */
export interface ImportRepoResult {
  /** Objects added to the store. */
  objects: number;
  /** The new committed state. */
  state: State;
}

/**
 * Reads the whole archive into `.pvr/tmp` first — every entry checked (no absolute,
 * `..`, link or device entries), every object verified against its name, the state
 * validated and every object it references present — and only then moves the objects
 * into the store and switches `.pvr/json` (replaced wholesale, as the Go pvr does). A
 * bad archive changes nothing. The working tree is not touched: run checkout. An object
 * of the archive that the store already holds is kept only when this repository
 * verified it before (stat cache) or it re-hashes right; a damaged one is replaced by
 * the archive's verified bytes. The objects it added, replaced or re-hashed are recorded
 * as verified (stat cache), so that checkout does not hash them again.
 *
 * Permissions: read, write.
 */
export async function importRepo(opts: ImportRepoOptions): Promise<ImportRepoResult> {
  const repo = await openRepo(opts);
  return await withWriteLock(repo, opts, async (cache) => {
    const staging = await Deno.makeTempDir({ dir: await repo.tmpDir(), prefix: "import-" });
    try {
      const source = typeof opts.input === "string"
        ? absolutePath(opts.input, opts.dir)
        : opts.input;
      // Objects the store already holds are not read again when this repo verified them
      // before (stat cache); any other is re-hashed, and a damaged one replaced.
      const { state, objects, verified: intact } = await readExport(source, staging, {
        existing: repo.store,
        trusted: (sha, info) => cache.objectTrusted(sha, info),
      });
      const verified = [...intact];
      const added = await commitStaged(objects, staging, repo.store, {
        onAdded: (sha) => verified.push(sha),
      });
      await repo.writePristine(state);
      recordVerifiedObjects(repo, cache, verified);
      return { objects: added, state };
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => {});
    }
  });
}
