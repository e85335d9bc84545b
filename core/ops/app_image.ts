/**
 * The image side of `pvr app install` and `pvr app update`: the {@link BuildRootfs}
 * and {@link RefreshSource} hooks built on `core/app/image.ts` (spec pvr-reference
 * §9.4, §9.5, §9.7, §9.8).
 *
 * Overlay apps: `root.ovl.squashfs` holds what the `docker_ovl_digest` image changes
 * over the lower app's `docker_digest` image (see `core/app/overlay.ts`).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import type { HttpClient } from "../remote/http.ts";
import { writeFileAtomic } from "../../native/durability.ts";
import { appDir, readSrcJson } from "../app/app_dir.ts";
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
import type { BuildRootfs, BuildRootfsRequest, RefreshSource, SquashName } from "./app_install.ts";
import { buildOverlaySquashfs } from "../app/overlay.ts";
import type { DockerCredentialEnv } from "../app/registry.ts";
import { refreshRootfsApp } from "./app_rootfs.ts";
import { fetchPvrApp } from "./app_pvr.ts";
import type { RemoteOptions } from "../remote/pantahub/remote.ts";

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
  /** `DOCKER_HOST` for the local source (default the process's; empty: the default socket). */
  dockerHost?: string;
  /** `HOME`, `DOCKER_CONFIG`, `PATH` for the Docker CLI config and its credential helpers. */
  dockerEnv?: DockerCredentialEnv;
  /** How Pantahub is reached when a pvr app is fetched again (as `pvr get`). */
  remote?: RemoteOptions;
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
  /** Resolves `from` with the request's source list and credentials. */
  const resolveFrom = (
    req: Pick<BuildRootfsRequest, "source" | "username" | "password" | "configDir">,
    from: string,
    platforms: string[] | undefined,
  ): Promise<ResolvedImage> =>
    resolveImage({
      from,
      platforms,
      source: parseSources(req.source),
      username: req.username,
      password: req.password,
      configDir: req.configDir,
      http: opts.http,
      insecure: opts.insecure,
      onMessage: opts.onMessage,
      dockerHost: opts.dockerHost,
      dockerEnv: opts.dockerEnv,
    });

  /**
   * The image pinned as `recorded` (a `src.json` digest). An image on disk is named by
   * `nameSrc`'s `docker_name` (path and tag) or by the path before the `@`; it is
   * resolved and must still have the pinned digest. Anything else is resolved from
   * `ref` (the digest reference).
   */
  const resolvePinned = async (
    req: BuildRootfsRequest,
    recorded: string,
    ref: string,
    nameSrc: SrcJson | undefined,
  ): Promise<ResolvedImage> => {
    if (opts.resolved?.dockerDigest === recorded) return opts.resolved;
    const resolve = (from: string) =>
      resolveFrom(req, from, nameSrc?.docker_platform ? [nameSrc.docker_platform] : undefined);
    let from: string | undefined;
    if (
      nameSrc?.docker_name !== undefined && (await localImageSpec(nameSrc.docker_name)) !== null
    ) {
      from = fromOf(nameSrc, req.name);
    } else {
      const at = recorded.lastIndexOf("@");
      const where = at > 0 ? recorded.slice(0, at) : "";
      if (where !== "" && (await localImageSpec(where).catch(() => null)) !== null) from = where;
    }
    if (from === undefined) return await resolve(ref);
    const img = await resolve(from);
    if (img.dockerDigest !== recorded) {
      throw new PvrError(
        "BAD_STATE",
        `${req.name}: the image ${from} is now ${img.dockerDigest}, not ${recorded}`,
        { hint: `run pvr app update ${req.name}` },
      );
    }
    return img;
  };

  const buildRootfs: BuildRootfs = async (req) => {
    await requireMksquashfs(opts.pathEnv); // fail before any download
    const out = `${appDir(req.repoDir, req.name)}/${req.squash}`;
    if (req.squash === "root.ovl.squashfs") {
      const recorded = req.src.docker_ovl_digest ?? req.digest;
      const lowerApp = req.lowerApp ?? req.name;
      const lowerSrc = lowerApp === req.name ? req.src : await readSrcJson(req.repoDir, lowerApp);
      const lowerRecorded = lowerSrc.docker_digest;
      if (!lowerRecorded) {
        throw new PvrError(
          "BAD_STATE",
          `${lowerApp}/src.json has no docker_digest: it cannot be the base of an overlay`,
        );
      }
      const upper = await resolvePinned(req, recorded, req.digest, req.src);
      // The app's own docker_name names the overlay image, not its lower one.
      const lower = await resolvePinned(
        req,
        lowerRecorded,
        lowerRecorded,
        lowerApp === req.name ? undefined : lowerSrc,
      );
      await buildOverlaySquashfs(upper, lower, out, {
        formatOptions: req.src.format_options,
        pathEnv: opts.pathEnv,
        onMessage: opts.onMessage,
      });
      opts.onMessage?.("Generating squashfs digest");
      await writeDigestFile(req.repoDir, req.name, req.squash, recorded);
      return;
    }
    const recorded = req.src.docker_digest ?? req.digest;
    const img = await resolvePinned(req, recorded, req.digest, req.src);
    await buildRootfsFromImage(img, out, {
      formatOptions: req.src.format_options,
      pathEnv: opts.pathEnv,
      onMessage: opts.onMessage,
      cacheDir: `${req.configDir}/cache/squashfs`,
    });
    opts.onMessage?.("Generating squashfs digest");
    await writeDigestFile(req.repoDir, req.name, req.squash, recorded);
  };

  const refreshSource: RefreshSource = async (req) => {
    if (req.type === "rootfs") {
      return await refreshRootfsApp(req.repoDir, req.name, req.src, req.from, opts);
    }
    if (req.type === "pvr") {
      const from = req.from ?? req.src.pvr;
      if (!from) {
        throw new PvrError("BAD_STATE", `${req.name}/src.json has no pvr source: cannot update`, {
          hint: "give the source with --from",
        });
      }
      const f = await fetchPvrApp({
        ...opts.remote,
        dir: req.repoDir,
        configDir: req.configDir,
        name: req.name,
        from,
        replace: true,
      });
      return f.src;
    }
    if (req.type !== "docker") return req.src;
    const from = req.from ?? fromOf(req.src, req.name);
    const img = await resolveFrom(req, from, splitPlatforms(req.platform));
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
    if (req.overlay) {
      src.docker_ovl_digest = img.dockerDigest;
    } else {
      // Base mode (`--newbase` included): the new image is the whole root.
      src.docker_digest = img.dockerDigest;
      delete src.docker_ovl_digest;
      delete src.base;
    }
    return src;
  };

  return { buildRootfs, refreshSource };
}
