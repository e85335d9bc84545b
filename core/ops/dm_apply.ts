/**
 * `pvr dm-apply [<prefix>]` (spec pvr-reference §11.2): regenerates the dm-verity hash
 * trees of the working state's volumes.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { compareCodePoints } from "../model/canonical.ts";
import { findVeritysetup, parseManifest, type VerityFormat } from "../dm/verity.ts";
import {
  commitVolumes,
  discardVolumes,
  type PreparedVolume,
  prepareVolume,
} from "../dm/volumes.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { add } from "./add.ts";
import { readWorkingState, type RepoOptions } from "./common.ts";

/** Options of {@link dmApply}. */
export interface DmApplyOptions extends RepoOptions {
  /** Only manifests whose key starts with this (default all). */
  prefix?: string;
  /** The `veritysetup` program (default: found on `PATH`, `/usr/sbin`, `/sbin`). */
  veritysetup?: string;
}

/** One volume {@link dmApply} looked at. */
export interface DmApplyVolume {
  /** The manifest's key (`<container>/_dm/<volume>.json`). */
  manifest: string;
  /** The hash file's key. */
  hash: string;
  /** True when the hash file or the manifest changed. */
  updated: boolean;
  format: VerityFormat;
}

/** What {@link dmApply} did. */
export interface DmApplyResult {
  /** Every manifest under the prefix, sorted by key. */
  volumes: DmApplyVolume[];
  /** Keys recorded in `.pvr/new`. */
  added: string[];
}

/** True for a working-state key that is a dm-verity manifest. */
export function isDmManifestKey(key: string): boolean {
  const at = key.indexOf("/_dm/");
  return at > 0 && key.endsWith(".json") && !key.slice(at + 5).includes("/");
}

/**
 * For every working-state key starting with `prefix` that is a dm manifest
 * (`<container>/_dm/<volume>.json`): runs `veritysetup format --salt S --uuid U` on its
 * data device, reusing the manifest's salt and uuid so that the same data gives the
 * same bytes, and updates the hash file and the manifest (`root_hash`, `salt`, `uuid`)
 * when they differ, adding both (as `pvr add`). A manifest without salt or uuid gets new
 * ones.
 *
 * Unlike the Go pvr: every volume is processed (the Go pvr returned at the first
 * unchanged one), veritysetup's exit status is checked, and nothing changes unless
 * every volume was formatted successfully (files are replaced atomically under the
 * write lock).
 *
 * Permissions: read, write, run (veritysetup).
 *
 * @throws {PvrError} `NOT_A_REPO`; `MISSING_TOOL` without veritysetup (only when there
 *   is a manifest); `BAD_JSON`/`BAD_STATE` for a bad manifest; `BAD_WORKTREE` for a
 *   missing data file; `FAILED` when veritysetup fails
 * @example
 * ```ts
 * const r = await dmApply({ dir, configDir, prefix: "nginx/" });
 * r.volumes.filter((v) => v.updated).map((v) => v.manifest);
 * ```
 */
export async function dmApply(opts: DmApplyOptions): Promise<DmApplyResult> {
  const prefix = opts.prefix ?? "";
  const { repo, ws } = await readWorkingState(opts);
  const keys = [...ws.state.keys()].filter((k) => k.startsWith(prefix) && isDmManifestKey(k))
    .sort(compareCodePoints);
  if (keys.length === 0) return { volumes: [], added: [] };
  const program = findVeritysetup(opts.veritysetup);
  const prepared: PreparedVolume[] = [];
  try {
    for (const key of keys) {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(`${repo.dir}/${key}`);
      } catch (err) {
        throw new PvrError("BAD_WORKTREE", `cannot read ${key}: ${(err as Error).message}`, {
          path: key,
        });
      }
      prepared.push(
        await prepareVolume({
          repoDir: repo.dir,
          container: key.slice(0, key.indexOf("/_dm/")),
          manifestKey: key,
          manifest: parseManifest(bytes, key),
          program,
        }),
      );
    }
    if (prepared.some((p) => p.changed)) {
      await withWriteLock(repo, opts, () => commitVolumes(repo.dir, prepared));
    }
  } finally {
    await discardVolumes(prepared);
  }
  // Changed volumes, and any whose hash file is not tracked yet.
  const toAdd = prepared.filter((p) => p.changed || !ws.state.has(p.hashKey));
  const added = toAdd.length === 0 ? [] : (await add({
    dir: opts.dir,
    configDir: opts.configDir,
    wait: true,
    paths: toAdd.flatMap((p) => [p.hashKey, p.manifestKey]),
  })).added;
  return {
    volumes: prepared.map((p) => ({
      manifest: p.manifestKey,
      hash: p.hashKey,
      updated: p.changed,
      format: p.format,
    })),
    added,
  };
}
