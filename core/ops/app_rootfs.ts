/**
 * rootfs apps (spec pvr-reference §9.3 "rootfs type", §9.5, §9.8): `root.squashfs`
 * built from a local directory, a local tarball or an `http(s)` URL of a tarball (see
 * `core/app/rootfs.ts`), `root.squashfs.rootfs-digest` and `src.json` `rootfs_digest`
 * holding `sha256:<hex of the squashfs>`.
 *
 * @module
 */

import { writeFileAtomic } from "../../native/durability.ts";
import { PvrError } from "../errors.ts";
import type { HttpClient } from "../remote/http.ts";
import { appDir } from "../app/app_dir.ts";
import { buildRootfsSquashfs, isRootfsUrl, type RootfsSquashfsResult } from "../app/rootfs.ts";
import type { SrcJson } from "../app/src_json.ts";

/** The digest file of a rootfs app's squashfs. */
export const ROOTFS_DIGEST_FILE = "root.squashfs.rootfs-digest";

/** How rootfs squashfs files are built. */
export interface RootfsBuildOptions {
  /** Progress lines for stderr. */
  onMessage?: (line: string) => void;
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /** HTTP client for URLs (default a new one). */
  http?: HttpClient;
}

/**
 * Builds `<repo>/<name>/root.squashfs` from `from` (relative paths are taken from the
 * repository directory), writes `root.squashfs.rootfs-digest` and returns the squashfs
 * digest.
 *
 * @throws {PvrError} as `buildRootfsSquashfs`
 */
export async function buildRootfsApp(
  repoDir: string,
  name: string,
  from: string,
  formatOptions: string | undefined,
  opts: RootfsBuildOptions = {},
): Promise<RootfsSquashfsResult> {
  const dir = appDir(repoDir, name);
  if (!isRootfsUrl(from)) {
    // A source directory holding the app would take in the squashfs being written.
    const source = await Deno.realPath(from.startsWith("/") ? from : `${repoDir}/${from}`)
      .catch(() => null);
    const app = await Deno.realPath(dir).catch(() => dir);
    if (source !== null && (app === source || app.startsWith(`${source}/`))) {
      throw new PvrError("USAGE", `rootfs source ${from} contains the app ${name} itself`);
    }
  }
  const res = await buildRootfsSquashfs({
    from,
    baseDir: repoDir,
    outPath: `${dir}/root.squashfs`,
    formatOptions,
    pathEnv: opts.pathEnv,
    http: opts.http,
    onMessage: opts.onMessage,
  });
  opts.onMessage?.("Generating squashfs digest");
  await writeFileAtomic(`${dir}/${ROOTFS_DIGEST_FILE}`, res.digest, { mode: 0o644 });
  return res;
}

/**
 * `app update` of a rootfs app: re-squashes from `from` (default `rootfs_url`) and
 * returns `src.json` with `rootfs_url` and `rootfs_digest` updated.
 *
 * @throws {PvrError} `BAD_STATE` when there is no source; as {@link buildRootfsApp}
 */
export async function refreshRootfsApp(
  repoDir: string,
  name: string,
  src: SrcJson,
  from: string | undefined,
  opts: RootfsBuildOptions = {},
): Promise<SrcJson> {
  const source = from ?? src.rootfs_url;
  if (!source) {
    throw new PvrError("BAD_STATE", `${name}/src.json has no rootfs_url: cannot update`, {
      hint: "give the source with --from",
    });
  }
  const res = await buildRootfsApp(repoDir, name, source, src.format_options, opts);
  return { ...src, rootfs_url: source, rootfs_digest: res.digest };
}
