/**
 * `pvr dm-convert <container> <volume>` (spec pvr-reference §11.1): turns a volume of a
 * container into a dm-verity volume.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { canonicalJson } from "../model/canonical.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonObject, type JsonObject } from "../model/json_value.ts";
import { readSrcJson, writeSrcJson } from "../app/app_dir.ts";
import type { SrcJson } from "../app/src_json.ts";
import {
  checkPlainName,
  dmifyRunJson,
  findVeritysetup,
  parseManifest,
  type VerityFormat,
  type VerityManifest,
} from "../dm/verity.ts";
import { commitVolumes, discardVolumes, prepareVolume } from "../dm/volumes.ts";
import { withWriteLock } from "../repo/transaction.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { add } from "./add.ts";
import { openRepo, type RepoOptions } from "./common.ts";

/** Options of {@link dmConvert}. */
export interface DmConvertOptions extends RepoOptions {
  /** The container (a top-level directory), or `<container>/<volume>`. */
  container: string;
  /** The volume file in the container (when not given in `container`). */
  volume?: string;
  /** The `veritysetup` program (default: found on `PATH`, `/usr/sbin`, `/sbin`). */
  veritysetup?: string;
}

/** What {@link dmConvert} did. */
export interface DmConvertResult {
  container: string;
  volume: string;
  /** `<container>/_dm/<volume>.json`. */
  manifest: string;
  /** `<container>/<volume>.hash`. */
  hash: string;
  /** What veritysetup reported. */
  format: VerityFormat;
  /** `<container>/run.json` when it was rewritten with the `dm:` prefix. */
  runJson?: string;
  /** `<container>/src.json` when `dm_enabled` was set there. */
  srcJson?: string;
  /** Keys recorded in `.pvr/new` (the hash file and the manifest). */
  added: string[];
  /** Things the caller should tell the user (e.g. `run.json` does not name the volume). */
  warnings: string[];
}

/** Splits `<c> <v>` or `<c>/<v>` and checks both are plain names. */
export function dmArguments(container: string, volume?: string): [string, string] {
  let c = container.replace(/\/+$/, "");
  let v = volume;
  if (v === undefined) {
    const parts = c.split("/");
    if (parts.length !== 2) {
      throw new PvrError("USAGE", "give <container> <volume> or <container>/<volume>");
    }
    [c, v] = parts;
  }
  return [checkPlainName(c, "the container"), checkPlainName(v, "the volume")];
}

async function readRunJson(path: string, key: string): Promise<JsonObject | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  const v = parseJson(bytes, key);
  if (!isJsonObject(v)) throw new PvrError("BAD_STATE", `${key} is not a JSON object`);
  return v;
}

/**
 * Converts `<container>/<volume>`: runs `veritysetup format <volume> <volume>.hash`
 * (reusing the salt and uuid of an existing manifest), writes the manifest
 * `<container>/_dm/<volume>.json` canonically (`data_device`, `hash_device`,
 * `root_hash`, `salt`, `type: dm-verity`, `uuid`), prefixes the volume with `dm:` in
 * `<container>/run.json` (rewritten canonically), sets `dm_enabled[<volume>]` in
 * `<container>/src.json` when there is one, and adds the hash file and the manifest
 * (as `pvr add`).
 *
 * Everything is checked and veritysetup has succeeded before any file changes; the files
 * are then replaced atomically under the repository's write lock. Unlike the Go pvr,
 * veritysetup's exit status is checked.
 *
 * Permissions: read, write, run (veritysetup).
 *
 * @throws {PvrError} `USAGE`/`UNSAFE_PATH` for bad arguments; `NOT_A_REPO`;
 *   `BAD_WORKTREE` when the container or volume is missing; `MISSING_TOOL` without
 *   veritysetup (Debian package cryptsetup-bin); `FAILED` when veritysetup fails;
 *   `BAD_JSON`/`BAD_STATE` for an unusable `run.json`, `src.json` or manifest
 * @example
 * ```ts
 * const r = await dmConvert({ dir, configDir, container: "nginx", volume: "root.squashfs" });
 * r.manifest; // "nginx/_dm/root.squashfs.json"
 * ```
 */
export async function dmConvert(opts: DmConvertOptions): Promise<DmConvertResult> {
  const [container, volume] = dmArguments(opts.container, opts.volume);
  const repo = await openRepo(opts);
  const cdir = `${repo.dir}/${container}`;
  try {
    if (!(await Deno.lstat(cdir)).isDirectory) throw new Error("not a directory");
  } catch {
    throw new PvrError("BAD_WORKTREE", `container ${container} is not a directory`, {
      path: container,
    });
  }
  const program = findVeritysetup(opts.veritysetup);
  const manifestKey = `${container}/_dm/${volume}.json`;
  let existing: VerityManifest | undefined;
  try {
    existing = parseManifest(await Deno.readFile(`${repo.dir}/${manifestKey}`), manifestKey);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const sameVolume = existing?.dataDevice === volume;
  const manifest: VerityManifest = {
    ...(existing ?? { doc: new Map() }),
    dataDevice: volume,
    hashDevice: `${volume}.hash`,
    salt: sameVolume ? existing?.salt : undefined,
    uuid: sameVolume ? existing?.uuid : undefined,
  };
  const runKey = `${container}/run.json`;
  const run = await readRunJson(`${repo.dir}/${runKey}`, runKey);
  const warnings: string[] = [];
  const dmified = run === undefined ? undefined : dmifyRunJson(run, volume);
  if (run === undefined) warnings.push(`${runKey} not found: the volume is not marked dm:`);
  else if (dmified?.field === undefined) warnings.push(`volume to dmify not found: ${volume}`);
  let src: SrcJson | undefined;
  try {
    await Deno.lstat(`${cdir}/src.json`);
    src = await readSrcJson(repo.dir, container);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }

  const prepared = await prepareVolume({
    repoDir: repo.dir,
    container,
    manifestKey,
    manifest,
    program,
  });
  const result: DmConvertResult = {
    container,
    volume,
    manifest: manifestKey,
    hash: prepared.hashKey,
    format: prepared.format,
    added: [],
    warnings,
  };
  try {
    await withWriteLock(repo, opts, async () => {
      await commitVolumes(repo.dir, [prepared]);
      if (dmified !== undefined && dmified.field !== undefined && !dmified.already) {
        await writeFileAtomic(`${repo.dir}/${runKey}`, canonicalJson(dmified.doc), {
          mode: 0o644,
        });
        result.runJson = runKey;
      }
      if (src !== undefined) {
        const dm: JsonObject = new Map(src.dm_enabled ?? []);
        if (dm.get(volume) !== true) {
          dm.set(volume, true);
          await writeSrcJson(repo.dir, container, { ...src, dm_enabled: dm });
          result.srcJson = `${container}/src.json`;
        }
      }
    });
  } finally {
    await discardVolumes([prepared]);
  }
  result.added = (await add({
    dir: opts.dir,
    configDir: opts.configDir,
    wait: true,
    paths: [prepared.hashKey, manifestKey],
  })).added;
  return result;
}
