/**
 * `pvr app install <name>` and `pvr app update <name>` (spec pvr-reference §9.7, §9.8).
 *
 * The templates (`run.json`, `lxc.container.conf`) are always re-rendered from
 * `src.json`. A squashfs is only (re)built when its `.docker-digest` file does not
 * match the digest in `src.json` **or the squashfs is missing** (the Go pvr ignored a
 * missing squashfs, §13.3 item 23); building, and re-resolving the image on update,
 * are done by hooks ({@link BuildRootfs}, {@link RefreshSource}) that the image side
 * provides. Without them, a needed build fails with `MISSING_TOOL` before anything is
 * written.
 *
 * @module
 */

import { pathExists } from "../fs_util.ts";
import { PvrError } from "../errors.ts";
import {
  appDir,
  appName,
  listApps,
  readSrcJson,
  writeSrcJson,
  writeTemplates,
} from "../app/app_dir.ts";
import { type AppSourceType, sourceTypeOf, type SrcJson } from "../app/src_json.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { dmApply } from "./dm_apply.ts";

/** The squashfs files an app can have. */
export type SquashName = "root.squashfs" | "root.ovl.squashfs";

/** What the image side is asked to build. */
export interface BuildRootfsRequest {
  /** The working tree root. */
  repoDir: string;
  /** The global config dir (layer cache in `<configDir>/cache`). */
  configDir: string;
  /** The app to build into (`<repoDir>/<name>/<squash>`). */
  name: string;
  /** The app's `src.json`. */
  src: SrcJson;
  /** Which file to build. */
  squash: SquashName;
  /**
   * The image to build from: `docker_digest` (or `docker_ovl_digest` for the overlay),
   * with `docker_name@` prepended when the source is `remote` and it has no `@`.
   */
  digest: string;
  /** For the overlay: the app whose `root.squashfs` is the lower layer. */
  lowerApp?: string;
  /** The source list (`--source`, else `docker_source`). */
  source?: string;
  /** Registry credentials. */
  username?: string;
  password?: string;
}

/**
 * Builds `<app>/<squash>` and writes `<app>/<squash>.docker-digest` with
 * `req.digest` as stored in `src.json` (the image side's job).
 */
export type BuildRootfs = (req: BuildRootfsRequest) => Promise<void>;

/** Options of {@link appInstall}. */
export interface AppInstallOptions extends RepoOptions {
  /** The app name (leading and trailing `/` are trimmed). */
  name: string;
  /** The source type; default from `src.json` (§9.1). */
  type?: AppSourceType;
  /** The source list (default `src.json` `docker_source`). */
  source?: string;
  /** Use this app as the base (overlay mode). */
  base?: string;
  /** Registry credentials (passed to the hook). */
  username?: string;
  password?: string;
  /** Builds a squashfs; without it a needed build fails with `MISSING_TOOL`. */
  buildRootfs?: BuildRootfs;
}

/** One squashfs install looked at. */
export interface SquashStep {
  /** The app. */
  app: string;
  /** The file. */
  squash: SquashName;
  /** `true` when the digest file matched and the squashfs exists (nothing built). */
  upToDate: boolean;
}

/** What {@link appInstall} did. */
export interface AppInstallResult {
  /** The app. */
  name: string;
  /** Its source type. */
  type: AppSourceType;
  /** `true` for a pvr-type app without `docker_name`: nothing to install. */
  notDocker: boolean;
  /** The squashfs files checked (and built when not up to date), in order. */
  squashes: SquashStep[];
  /** Files written, relative to the repository. */
  written: string[];
  /** Files removed, relative to the repository. */
  removed: string[];
  /** Notes for stderr (group choice, `WARN: …`). */
  warnings: string[];
}

/** The digest file of a squashfs. */
function digestFile(dir: string, squash: SquashName): string {
  return `${dir}/${squash}.docker-digest`;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

interface PlannedSquash {
  app: string;
  src: SrcJson;
  squash: SquashName;
  /** The digest as stored in src.json (what the digest file must hold). */
  digest: string;
  lowerApp?: string;
  upToDate: boolean;
}

async function planSquash(
  repoDir: string,
  app: string,
  src: SrcJson,
  squash: SquashName,
  digest: string | undefined,
  lowerApp?: string,
): Promise<PlannedSquash> {
  if (!digest) {
    const field = squash === "root.squashfs" ? "docker_digest" : "docker_ovl_digest";
    throw new PvrError("BAD_STATE", `${app}/src.json has no ${field}: cannot install ${squash}`, {
      hint: "run pvr app update to resolve the image again",
    });
  }
  const dir = appDir(repoDir, app);
  const recorded = await readText(digestFile(dir, squash));
  const upToDate = recorded === digest && await pathExists(`${dir}/${squash}`);
  return { app, src, squash, digest, lowerApp, upToDate };
}

/** The image reference handed to the builder (§9.7 step 2). */
function buildDigest(src: SrcJson, digest: string, source: string | undefined): string {
  if (source === "remote" && !digest.includes("@") && src.docker_name) {
    return `${src.docker_name}@${digest}`;
  }
  return digest;
}

/**
 * Installs an app from its `src.json`: checks (and, through `buildRootfs`, builds) its
 * squashfs files — the base app's first when it has a `base` — and re-renders the
 * templates of the app (and of its base). rootfs apps and pvr apps only get their
 * templates re-rendered.
 *
 * Permissions: read, write.
 *
 * @throws {PvrError} `NOT_A_REPO`; `USAGE`/`UNSAFE_PATH` for a bad name; `BAD_WORKTREE`
 *   for a missing app (or base app); `BAD_JSON`/`BAD_STATE` for an unusable `src.json`;
 *   `MISSING_TOOL` when a squashfs must be built and no `buildRootfs` is given
 * @example
 * ```ts
 * const r = await appInstall({ dir, configDir, name: "nginx" });
 * r.written; // ["nginx/run.json", "nginx/lxc.container.conf"]
 * ```
 */
export async function appInstall(opts: AppInstallOptions): Promise<AppInstallResult> {
  const name = appName(opts.name);
  const repo = await openRepo(opts);
  const src = await readSrcJson(repo.dir, name);
  return await installLoaded(repo.dir, name, src, opts);
}

async function installLoaded(
  repoDir: string,
  name: string,
  src: SrcJson,
  opts: AppInstallOptions,
): Promise<AppInstallResult> {
  if (opts.base !== undefined) src = { ...src, base: appName(opts.base) };
  const type = opts.type ?? sourceTypeOf(src);
  const result: AppInstallResult = {
    name,
    type,
    notDocker: false,
    squashes: [],
    written: [],
    removed: [],
    warnings: [],
  };
  if (type === "pvr" && !src.docker_name) {
    result.notDocker = true;
    return result;
  }
  const renders: Array<[string, SrcJson]> = [];
  const plan: PlannedSquash[] = [];
  if (type === "docker") {
    let lowerSrc = src;
    if (src.base) {
      const base = appName(src.base);
      const baseSrc = await readSrcJson(repoDir, base);
      plan.push(await planSquash(repoDir, base, baseSrc, "root.squashfs", baseSrc.docker_digest));
      renders.push([base, baseSrc]);
      // The app's own root.squashfs is the base image (its docker_name is the overlay's).
      lowerSrc = { ...src, docker_name: baseSrc.docker_name, docker_tag: baseSrc.docker_tag };
      lowerSrc.docker_platform = baseSrc.docker_platform;
    }
    plan.push(await planSquash(repoDir, name, lowerSrc, "root.squashfs", src.docker_digest));
    if (src.docker_ovl_digest || src.base) {
      plan.push(
        await planSquash(
          repoDir,
          name,
          src,
          "root.ovl.squashfs",
          src.docker_ovl_digest,
          src.base || name,
        ),
      );
    }
  }
  renders.push([name, src]);

  // Refuse before writing anything when a build is needed and cannot be done.
  if (plan.some((p) => !p.upToDate) && opts.buildRootfs === undefined) {
    const p = plan.find((x) => !x.upToDate)!;
    throw new PvrError(
      "MISSING_TOOL",
      `image support is not available: ${p.app}/${p.squash} is missing or does not match its image`,
      { hint: "templates can only be re-rendered while every squashfs matches src.json" },
    );
  }
  const source = opts.source ?? src.docker_source;
  for (const p of plan) {
    if (!p.upToDate) {
      await opts.buildRootfs!({
        repoDir,
        configDir: opts.configDir,
        name: p.app,
        src: p.src,
        squash: p.squash,
        digest: buildDigest(p.src, p.digest, source),
        lowerApp: p.lowerApp,
        source,
        username: opts.username,
        password: opts.password,
      });
    }
    result.squashes.push({ app: p.app, squash: p.squash, upToDate: p.upToDate });
  }
  for (const [app, appSrc] of renders) {
    const w = await writeTemplates(repoDir, app, appSrc);
    result.written.push(...w.written);
    result.removed.push(...w.removed);
    if (app === name) result.warnings.push(...w.warnings);
  }
  if (type === "rootfs" && !(await pathExists(`${appDir(repoDir, name)}/root.squashfs`))) {
    result.warnings.push(
      `WARN: ${name}/root.squashfs is missing: pvr app update ${name} builds it from rootfs_url`,
    );
  }
  if (src.dm_enabled && src.dm_enabled.size > 0) {
    // dm-verity hash trees of the app's volumes (`pvr dm-apply <name>/`, spec §11.2).
    const dm = await dmApply({ dir: repoDir, configDir: opts.configDir, prefix: `${name}/` });
    result.written.push(
      ...dm.volumes.filter((v) => v.updated).flatMap((v) => [v.hash, v.manifest]),
    );
  }
  return result;
}

/** What the image side is asked on `app update`. */
export interface RefreshSourceRequest {
  /** The working tree root. */
  repoDir: string;
  /** The global config dir. */
  configDir: string;
  /** The app. */
  name: string;
  /** Its current `src.json`. */
  src: SrcJson;
  /** Its source type. */
  type: AppSourceType;
  /** `--from` (default `docker_name[:docker_tag]`). */
  from?: string;
  /** Overlay mode: update `docker_ovl_digest` instead of `docker_digest`. */
  overlay: boolean;
  /** `--source` (default `docker_source`). */
  source?: string;
  /** `--platform` (default `docker_platform`). */
  platform?: string;
  /** Registry credentials. */
  username?: string;
  password?: string;
}

/** Re-resolves an app's source and returns the new `src.json` (the image side's job). */
export type RefreshSource = (req: RefreshSourceRequest) => Promise<SrcJson>;

/** Options of {@link appUpdate}. */
export interface AppUpdateOptions extends AppInstallOptions {
  /** `--from`: a new source (rewrites the name and tag). */
  from?: string;
  /** `--platform`. */
  platform?: string;
  /** `--newbase`: leave overlay mode. */
  newbase?: boolean;
  /** `--patch`: overlay mode. */
  patch?: boolean;
  /** Re-resolves the image; without it only an unchanged source can be re-installed. */
  refreshSource?: RefreshSource;
}

/** What {@link appUpdate} did. */
export interface AppUpdateResult extends AppInstallResult {
  /** `true` in overlay mode (`Update ovl: root.ovl.squashfs`). */
  overlay: boolean;
  /** `true` when the source was re-resolved and `src.json` rewritten. */
  refreshed: boolean;
  /** Apps built on this one (`base`) that were re-installed over it. */
  dependents: string[];
}

/**
 * Updates an app: re-resolves its source through `refreshSource` (rewriting
 * `src.json`), installs it (see {@link appInstall}), and outside overlay mode removes
 * `root.ovl.squashfs` and its digest file. Without `refreshSource` the source is not
 * re-resolved and the app is re-installed from `src.json` as it is (`refreshed:
 * false`); asking for a change (`from`, `newbase`, `patch`, `base`) then fails with
 * `MISSING_TOOL`.
 *
 * Permissions: read, write.
 *
 * @throws {PvrError} as {@link appInstall}
 * @example
 * ```ts
 * const r = await appUpdate({ dir, configDir, name: "nginx" });
 * ```
 */
export async function appUpdate(opts: AppUpdateOptions): Promise<AppUpdateResult> {
  const name = appName(opts.name);
  const repo = await openRepo(opts);
  let src = await readSrcJson(repo.dir, name);
  const type = opts.type ?? sourceTypeOf(src);
  const overlay = opts.base !== undefined ||
    (!opts.newbase && (opts.patch === true || !!src.docker_ovl_digest || !!src.base));
  let refreshed = false;
  if (opts.refreshSource) {
    src = await opts.refreshSource({
      repoDir: repo.dir,
      configDir: opts.configDir,
      name,
      src,
      type,
      from: opts.from,
      overlay,
      source: opts.source ?? src.docker_source,
      platform: opts.platform ?? src.docker_platform,
      username: opts.username,
      password: opts.password,
    });
    if (opts.base !== undefined) {
      // `--base`: the other app's image becomes the lower layer.
      const base = appName(opts.base);
      if (base === name) throw new PvrError("USAGE", `${name} cannot be its own base`);
      const baseSrc = await readSrcJson(repo.dir, base);
      if (!baseSrc.docker_digest) {
        throw new PvrError("BAD_STATE", `${base} has no docker_digest: it cannot be a base`);
      }
      src = { ...src, base, docker_digest: baseSrc.docker_digest };
    }
    await writeSrcJson(repo.dir, name, src);
    refreshed = true;
  } else if (
    opts.from !== undefined || opts.newbase || opts.patch || opts.base !== undefined
  ) {
    throw new PvrError(
      "MISSING_TOOL",
      "image support is not available: cannot re-resolve the app's image",
      { hint: "without --from/--newbase/--patch/--base the app is re-installed as it is" },
    );
  }
  const r = await installLoaded(repo.dir, name, src, { ...opts, type });
  if (!overlay) {
    const dir = appDir(repo.dir, name);
    for (const f of ["root.ovl.squashfs", "root.ovl.squashfs.docker-digest"]) {
      try {
        await Deno.remove(`${dir}/${f}`);
        r.removed.push(`${name}/${f}`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  }
  const dependents = refreshed && type === "docker"
    ? await updateDependents(repo.dir, name, src, opts, r)
    : [];
  return { ...r, overlay, refreshed, dependents };
}

/**
 * Re-installs the apps whose `base` is `name` (spec §9.8 step 5; the Go pvr never did,
 * §13.3 item 21): their `docker_digest` follows the base's, and an overlay built over
 * an older base image is rebuilt.
 */
async function updateDependents(
  repoDir: string,
  name: string,
  src: SrcJson,
  opts: AppUpdateOptions,
  into: AppInstallResult,
): Promise<string[]> {
  const out: string[] = [];
  for (const app of await listApps(repoDir)) {
    if (app === name) continue;
    let dep: SrcJson;
    try {
      dep = await readSrcJson(repoDir, app);
    } catch {
      continue; // an app pvr cannot read is not touched
    }
    if (dep.base !== name || sourceTypeOf(dep) !== "docker") continue;
    if (dep.docker_digest !== src.docker_digest) {
      dep = { ...dep, docker_digest: src.docker_digest };
      await writeSrcJson(repoDir, app, dep);
      // The overlay's digest file names its upper image only: force the rebuild.
      await Deno.remove(`${appDir(repoDir, app)}/root.ovl.squashfs.docker-digest`).catch(() => {});
    }
    const r = await installLoaded(repoDir, app, dep, {
      ...opts,
      name: app,
      base: undefined,
      type: "docker",
      source: opts.source,
    });
    into.squashes.push(...r.squashes.filter((q) => q.app === app));
    into.written.push(...r.written.filter((w) => w.startsWith(`${app}/`)));
    out.push(app);
  }
  return out;
}
