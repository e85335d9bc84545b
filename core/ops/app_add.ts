/**
 * `pvr app add <name> --from <image|path|url|repo#part>` (spec pvr-reference §9.3).
 * rootfs apps are built by `app_rootfs.ts`, pvr apps fetched by `app_pvr.ts`; this
 * module does docker apps and the common flags.
 *
 * Resolves the image (the `--source` order, default `remote,local`; the platforms of
 * `--platform`, else the committed `_hostconfig/pvr/docker.json` `platforms`), writes
 * `<name>/src.json` unless the app directory already exists (then its `src.json` is
 * kept, as in the Go pvr), and installs the app: `root.squashfs` (atomically),
 * `root.squashfs.docker-digest`, `run.json`, `lxc.container.conf`; with `--base`, also
 * the base app and `root.ovl.squashfs` (+ `.docker-digest`).
 *
 * Differences from the Go pvr: `--config-json` is merged into `docker_config` (the
 * Go pvr read it and dropped it); `docker_name`/`docker_tag` never take a registry port
 * for a tag.
 *
 * @module
 */

import { pathExists } from "../fs_util.ts";
import { PvrError } from "../errors.ts";
import { appDir, appName, readSrcJson, writeSrcJson } from "../app/app_dir.ts";
import { type AppSourceType, BUILTIN_TEMPLATE, SRC_SPEC, type SrcJson } from "../app/src_json.ts";
import { dockerNameTag } from "../app/image_ref.ts";
import { localImageSpec, resolveImage } from "../app/image.ts";
import { DEFAULT_FORMAT_OPTIONS, requireMksquashfs } from "../app/squashfs.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonArray, isJsonObject, type JsonObject } from "../model/json_value.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { appInstall, type AppInstallResult } from "./app_install.ts";
import { buildRootfsApp } from "./app_rootfs.ts";
import { fetchPvrApp } from "./app_pvr.ts";
import type { FetchedObject } from "../repo/fetch.ts";
import type { RemoteOptions } from "../remote/pantahub/remote.ts";
import {
  dockerConfigOf,
  type ImageHookOptions,
  imageHooksFor,
  parseSources,
  splitPlatforms,
} from "./app_image.ts";

/** Options of {@link appAdd}. */
export interface AppAddOptions extends RepoOptions, Omit<ImageHookOptions, "resolved"> {
  /** The app name (leading and trailing `/` are trimmed). */
  name: string;
  /** `--from`: an image reference, or an image on disk (`oci:<dir>`, …). */
  from: string;
  /** `--type`: `docker` (the default), `rootfs` or `pvr`. */
  type?: AppSourceType;
  /** `--source`: `remote`, `local`, comma separated (default `remote,local`). */
  source?: string;
  /** `--platform` values (each may be a comma list). */
  platforms?: readonly string[];
  /** Registry credentials. */
  username?: string;
  password?: string;
  /** `--group` → `args.PV_GROUP`. */
  group?: string;
  /** `--runlevel` (deprecated) → `args.PV_RUNLEVEL`. */
  runlevel?: string;
  /** `--restart-policy` → `args.PV_RESTART_POLICY`. */
  restartPolicy?: string;
  /** `--status-goal` → `args.PV_STATUS_GOAL`. */
  statusGoal?: string;
  /** `--arg K=V` values (no `=`: an empty value). */
  args?: readonly string[];
  /** `--volume path:spec` values → `persistence`. */
  volumes?: readonly string[];
  /** `--config-json`: the parsed JSON object, merged over the image config. */
  configJson?: JsonObject;
  /** `--format-options` (default `-comp xz`). */
  formatOptions?: string;
  /** For `--type pvr` from a remote: how Pantahub is reached (as `pvr get`). */
  remote?: RemoteOptions;
  /**
   * `--base <app>`: overlay mode. `docker_digest` is the base app's, the image found is
   * `docker_ovl_digest`, and `root.ovl.squashfs` holds what it changes over the base.
   */
  base?: string;
}

/** What {@link appAdd} did. */
export interface AppAddResult extends AppInstallResult {
  /** `true` when `src.json` was written; `false` when the app existed (kept as it was). */
  createdSrcJson: boolean;
  /** The `src.json` the app was installed from. */
  src: SrcJson;
  /** `--type pvr`: the objects of the fetched parts (whether each was in the store). */
  fetched?: FetchedObject[];
  /** `--type pvr`: objects copied in, and where. */
  imported?: number;
  objectsDir?: string;
}

/** `args` from `--group`, `--runlevel`, `--restart-policy`, `--status-goal` and `--arg`. */
function argsOf(opts: AppAddOptions): JsonObject {
  const args: JsonObject = new Map();
  if (opts.group) args.set("PV_GROUP", opts.group);
  if (opts.runlevel) args.set("PV_RUNLEVEL", opts.runlevel);
  if (opts.restartPolicy) args.set("PV_RESTART_POLICY", opts.restartPolicy);
  if (opts.statusGoal) args.set("PV_STATUS_GOAL", opts.statusGoal);
  for (const a of opts.args ?? []) {
    const i = a.indexOf("=");
    args.set(i < 0 ? a : a.slice(0, i), i < 0 ? "" : a.slice(i + 1));
  }
  return args;
}

/** `--volume path:spec` values as `persistence`. */
function persistenceOf(volumes: readonly string[]): JsonObject {
  const out: JsonObject = new Map();
  for (const v of volumes) {
    const i = v.indexOf(":");
    if (i < 0) throw new PvrError("USAGE", `invalid volume format: ${JSON.stringify(v)}`);
    out.set(v.slice(0, i), v.slice(i + 1));
  }
  return out;
}

/** The `_hostconfig/pvr/docker.json` `platforms` of the committed state. */
function committedPlatforms(pristine: JsonObject): string[] {
  const doc = pristine.get("_hostconfig/pvr/docker.json");
  if (!isJsonObject(doc)) return [];
  const list = doc.get("platforms");
  if (!isJsonArray(list)) return [];
  return list.filter((p): p is string => typeof p === "string");
}

/**
 * Reads a `--config-json` file (a JSON object).
 *
 * @throws {PvrError} `BAD_JSON` when it is not a JSON object; `NOT_FOUND`-style I/O
 *   errors as they are
 */
export async function readConfigJson(path: string): Promise<JsonObject> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new PvrError("USAGE", `--config-json: ${path} does not exist`, { path });
    }
    throw err;
  }
  const v = parseJson(bytes, path);
  if (!isJsonObject(v)) throw new PvrError("BAD_JSON", `${path}: not a JSON object`, { path });
  return v;
}

/**
 * Adds a docker app: resolves the image, writes `src.json` (unless the app directory
 * exists) and installs the app (see `appInstall`). Writes into the working tree only.
 *
 * Permissions: read, write, net (registries), run (mksquashfs), env.
 *
 * @throws {PvrError} `NOT_A_REPO`; `USAGE` (group with runlevel, bad source or volume,
 *   `--base`, another type); `BAD_REFERENCE` when no source has the image;
 *   `MISSING_TOOL` without mksquashfs; registry and layer errors
 * @example
 * ```ts
 * await appAdd({ dir, configDir, name: "web", from: "nginx:1.25", platforms: ["linux/arm64"] });
 * ```
 */
export async function appAdd(opts: AppAddOptions): Promise<AppAddResult> {
  const name = appName(opts.name);
  const type = opts.type ?? "docker";
  if (type !== "docker" && type !== "rootfs" && type !== "pvr") {
    throw new PvrError("USAGE", `unknown source type "${type}" (docker, rootfs or pvr)`);
  }
  const base = opts.base === undefined || opts.base === "" ? undefined : appName(opts.base);
  if (base !== undefined && type !== "docker") {
    throw new PvrError("USAGE", "--base is for docker apps only");
  }
  if (base === name) throw new PvrError("USAGE", `${name} cannot be its own base`);
  if (opts.group && opts.runlevel) {
    throw new PvrError("USAGE", "--group and --runlevel cannot be used together", {
      hint: "--runlevel is deprecated: use --group",
    });
  }
  if (!opts.from) throw new PvrError("USAGE", " --from flag is required (e.g. --from=nginx)");
  if (type === "rootfs") return await addRootfs(name, opts);
  if (type === "pvr") return await addPvr(name, opts);
  const sourceText = opts.source === undefined || opts.source.trim() === ""
    ? "remote,local"
    : opts.source;
  const sources = parseSources(sourceText);
  const persistence = persistenceOf(opts.volumes ?? []);
  const repo = await openRepo(opts);
  // Overlay mode: the base app must be a docker app (its image is the lower layer).
  const baseSrc = base === undefined ? undefined : await readSrcJson(repo.dir, base);
  if (baseSrc !== undefined && !baseSrc.docker_digest) {
    throw new PvrError("BAD_STATE", `${base} has no docker_digest: it cannot be a base`);
  }
  await requireMksquashfs(opts.pathEnv); // fail before any download
  let platforms = splitPlatforms(opts.platforms);
  if (platforms.length === 0) platforms = committedPlatforms(repo.pristine);

  const img = await resolveImage({
    from: opts.from,
    platforms,
    source: sources,
    username: opts.username,
    password: opts.password,
    configDir: opts.configDir,
    http: opts.http,
    insecure: opts.insecure,
    onMessage: opts.onMessage,
    dockerHost: opts.dockerHost,
    dockerEnv: opts.dockerEnv,
  });

  const dir = appDir(repo.dir, name);
  let src: SrcJson;
  let createdSrcJson = false;
  if (await pathExists(dir)) {
    src = await readSrcJson(repo.dir, name);
  } else {
    const args = argsOf(opts);
    const dockerConfig = dockerConfigOf(img);
    for (const [k, v] of opts.configJson ?? []) dockerConfig.set(k, v);
    const onDisk = (await localImageSpec(opts.from)) !== null;
    const nt = onDisk ? { name: opts.from, tag: "" } : dockerNameTag(opts.from);
    src = {
      base,
      "#spec": SRC_SPEC,
      template: BUILTIN_TEMPLATE,
      args,
      docker_name: nt.name,
      docker_tag: nt.tag,
      docker_digest: baseSrc?.docker_digest ?? img.dockerDigest,
      docker_ovl_digest: baseSrc === undefined ? undefined : img.dockerDigest,
      docker_source: sourceText,
      docker_config: dockerConfig,
      docker_platform: img.platform ?? "",
      format_options: opts.formatOptions || DEFAULT_FORMAT_OPTIONS,
      persistence,
    };
    await Deno.mkdir(dir);
    createdSrcJson = true;
    try {
      await writeSrcJson(repo.dir, name, src);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  const hooks = imageHooksFor({ ...opts, resolved: img });
  try {
    const r = await appInstall({
      dir: opts.dir,
      configDir: opts.configDir,
      wait: opts.wait,
      name,
      type: "docker",
      source: opts.source,
      username: opts.username,
      password: opts.password,
      buildRootfs: hooks.buildRootfs,
    });
    return { ...r, createdSrcJson, src };
  } catch (err) {
    // A failed first install leaves no half-made app behind.
    if (createdSrcJson) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/**
 * A rootfs app: `root.squashfs` from a directory, tarball or URL, its
 * `.rootfs-digest`, `src.json` (`rootfs_url` as given, `rootfs_digest`, `docker_config`
 * from `--config-json`) and the templates. The app directory must not exist yet; on
 * any failure it is removed again.
 */
async function addRootfs(name: string, opts: AppAddOptions): Promise<AppAddResult> {
  const persistence = persistenceOf(opts.volumes ?? []);
  const repo = await openRepo(opts);
  await requireMksquashfs(opts.pathEnv); // fail before anything is written
  const dir = appDir(repo.dir, name);
  if (await pathExists(dir)) {
    throw new PvrError("USAGE", `${name} already exists`, {
      hint: `pvr app update ${name} --from ${opts.from} rebuilds it`,
    });
  }
  await Deno.mkdir(dir);
  try {
    const res = await buildRootfsApp(repo.dir, name, opts.from, opts.formatOptions, {
      onMessage: opts.onMessage,
      pathEnv: opts.pathEnv,
      http: opts.http,
    });
    const src: SrcJson = {
      "#spec": SRC_SPEC,
      template: BUILTIN_TEMPLATE,
      args: argsOf(opts),
      docker_config: opts.configJson ?? new Map(),
      format_options: opts.formatOptions || undefined,
      rootfs_url: opts.from,
      rootfs_digest: res.digest,
      persistence,
    };
    await writeSrcJson(repo.dir, name, src);
    const r = await appInstall({
      dir: opts.dir,
      configDir: opts.configDir,
      wait: opts.wait,
      name,
      type: "rootfs",
    });
    return { ...r, createdSrcJson: true, src };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/**
 * A pvr app: the `#part` of another pvr repository checked out as `<name>` (see
 * `app_pvr.ts`), then installed (templates only, when it has a `docker_name`).
 */
async function addPvr(name: string, opts: AppAddOptions): Promise<AppAddResult> {
  const persistence = persistenceOf(opts.volumes ?? []);
  const f = await fetchPvrApp({
    ...opts.remote,
    dir: opts.dir,
    configDir: opts.configDir,
    wait: opts.wait,
    name,
    from: opts.from,
    persistence,
    configJson: opts.configJson,
  });
  const r = await appInstall({
    dir: opts.dir,
    configDir: opts.configDir,
    wait: opts.wait,
    name,
    type: "pvr",
  });
  return {
    ...r,
    createdSrcJson: true,
    src: f.src,
    fetched: f.objects,
    imported: f.imported,
    objectsDir: f.objectsDir,
  };
}
