/**
 * `pvr fsck`: verify that every object the committed state references is present and
 * intact (beyond the Go pvr).
 *
 * @module
 */

import { blobsOf } from "../repo/fetch.ts";
import { FsObjectStore } from "../store/fs_store.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link fsck}. */
export type FsckOptions = RepoOptions;

/** One problem found. */
export interface FsckProblem {
  sha: string;
  /** The first state key that references the object. */
  key: string;
  kind: "missing" | "corrupt";
}

/** What {@link fsck} found. */
export interface FsckResult {
  /** Objects checked. */
  objects: number;
  /** Problems, in key order; empty when the repository is sound. */
  problems: FsckProblem[];
  /** Temp files of dead or long-gone writers removed from the objects dir. */
  tempsRemoved: number;
}

/** True when no process `pid` runs on this (Linux) host; false when unknown. */
function writerGone(pid: number): boolean {
  if (Deno.build.os !== "linux" || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch {
    return true;
  }
}

/**
 * Re-hashes every object referenced by the committed state (never trusting the stat
 * cache), and removes partial objects left in the objects dir by killed writers. `.pvr/json`, `.pvr/config` and `.pvr/new` are parsed and validated on the way.
 * It takes the write lock so that it also finishes an interrupted checkout first.
 *
 * Permissions: read, write (lock and stat cache).
 */
export async function fsck(opts: FsckOptions): Promise<FsckResult> {
  const repo = await openRepo(opts);
  return await withWriteLock(repo, opts, async (cache) => {
    const problems: FsckProblem[] = [];
    const blobs = blobsOf(repo.pristine);
    for (const [sha, key] of blobs) {
      const v = await repo.store.verify(sha);
      if (v === "ok") {
        const st = await Deno.stat(repo.store.pathOf(sha)).catch(() => null);
        if (st) cache.recordObject(sha, st);
      } else {
        problems.push({ sha, key, kind: v });
      }
    }
    // Partial objects of killed writers (a killed commit of a big file leaves one).
    const tempsRemoved = await FsObjectStore.sweepTemps(repo.store.location, {
      deadWriters: writerGone,
    }).catch(() => 0);
    return { objects: blobs.size, problems, tempsRemoved };
  });
}
