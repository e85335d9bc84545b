/**
 * `pvr export`: the committed state and its objects as a tarball.
 *
 * @module
 */

import { absolutePath } from "../repo/global_config.ts";
import { exportToPath, writeExport } from "../archive/export.ts";
import { prepareRead } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link exportRepo}. */
export interface ExportRepoOptions extends RepoOptions {
  /**
   * A file path (relative to `dir`; gzip when it ends in `.gz`/`.tgz`), or a byte sink
   * (a plain tar is written to it, as for `pvr export -`).
   */
  output: string | WritableStream<Uint8Array>;
  /** Only these parts (keys or directories of keys); all when absent. */
  parts?: string[];
  /**
   * Make a file output durable (fsync it, then its directory) before returning. Default
   * false, as `tar` and `cp`: the archive is outside the repository.
   */
  fsync?: boolean;
}

/** What {@link exportRepo} wrote. */
export interface ExportRepoResult {
  /** Distinct objects written. */
  objects: number;
  /** Archive bytes (compressed size when gzipped). */
  bytes: number;
}

/**
 * Writes `json` (the canonical committed state, filtered by `parts`) and then
 * `objects/<sha>` for each object, verified on the way (an object this repository
 * verified before and that is unchanged since, as its stat cache records, is not hashed
 * again). A file output appears whole (temp file + rename) or not at all.
 *
 * Permissions: read, write.
 */
export async function exportRepo(opts: ExportRepoOptions): Promise<ExportRepoResult> {
  const repo = await openRepo(opts);
  const cache = await prepareRead(repo);
  await cache.save();
  const parts = opts.parts?.length ? opts.parts : undefined;
  const trusted = (sha: string, st: Deno.FileInfo) => cache.objectTrusted(sha, st);
  if (typeof opts.output === "string") {
    return await exportToPath(absolutePath(opts.output, opts.dir), {
      state: repo.pristine,
      store: repo.store,
      parts,
      trusted,
      fsync: opts.fsync ?? false,
    });
  }
  return await writeExport({
    state: repo.pristine,
    store: repo.store,
    output: opts.output,
    gzip: false,
    parts,
    trusted,
  });
}
