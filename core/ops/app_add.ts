/**
 * `pvr app add <name> --from <image>` for docker apps (spec pvr-reference §9.3).
 *
 * Resolves the image (the `--source` order, default `remote,local`; the platforms of
 * `--platform`, else the committed `_hostconfig/pvr/docker.json` `platforms`), writes
 * `<name>/src.json` unless the app directory already exists (then its `src.json` is
 * kept, as in the Go pvr), and installs the app: `root.squashfs` (atomically),
 * `root.squashfs.docker-digest`, `run.json`, `lxc.container.conf`.
 *
 * Differences from the Go pvr: `--config-json` is merged into `docker_config` (the
 * Go pvr read it and dropped it); `docker_name`/`docker_tag` never take a registry port
 * for a tag. Not supported yet: the `rootfs` and `pvr` types, and overlay apps
 * (`--base`).
 *
 * @module
 */

import { pathExists } from "../fs_util.ts";
import { PvrError } from "../errors.ts";
import { appDir, appName, readSrcJson, writeSrcJson } from "../app/app_dir.ts";
import { BUILTIN_TEMPLATE, SRC_SPEC, type SrcJson } from "../app/src_json.ts";
import { dockerNameTag } from "../app/image_ref.ts";
import { localImageSpec, resolveImage } from "../app/image.ts";
import { DEFAULT_FORMAT_OPTIONS, requireMksquashfs } from "../app/squashfs.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonArray, isJsonObject, type JsonObject } from "../model/json_value.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { appInstall, type AppInstallResult } from "./app_install.ts";
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
  /** `--type`: only `docker` (the default) is supported. */
  type?: "docker";
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
  /** `--base`: overlay mode (not supported yet: refused with `USAGE`). */
  base?: string;
}

/** What {@link appAdd} did. */
export interface AppAddResult extends AppInstallResult {
  /** `true` when `src.json` was written; `false` when the app existed (kept as it was). */
  createdSrcJson: boolean;
  /** The `src.json` the app was installed from. */
  src: SrcJson;
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
  if (opts.type !== undefined && opts.type !== "docker") {
    throw new PvrError("USAGE", `app add supports only --type docker (not "${opts.type}")`);
  }
  if (opts.base !== undefined && opts.base !== "") {
    throw new PvrError("USAGE", "overlay apps (--base) are not supported yet");
  }
  if (opts.group && opts.runlevel) {
    throw new PvrError("USAGE", "--group and --runlevel cannot be used together", {
      hint: "--runlevel is deprecated: use --group",
    });
  }
  if (!opts.from) throw new PvrError("USAGE", " --from flag is required (e.g. --from=nginx)");
  const sourceText = opts.source === undefined || opts.source.trim() === ""
    ? "remote,local"
    : opts.source;
  const sources = parseSources(sourceText);
  const persistence = persistenceOf(opts.volumes ?? []);
  const repo = await openRepo(opts);
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
  });

  const dir = appDir(repo.dir, name);
  let src: SrcJson;
  let createdSrcJson = false;
  if (await pathExists(dir)) {
    src = await readSrcJson(repo.dir, name);
  } else {
    const args: JsonObject = new Map();
    if (opts.group) args.set("PV_GROUP", opts.group);
    if (opts.runlevel) args.set("PV_RUNLEVEL", opts.runlevel);
    if (opts.restartPolicy) args.set("PV_RESTART_POLICY", opts.restartPolicy);
    if (opts.statusGoal) args.set("PV_STATUS_GOAL", opts.statusGoal);
    for (const a of opts.args ?? []) {
      const i = a.indexOf("=");
      args.set(i < 0 ? a : a.slice(0, i), i < 0 ? "" : a.slice(i + 1));
    }
    const dockerConfig = dockerConfigOf(img);
    for (const [k, v] of opts.configJson ?? []) dockerConfig.set(k, v);
    const onDisk = (await localImageSpec(opts.from)) !== null;
    const nt = onDisk ? { name: opts.from, tag: "" } : dockerNameTag(opts.from);
    src = {
      "#spec": SRC_SPEC,
      template: BUILTIN_TEMPLATE,
      args,
      docker_name: nt.name,
      docker_tag: nt.tag,
      docker_digest: img.dockerDigest,
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
