/**
 * `pvr clone`: a new repository from a source, checked out.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { absolutePath } from "../repo/global_config.ts";
import { isUrl, splitRef } from "../remote/source.ts";
import { fixupRepoRef, type RemoteOptions } from "../remote/pantahub/remote.ts";
import { init } from "./init.ts";
import { get } from "./get.ts";
import { checkout, type CheckoutResult } from "./checkout.ts";

/** Options for {@link clone}. */
export interface CloneOptions extends RemoteOptions {
  /** The source reference (as for {@link get}), with an optional `#fragment`. */
  ref: string;
  /** Where to create the repo; default `<cwd>/<name of the source>`. */
  target?: string;
  /** Resolves relative paths. */
  cwd: string;
  /** The global config dir. */
  configDir: string;
  /** The objects dir of the new repo (default `<configDir>/objects`). */
  objectsDir?: string;
  /** `#spec` for the initial state (replaced by the source's). */
  spec?: string;
  /** Write inline JSON canonically. */
  canonical?: boolean;
}

/** What {@link clone} created. */
export interface CloneResult {
  /** The new repository (absolute). */
  dir: string;
  /** Objects copied in. */
  imported: number;
  checkout: CheckoutResult;
}

/**
 * The default directory name for a source: the last path segment, skipping a trailing
 * `.pvr` and dropping `.tar`, `.tar.gz` and `.tgz` (the Go pvr would name the clone
 * `.pvr` or `export.tgz`).
 */
export function defaultCloneName(base: string): string {
  let path = base;
  if (isUrl(base)) {
    try {
      path = new URL(base).pathname;
    } catch {
      // keep as is
    }
  }
  const segs = path.split("/").filter((s) => s !== "" && s !== ".");
  let name = segs.pop() ?? "";
  if (name === ".pvr") name = segs.pop() ?? "";
  name = name.replace(/\.(tar\.gz|tgz|tar)$/i, "");
  if (!name || name === "..") {
    throw new PvrError("USAGE", `cannot derive a directory name from ${base}; name one`);
  }
  return name;
}

/** The remote settings of `opts` (caller, transfer options), nothing else. */
function remoteOnly(opts: CloneOptions): RemoteOptions {
  const { caller, repoBaseUrl, jobs, reporter, fetch, putBlob, retry, idleTimeoutMs } = opts;
  return { caller, repoBaseUrl, jobs, reporter, fetch, putBlob, retry, idleTimeoutMs };
}

async function emptyOrMissing(path: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(path)) return false;
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    return false;
  }
}

/**
 * Initialises a temp repo beside the target, gets the source into it, checks it out,
 * and renames it into place — so the target appears whole or not at all. The source
 * may be remote (see {@link get}); the default directory name comes from the reference
 * as given (`…/trails/<id>` → `<id>`, `user/dev` → `dev`).
 *
 * Permissions: read, write; net for remotes.
 */
export async function clone(opts: CloneOptions): Promise<CloneResult> {
  const { base, fragment } = splitRef(opts.ref);
  const fixed = await fixupRepoRef(opts.ref, { cwd: opts.cwd, repoBaseUrl: opts.repoBaseUrl });
  // Local paths are remembered absolute, so the clone's default URL works from it.
  const ref = isUrl(splitRef(fixed).base)
    ? fixed
    : absolutePath(base, opts.cwd) + (fragment ? `#${fragment}` : "");
  const target = absolutePath(opts.target ?? defaultCloneName(base), opts.cwd);
  if (!(await emptyOrMissing(target))) {
    throw new PvrError("FAILED", `cannot clone into ${target}: it exists and is not empty`);
  }
  const parent = target.slice(0, target.lastIndexOf("/")) || "/";
  await Deno.mkdir(parent, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: parent, prefix: "pvr-clone-" });
  try {
    await init({
      dir: tmp,
      configDir: opts.configDir,
      objectsDir: opts.objectsDir ? absolutePath(opts.objectsDir, opts.cwd) : undefined,
      spec: opts.spec,
    });
    const got = await get({ ...remoteOnly(opts), dir: tmp, configDir: opts.configDir, ref });
    const co = await checkout({ dir: tmp, configDir: opts.configDir, canonical: opts.canonical });
    await Deno.remove(target).catch(() => {});
    await Deno.rename(tmp, target);
    return { dir: target, imported: got.imported, checkout: co };
  } catch (err) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw err;
  }
}
