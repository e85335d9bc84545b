/**
 * The image side of `pvr app install` and `pvr app update`: the {@link BuildRootfs}
 * and {@link RefreshSource} hooks built on `core/app/image.ts` (spec pvr-reference
 * §9.4, §9.5, §9.7, §9.8).
 *
 * Not supported yet: overlay apps (`root.ovl.squashfs`, `--base`, `--patch`); asking
 * for one fails with `USAGE` before anything is written.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import type { HttpClient } from "../remote/http.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { appDir } from "../app/app_dir.ts";
import { dockerNameTag } from "../app/image_ref.ts";
import {
  buildRootfsFromImage,
  type ImageSource,
  localImageSpec,
  type ResolvedImage,
  resolveImage,
} from "../app/image.ts";
import { fromPlain, isJsonObject, type JsonObject } from "../model/json_value.ts";
import type { SrcJson } from "../app/src_json.ts";
import { requireMksquashfs } from "../app/squashfs.ts";
import type { BuildRootfs, RefreshSource, SquashName } from "./app_install.ts";

/** Options of {@link imageHooksFor}: how images are fetched and built. */
export interface ImageHookOptions {
  /** Progress and diagnostics, one line each (for stderr). */
  onMessage?: (line: string) => void;
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /** HTTP client for registries (default a new one). */
  http?: HttpClient;
  /** Registries reached over plain HTTP (`true`: all; localhost always). */
  insecure?: boolean;
  /** An image already resolved: used instead of resolving again when its digest is the pin. */
  resolved?: ResolvedImage;
}

/** The image-side hooks of `app install` and `app update`. */
export interface ImageHookSet {
  buildRootfs: BuildRootfs;
  refreshSource: RefreshSource;
}

/** The default `--source` list. */
export const DEFAULT_SOURCE = "remote,local";

/**
 * Parses a `--source` list (`remote`, `local`, comma separated; empty means the
 * default).
 *
 * @throws {PvrError} `USAGE` for anything else (the Go pvr's message)
 */
export function parseSources(text: string | undefined): ImageSource[] {
  const parts = (text === undefined || text.trim() === "" ? DEFAULT_SOURCE : text)
    .split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const p of parts) {
    if (p !== "remote" && p !== "local") {
      throw new PvrError(
        "USAGE",
        "source flag only accepts remote / local, (e.g. --source=remote,local)",
      );
    }
  }
  return parts as ImageSource[];
}

/** Splits `--platform` values (repeatable and/or comma separated). */
export function splitPlatforms(values: readonly string[] | string | undefined): string[] {
  const list = values === undefined ? [] : typeof values === "string" ? [values] : values;
  return list.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

/** The image config as `src.json` `docker_config`. */
export function dockerConfigOf(img: ResolvedImage): JsonObject {
  const v = fromPlain(img.config);
  return isJsonObject(v) ? v : new Map();
}

/** `docker_name[:docker_tag]`, what `app update` re-resolves by default. */
function fromOf(src: SrcJson, name: string): string {
  if (!src.docker_name) {
    throw new PvrError("BAD_STATE", `${name}/src.json has no docker_name: cannot update`, {
      hint: "give the image with --from",
    });
  }
  return src.docker_tag ? `${src.docker_name}:${src.docker_tag}` : src.docker_name;
}

function overlayUnsupported(): PvrError {
  return new PvrError(
    "USAGE",
    "overlay apps (root.ovl.squashfs: --base, --patch, docker_ovl_digest) are not supported yet",
  );
}

/** Writes `<app>/<squash>.docker-digest` (the digest string, no newline). */
export async function writeDigestFile(
  repoDir: string,
  name: string,
  squash: SquashName,
  digest: string,
): Promise<void> {
  await writeFileAtomic(`${appDir(repoDir, name)}/${squash}.docker-digest`, digest, {
    mode: 0o644,
  });
}

/**
 * The hooks: `buildRootfs` resolves the image pinned in `src.json`, builds
 * `<app>/root.squashfs` (atomically) and writes its `.docker-digest`; `refreshSource`
 * re-resolves `docker_name[:docker_tag]` (or `--from`) and returns the updated
 * `src.json`.
 */
export function imageHooksFor(opts: ImageHookOptions = {}): ImageHookSet {
  const buildRootfs: BuildRootfs = async (req) => {
    if (req.squash !== "root.squashfs" || req.lowerApp !== undefined) throw overlayUnsupported();
    await requireMksquashfs(opts.pathEnv); // fail before any download
    const recorded = req.src.docker_digest ?? req.digest;
    // An image on disk is named by its path (and tag): resolve that and check the pin.
    const onDisk = req.src.docker_name !== undefined &&
      (await localImageSpec(req.src.docker_name)) !== null;
    const from = onDisk ? fromOf(req.src, req.name) : req.digest;
    const img = opts.resolved?.dockerDigest === recorded ? opts.resolved : await resolveImage({
      from,
      platforms: req.src.docker_platform ? [req.src.docker_platform] : undefined,
      source: parseSources(req.source),
      username: req.username,
      password: req.password,
      configDir: req.configDir,
      http: opts.http,
      insecure: opts.insecure,
      onMessage: opts.onMessage,
    });
    if (onDisk && img.dockerDigest !== recorded) {
      throw new PvrError(
        "BAD_STATE",
        `${req.name}: the image ${from} is now ${img.dockerDigest}, not ${recorded}`,
        { hint: `run pvr app update ${req.name}` },
      );
    }
    await buildRootfsFromImage(img, `${appDir(req.repoDir, req.name)}/${req.squash}`, {
      formatOptions: req.src.format_options,
      pathEnv: opts.pathEnv,
      onMessage: opts.onMessage,
      cacheDir: `${req.configDir}/cache/squashfs`,
    });
    opts.onMessage?.("Generating squashfs digest");
    await writeDigestFile(req.repoDir, req.name, req.squash, recorded);
  };

  const refreshSource: RefreshSource = async (req) => {
    if (req.type !== "docker") return req.src;
    if (req.overlay) throw overlayUnsupported();
    const from = req.from ?? fromOf(req.src, req.name);
    const img = await resolveImage({
      from,
      platforms: splitPlatforms(req.platform),
      source: parseSources(req.source),
      username: req.username,
      password: req.password,
      configDir: req.configDir,
      http: opts.http,
      insecure: opts.insecure,
      onMessage: opts.onMessage,
    });
    const src: SrcJson = { ...req.src };
    if (req.from !== undefined && (await localImageSpec(req.from)) === null) {
      const nt = dockerNameTag(req.from);
      src.docker_name = nt.name;
      src.docker_tag = nt.tag;
    } else if (req.from !== undefined) {
      src.docker_name = req.from;
      src.docker_tag = "";
    }
    src.docker_config = dockerConfigOf(img);
    src.docker_platform = img.platform ?? "";
    src.docker_digest = img.dockerDigest;
    delete src.docker_ovl_digest;
    return src;
  };

  return { buildRootfs, refreshSource };
}
