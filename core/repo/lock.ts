/**
 * The repository write lock: an exclusive `flock` on `.pvr/lock`.
 *
 * The kernel drops the lock when the process dies (even by SIGKILL), so a crashed
 * writer never leaves a stale lock behind. The file itself is never deleted (deleting
 * a lock file races with the next locker).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import type { RepoPaths } from "./repo.ts";

/** A held lock. */
export interface RepoLock {
  /** Releases the lock (idempotent). */
  release(): void;
}

/** Options for {@link lockRepo}. */
export interface LockOptions {
  /** Wait for the lock instead of failing with `LOCKED`. */
  wait?: boolean;
}

/** Takes the exclusive write lock of the repo; `LOCKED` when another process holds it. */
export async function lockRepo(paths: RepoPaths, opts: LockOptions = {}): Promise<RepoLock> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(paths.lock, { read: true, write: true, create: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new PvrError("NOT_A_REPO", `not a pvr repository: ${paths.dir}`);
    }
    throw new PvrError("FAILED", `cannot open ${paths.lock}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  let got = await file.tryLock(true);
  if (!got && opts.wait) {
    await file.lock(true);
    got = true;
  }
  if (!got) {
    file.close();
    throw new PvrError(
      "LOCKED",
      `another pvr process is changing this repository (${paths.lock})`,
      {
        hint: "wait for it to finish, or pass --wait",
      },
    );
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      try {
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
}
