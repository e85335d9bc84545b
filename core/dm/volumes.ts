/**
 * Converting and refreshing dm-verity volumes in a working tree, in two phases so that
 * a failure changes nothing: {@link prepareVolume} runs `veritysetup` into a temp file
 * beside the hash file; {@link commitVolumes} (under the repository's write lock)
 * renames the hash files into place and writes the manifests atomically.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { sha256File } from "../store/hash.ts";
import { renameDurable, tempName, writeFileAtomic } from "../../native/durability.ts";
import {
  formatManifest,
  type VerityFormat,
  type VerityManifest,
  veritysetupFormat,
} from "./verity.ts";

/** One volume, formatted and ready to be committed. */
export interface PreparedVolume {
  /** The container's path relative to the repository (`nginx`, `bsp`). */
  container: string;
  /** `<container>/_dm/<volume>.json`. */
  manifestKey: string;
  /** `<container>/<hash_device>`. */
  hashKey: string;
  /** The new manifest text (canonical JSON). */
  manifestText: string;
  /** What veritysetup reported. */
  format: VerityFormat;
  /** The formatted hash tree (a temp file beside the hash file). */
  tmpHash: string;
  /** False when the hash file and the manifest already have these exact bytes. */
  changed: boolean;
}

/** Options of {@link prepareVolume}. */
export interface PrepareVolumeOptions {
  /** The working tree root (absolute). */
  repoDir: string;
  /** The container (relative path). */
  container: string;
  /** The manifest's key (`<container>/_dm/<volume>.json`). */
  manifestKey: string;
  /** The manifest as it is (or a new one). */
  manifest: VerityManifest;
  /** The `veritysetup` program. */
  program: string;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = await Promise.all([sha256File(a), sha256File(b)]);
    return x.sha === y.sha && x.size === y.size;
  } catch {
    return false;
  }
}

async function readTextOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Runs `veritysetup format` on `<container>/<data_device>` into a temp file beside
 * `<container>/<hash_device>`, reusing the manifest's salt and uuid when it has both.
 * The caller removes `tmpHash` with {@link discardVolumes} when it does not commit.
 *
 * @throws {PvrError} `BAD_WORKTREE` when the data file is missing or not a regular
 *   file; `FAILED` when veritysetup fails
 */
export async function prepareVolume(opts: PrepareVolumeOptions): Promise<PreparedVolume> {
  const m = opts.manifest;
  const cdir = `${opts.repoDir}/${opts.container}`;
  const data = `${cdir}/${m.dataDevice}`;
  const dataKey = `${opts.container}/${m.dataDevice}`;
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(data);
  } catch {
    throw new PvrError("BAD_WORKTREE", `volume ${dataKey} does not exist`, { path: dataKey });
  }
  if (!st.isFile) {
    throw new PvrError("BAD_WORKTREE", `volume ${dataKey} is not a regular file`, {
      path: dataKey,
    });
  }
  const tmpHash = `${cdir}/${tempName(m.hashDevice)}`;
  const reuse = m.salt !== undefined && m.uuid !== undefined;
  try {
    const format = await veritysetupFormat({
      program: opts.program,
      data,
      hash: tmpHash,
      salt: reuse ? m.salt : undefined,
      uuid: reuse ? m.uuid : undefined,
    });
    await Deno.chmod(tmpHash, 0o644);
    const manifestKey = opts.manifestKey;
    const hashKey = `${opts.container}/${m.hashDevice}`;
    const manifestText = formatManifest(m.doc, m, format);
    const changed = (await readTextOrUndefined(`${opts.repoDir}/${manifestKey}`)) !==
        manifestText || !(await sameBytes(tmpHash, `${opts.repoDir}/${hashKey}`));
    return {
      container: opts.container,
      manifestKey,
      hashKey,
      manifestText,
      format,
      tmpHash,
      changed,
    };
  } catch (err) {
    await Deno.remove(tmpHash).catch(() => {});
    throw err;
  }
}

/** Removes the temp hash files of volumes that are not committed. */
export async function discardVolumes(volumes: readonly PreparedVolume[]): Promise<void> {
  for (const v of volumes) await Deno.remove(v.tmpHash).catch(() => {});
}

/**
 * Puts the changed volumes in place: each hash file is fsync'ed and renamed over the old
 * one, each manifest written atomically (mode 0644). Unchanged volumes' temp files are
 * removed. The caller holds the repository's write lock.
 */
export async function commitVolumes(
  repoDir: string,
  volumes: readonly PreparedVolume[],
): Promise<void> {
  try {
    for (const v of volumes) {
      if (!v.changed) continue;
      const f = await Deno.open(v.tmpHash, { read: true, write: true });
      try {
        await f.sync();
      } finally {
        f.close();
      }
      await renameDurable(v.tmpHash, `${repoDir}/${v.hashKey}`);
      const manifest = `${repoDir}/${v.manifestKey}`;
      await Deno.mkdir(manifest.slice(0, manifest.lastIndexOf("/")), { recursive: true });
      await writeFileAtomic(manifest, v.manifestText, { mode: 0o644 });
    }
  } finally {
    await discardVolumes(volumes);
  }
}
