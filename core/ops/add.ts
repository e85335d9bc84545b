/**
 * `pvr add`: mark files to be committed (`.pvr/new`).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { globToRegExp, hasGlobSyntax } from "../model/glob.ts";
import { validateStateKey } from "../model/paths.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { sha256File } from "../store/hash.ts";
import type { NewEntry } from "../repo/repo.ts";
import { type WalkEntry, walkTree } from "../repo/working_state.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options for {@link add}. */
export interface AddOptions extends RepoOptions {
  /**
   * Paths or globs relative to the repo root (`*`, `?` within a segment, `**` across,
   * `[...]`, `{a,b}`). A directory adds every file below it. Empty or `["."]` adds
   * every file of the tree.
   */
  paths?: string[];
  /** Commit the files as objects even if they are `.json` (`--raw`). */
  raw?: boolean;
}

/** What {@link add} recorded. */
export interface AddResult {
  /** Keys recorded in `.pvr/new`, sorted. */
  added: string[];
}

/** Normalises a user path to a repo key prefix: strips `./`, trailing `/`, the repo root. */
function normalisePattern(p: string, root: string): string {
  let s = p;
  if (s.startsWith("/")) {
    if (s === root) return ".";
    if (!s.startsWith(root + "/")) {
      throw new PvrError("UNSAFE_PATH", `${p} is outside the repository`, { path: p });
    }
    s = s.slice(root.length + 1);
  }
  while (s.startsWith("./")) s = s.slice(2);
  s = s.replace(/\/+$/, "").replace(/\/\.\//g, "/").replace(/\/{2,}/g, "/");
  if (s === "" || s === ".") return ".";
  if (s.split("/").includes("..")) {
    throw new PvrError("UNSAFE_PATH", `${p} is outside the repository`, { path: p });
  }
  return s;
}

function selectFiles(entries: WalkEntry[], patterns: string[]): WalkEntry[] {
  if (patterns.length === 0 || patterns.includes(".")) return entries;
  const selected = new Set<WalkEntry>();
  for (const pat of patterns) {
    let hit = false;
    if (hasGlobSyntax(pat)) {
      const re = globToRegExp(pat);
      for (const e of entries) {
        if (re.test(e.key)) {
          selected.add(e);
          hit = true;
        }
      }
    } else {
      for (const e of entries) {
        if (e.key === pat || e.key.startsWith(pat + "/")) {
          selected.add(e);
          hit = true;
        }
      }
    }
    if (!hit) {
      throw new PvrError("USAGE", `pathspec '${pat}' did not match any file`, { path: pat });
    }
  }
  return entries.filter((e) => selected.has(e));
}

/**
 * Records the matching files in `.pvr/new` (with their sha256), to be committed by
 * {@link commit}. Unlike the Go pvr: directories are recursed, `./x` and `dir/` are
 * understood, a pattern that matches nothing is an error, and only the exact top-level
 * `.pvr`/`.pv` are skipped (not every name starting with `.pv`).
 *
 * Permissions: read, write.
 */
export async function add(opts: AddOptions): Promise<AddResult> {
  const repo = await openRepo(opts);
  const patterns = (opts.paths ?? []).map((p) => normalisePattern(p, repo.dir));
  return await withWriteLock(repo, opts, async (cache) => {
    const skip = repo.store.location.startsWith(repo.dir + "/") ? repo.store.location : undefined;
    const files = selectFiles([...walkTree(repo.dir, skip)], patterns);
    const next = new Map<string, NewEntry>(repo.added);
    for (const f of files) {
      validateStateKey(f.key);
      let st: Deno.FileInfo;
      try {
        st = await Deno.stat(f.path);
      } catch {
        throw new PvrError("BAD_WORKTREE", `${f.key} is a dangling symbolic link`, { path: f.key });
      }
      if (!st.isFile) {
        throw new PvrError("BAD_WORKTREE", `${f.key} is not a regular file`, { path: f.key });
      }
      let sha = cache.lookupFile(f.key, st);
      if (sha === undefined) {
        sha = (await sha256File(f.path)).sha;
        cache.recordFile(f.key, st, sha);
      }
      next.set(f.key, { ForceObject: !!opts.raw, Sha: sha });
    }
    await repo.writeAdded(next);
    return { added: files.map((f) => f.key).sort(compareCodePoints) };
  });
}
