/**
 * The checkout journal, `.pvr/journal`.
 *
 * A checkout rewrites many working-tree files. Before it starts it records what it is
 * doing here (written atomically and fsync'ed); it deletes the journal when every file
 * is in place. A command that finds a journal (the checkout was killed) first finishes
 * that checkout — roll forward — so the tree ends in the checked-out state and no
 * committed data is lost (untracked files are never touched).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import type { RepoPaths } from "./repo.ts";

/** What an interrupted operation was doing. */
export interface Journal {
  op: "checkout";
  hardlink: boolean;
  canonical: boolean;
  /** Keys to remove from the tree (files that left the state), if any. */
  remove: string[];
  /** Remove `.pvr/new` too before the journal goes (a checkout of the committed state). */
  clearAdded?: boolean;
}

/** Records `j` durably. */
export async function writeJournal(paths: RepoPaths, j: Journal): Promise<void> {
  await writeFileAtomic(paths.journal, JSON.stringify(j), { mode: 0o644 });
}

/** The pending journal, or null. A damaged journal is an error (never guessed at). */
// deno-lint-ignore require-await
export async function readJournal(paths: RepoPaths): Promise<Journal | null> {
  let text: string;
  try {
    text = Deno.readTextFileSync(paths.journal); // usually missing: a sync call is cheaper
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  try {
    const j = JSON.parse(text) as Journal;
    if (j.op !== "checkout") throw new Error(`unknown op ${String(j.op)}`);
    return {
      op: "checkout",
      hardlink: !!j.hardlink,
      canonical: !!j.canonical,
      remove: j.remove ?? [],
      clearAdded: !!j.clearAdded,
    };
  } catch (err) {
    throw new PvrError(
      "CORRUPT_REPO",
      `repo is in bad state: .pvr/journal: ${(err as Error).message}`,
      {
        hint: "remove .pvr/journal and run pvr reset",
      },
    );
  }
}

/** Removes the journal (the operation is complete). */
export async function clearJournal(paths: RepoPaths): Promise<void> {
  await Deno.remove(paths.journal).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
