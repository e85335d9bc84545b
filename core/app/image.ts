/**
 * Docker image resolution (spec §9.4) and `root.squashfs` building (§9.5) for
 * `pvr app add/install/update`.
 *
 * Sources, tried in the `--source` order:
 *
 * * `remote` — a registry (Docker Registry HTTP API v2, see `registry.ts`);
 * * `local` — the local Docker daemon over the Engine API on its unix socket
 *   (`DOCKER_HOST=unix://…`, else `/var/run/docker.sock`; see `docker_engine.ts`): an
 *   image it does not have, or a missing socket, passes to the next source.
 *
 * New (beyond the Go pvr): `--from` may name an image on disk, whatever `--source`
 * says:
 *
 * * `oci:<dir>[:<tag>]`, or a directory with an `oci-layout` file: an OCI image layout
 *   (`skopeo copy … oci:<dir>:<tag>`, `umoci`, `buildah push … oci:`);
 * * `docker-archive:<file>[:<tag>]`, `oci-archive:<file>[:<tag>]`, or an existing tar
 *   file (plain or gzip): a `docker save` tarball or an OCI layout in a tar. Its members
 *   are copied once into `<config-dir>/cache/<digest>`.
 *
 * @module
 */

import { pathExists } from "../fs_util.ts";
import { PvrError } from "../errors.ts";
import type { HttpClient } from "../remote/http.ts";
import { createSha256, sha256Bytes, sha256File } from "../store/hash.ts";
import { TarReader } from "../archive/tar.ts";
import { type ImageRef, parseImageRef } from "./image_ref.ts";
import {
  checkDigest,
  type Descriptor,
  dockerConfigCredentials,
  type DockerCredentialEnv,
  formatPlatform,
  hostPlatform,
  type ImageIndex,
  type ImageManifest,
  isIndex,
  parsePlatform,
  platformMatches,
  RegistryClient,
  selectPlatform,
  verifiedFile,
  type WantedPlatform,
} from "./registry.ts";
import { indexLayers, layerFile, openLayerTar, squashIndexed } from "./layers.ts";
import { requireMksquashfs } from "./squashfs.ts";
import { DockerEngine, dockerSocketPath, type EngineImage } from "./docker_engine.ts";

/** An image source of `--source`. */
export type ImageSource = "remote" | "local";

/** Options of {@link resolveImage}. */
export interface ResolveImageOptions {
  /** `--from`: an image reference, or an image on disk (see the module doc). */
  from: string;
  /**
   * Wanted platforms `os/arch[/variant]`, most wanted first (`--platform`, or the
   * `platforms` of `_hostconfig/pvr/docker.json`). Empty: the host's platform when the
   * image has several.
   */
  platforms?: readonly string[];
  /** Registry user name (`-u`). */
  username?: string;
  /** Registry password (`-p`). */
  password?: string;
  /**
   * Look up credentials in `~/.docker/config.json` without `-u/-p` (default true): its
   * `credHelpers`/`credsStore` helpers (`docker-credential-<name> get`), then `auths`.
   */
  dockerConfig?: boolean;
  /** Sources in order (default `remote`, `local`). */
  source?: readonly ImageSource[];
  /** The pvr config dir (`~/.pvr`); blobs are cached in `<configDir>/cache`. */
  configDir: string;
  /** HTTP client (default a new one). */
  http?: HttpClient;
  /** Registries reached over plain HTTP (`true`: all; localhost always). */
  insecure?: boolean | readonly string[];
  /** Progress and diagnostics, one line each (for stderr). */
  onMessage?: (line: string) => void;
  /** `DOCKER_HOST` for the local source (default the process's; empty: the default socket). */
  dockerHost?: string;
  /**
   * Where the Docker CLI config and credential helpers are found (`HOME`,
   * `DOCKER_CONFIG`, `PATH`; default the process's environment).
   */
  dockerEnv?: DockerCredentialEnv;
}

/** A resolved image: what `src.json` records, and how to get its layers. */
export interface ResolvedImage {
  /** Where it came from. */
  source: ImageSource;
  /** `registry`, `oci-layout`, `oci-archive`, `docker-archive` or `docker-daemon`. */
  kind: "registry" | "oci-layout" | "oci-archive" | "docker-archive" | "docker-daemon";
  /** The parsed reference (registry images only). */
  ref?: ImageRef;
  /** The manifest digest (`sha256:<hex>`; the config digest for `docker save`). */
  digest: string;
  /** What `src.json` `docker_digest` records: `<name>@<digest>`. */
  dockerDigest: string;
  /** The image config's `config` object (`src.json` `docker_config`). */
  config: Record<string, unknown>;
  /** The whole image config JSON. */
  imageConfig: Record<string, unknown>;
  /** The platform chosen from an index (`docker_platform`), if there was one. */
  platform?: string;
  /** The layers, in order. */
  layers: Descriptor[];
  /** Makes the layers available as verified local files, in order. */
  fetchLayers(onLayer?: (i: number, cached: boolean) => void): Promise<string[]>;
}

const utf8 = new TextDecoder();

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(utf8.decode(bytes));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v;
  } catch (err) {
    throw new PvrError("BAD_ARCHIVE", `${what} is not a JSON object`, { cause: err });
  }
}

function wantedPlatforms(platforms: readonly string[] | undefined): WantedPlatform[] {
  return (platforms ?? []).filter((p) => p.trim() !== "").map(parsePlatform);
}

/** Checks a single-platform image's config against the wanted platforms. */
function checkConfigPlatform(
  cfg: Record<string, unknown>,
  wanted: readonly WantedPlatform[],
  name: string,
): void {
  if (wanted.length === 0) return;
  const have = {
    os: typeof cfg.os === "string" ? cfg.os : undefined,
    architecture: typeof cfg.architecture === "string" ? cfg.architecture : undefined,
    variant: typeof cfg.variant === "string" ? cfg.variant : undefined,
  };
  if (have.architecture === undefined || wanted.some((w) => platformMatches(have, w))) return;
  throw new PvrError(
    "BAD_REFERENCE",
    `${name} is a ${formatPlatform(have)} image, not ${
      wanted.map((w) => formatPlatform(w)).join(" or ")
    }`,
  );
}

/** Picks from an index, or throws listing what it has. */
function pickFromIndex(
  index: ImageIndex,
  wanted: readonly WantedPlatform[],
  name: string,
): Descriptor {
  const entries = index.manifests.filter((m) =>
    m.platform === undefined ||
    (m.platform.os !== "unknown" && m.platform.architecture !== "unknown")
  );
  const want = wanted.length > 0 ? wanted : [hostPlatform()];
  const hit = selectPlatform(entries, want) ??
    (wanted.length === 0 ? entries[0] : undefined);
  if (hit === undefined) {
    const have = entries.map((e) => formatPlatform(e.platform ?? {})).join(", ");
    throw new PvrError(
      "BAD_REFERENCE",
      `${name} has no manifest for ${want.map((w) => formatPlatform(w)).join(", ")} (it has: ${
        have || "nothing"
      })`,
    );
  }
  return hit;
}

function configOf(cfg: Record<string, unknown>): Record<string, unknown> {
  const c = cfg.config;
  return c !== null && typeof c === "object" && !Array.isArray(c)
    ? c as Record<string, unknown>
    : {};
}

function checkLayers(layers: Descriptor[], name: string): Descriptor[] {
  for (const l of layers) {
    checkDigest(l.digest);
    if (l.urls !== undefined && l.urls.length > 0) {
      throw new PvrError("BAD_REFERENCE", `${name}: foreign layers (with urls) are not supported`);
    }
  }
  return layers;
}

// ---------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------

async function resolveRemote(
  ref: ImageRef,
  opts: ResolveImageOptions,
  wanted: WantedPlatform[],
): Promise<ResolvedImage> {
  // -u/-p when both are given, else the Docker CLI config, else anonymous (spec §9.4).
  const creds = opts.username && opts.password !== undefined
    ? { username: opts.username, password: opts.password }
    : opts.dockerConfig === false
    ? undefined
    : await dockerConfigCredentials(ref.registry, opts.dockerEnv);
  const client = new RegistryClient({
    http: opts.http,
    username: creds?.username,
    password: creds?.password,
    insecure: opts.insecure,
  });
  const name = `${ref.registry}/${ref.repository}`;
  const reference = ref.digest ?? ref.tag ?? "latest";
  let top = await client.getManifest(ref, reference);
  let platform: string | undefined;
  if (isIndex(top.body)) {
    const pick = pickFromIndex(top.body, wanted, name);
    platform = pick.platform ? formatPlatform(pick.platform) : undefined;
    opts.onMessage?.(`Found Manifest for platform ${platform ?? "(unspecified)"}`);
    top = await client.getManifest(ref, pick.digest);
    if (isIndex(top.body)) throw new PvrError("BAD_REFERENCE", `${name}: nested image index`);
  } else {
    opts.onMessage?.("Found Manifest for default platform.");
  }
  const manifest = top.body as ImageManifest;
  const cfgBytes = await client.getBlob(ref, manifest.config.digest);
  const imageConfig = parseJson(cfgBytes, `image config of ${name}`);
  if (platform === undefined) checkConfigPlatform(imageConfig, wanted, name);
  const cacheDir = `${opts.configDir}/cache`;
  const layers = checkLayers(manifest.layers, name);
  return {
    source: "remote",
    kind: "registry",
    ref,
    digest: top.digest,
    dockerDigest: `${ref.name}@${top.digest}`,
    config: configOf(imageConfig),
    imageConfig,
    platform,
    layers,
    async fetchLayers(onLayer) {
      const got = await client.downloadBlobs(ref, layers, {
        cacheDir,
        concurrency: 4,
        onBlob: (i, r) => onLayer?.(i, r.cached),
      });
      return got.map((g) => g.path);
    },
  };
}

// ---------------------------------------------------------------------------------
// Images on disk
// ---------------------------------------------------------------------------------

/** Read access to the files of an OCI layout or `docker save` output. */
interface LayoutFiles {
  /** A member's bytes, or null when absent. */
  read(name: string): Promise<Uint8Array | null>;
  /** A member as a file on disk (its digest checked when `digest` is given). */
  file(name: string, digest?: string): Promise<string>;
}

function dirFiles(dir: string): LayoutFiles {
  const safe = (name: string) => {
    if (name.startsWith("/") || name.split("/").includes("..")) {
      throw new PvrError("UNSAFE_PATH", `image layout names ${JSON.stringify(name)}`);
    }
    return `${dir}/${name}`;
  };
  return {
    async read(name) {
      try {
        return await Deno.readFile(safe(name));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return null;
        throw err;
      }
    },
    async file(name, digest) {
      const path = safe(name);
      if (digest !== undefined && !(await verifiedFile(path, digest))) {
        throw new PvrError("OBJECT_CORRUPT", `${path} does not match its digest ${digest}`);
      }
      return path;
    },
  };
}

/**
 * Copies every regular member of an image tarball into the cache (by SHA-256) once,
 * keeping small members in memory.
 */
async function archiveFiles(path: string, cacheDir: string): Promise<LayoutFiles> {
  await Deno.mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const small = new Map<string, Uint8Array>();
  const stored = new Map<string, string>(); // member name -> cache path
  const tar = new TarReader(await openLayerTar(layerFile(path)));
  try {
    for (;;) {
      const e = await tar.next();
      if (e === null) break;
      if (e.type !== "0" && e.type !== "\0" && e.type !== "7") continue;
      const name = e.name.replace(/^(\.\/)+/, "");
      if (e.size <= 1 << 20) {
        const bytes = (await tar.readBody()).slice();
        small.set(name, bytes);
        continue;
      }
      const tmp = `${cacheDir}/.archive-${crypto.randomUUID()}.partial`;
      const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      const h = createSha256();
      try {
        const r = tar.body().getReader();
        for (;;) {
          const { done, value } = await r.read();
          if (done) break;
          h.update(value);
          let off = 0;
          while (off < value.length) off += await f.write(value.subarray(off));
        }
      } finally {
        f.close();
      }
      const dest = `${cacheDir}/sha256:${h.digest()}`;
      await Deno.rename(tmp, dest);
      stored.set(name, dest);
    }
  } catch (err) {
    await tar.cancel().catch(() => {});
    if (err instanceof PvrError) throw err;
    throw new PvrError("BAD_ARCHIVE", `${path} is not a readable image archive`, { cause: err });
  }
  return {
    read(name) {
      return Promise.resolve(small.get(name) ?? null);
    },
    async file(name, digest) {
      let p = stored.get(name);
      if (p === undefined) {
        const bytes = small.get(name);
        if (bytes === undefined) {
          throw new PvrError("BAD_ARCHIVE", `${path} has no member ${JSON.stringify(name)}`);
        }
        p = `${cacheDir}/sha256:${sha256Bytes(bytes)}`;
        if (!(await verifiedFile(p, `sha256:${sha256Bytes(bytes)}`))) {
          await Deno.writeFile(p, bytes, { mode: 0o600 });
        }
        stored.set(name, p);
      }
      if (digest !== undefined && !(await verifiedFile(p, digest))) {
        throw new PvrError("OBJECT_CORRUPT", `${name} in ${path} does not match ${digest}`);
      }
      return p;
    },
  };
}

function blobName(digest: string): string {
  const [alg, hex] = checkDigest(digest).split(":");
  return `blobs/${alg}/${hex}`;
}

async function readBlobJson(files: LayoutFiles, digest: string, where: string) {
  const bytes = await files.read(blobName(digest));
  if (bytes === null) throw new PvrError("BAD_ARCHIVE", `${where} lacks blob ${digest}`);
  if (`sha256:${sha256Bytes(bytes)}` !== digest) {
    throw new PvrError("OBJECT_CORRUPT", `${where}: blob ${digest} does not match its digest`);
  }
  return { bytes, json: parseJson(bytes, `blob ${digest} of ${where}`) };
}

async function resolveOciLayout(
  files: LayoutFiles,
  where: string,
  tag: string | undefined,
  wanted: WantedPlatform[],
  kind: "oci-layout" | "oci-archive",
  onMessage?: (line: string) => void,
): Promise<ResolvedImage> {
  const indexBytes = await files.read("index.json");
  if (indexBytes === null) throw new PvrError("BAD_ARCHIVE", `${where} has no index.json`);
  const top = parseJson(indexBytes, `index.json of ${where}`) as unknown as ImageIndex;
  if (!Array.isArray(top.manifests)) {
    throw new PvrError("BAD_ARCHIVE", `index.json of ${where} has no manifests`);
  }
  let entries = top.manifests;
  if (tag !== undefined) {
    entries = entries.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
    if (entries.length === 0) throw new PvrError("BAD_REFERENCE", `${where} has no image ${tag}`);
  }
  let desc: Descriptor;
  let platform: string | undefined;
  if (entries.length === 1) {
    desc = entries[0];
  } else if (entries.every((e) => e.platform !== undefined)) {
    desc = pickFromIndex({ schemaVersion: 2, manifests: entries }, wanted, where);
    platform = formatPlatform(desc.platform!);
  } else {
    throw new PvrError("BAD_REFERENCE", `${where} holds several images: name one with :<tag>`);
  }
  let { json } = await readBlobJson(files, desc.digest, where);
  let digest = desc.digest;
  if (Array.isArray((json as unknown as ImageIndex).manifests)) {
    const pick = pickFromIndex(json as unknown as ImageIndex, wanted, where);
    platform = pick.platform ? formatPlatform(pick.platform) : undefined;
    onMessage?.(`Found Manifest for platform ${platform ?? "(unspecified)"}`);
    ({ json } = await readBlobJson(files, pick.digest, where));
    digest = pick.digest;
  }
  const manifest = json as unknown as ImageManifest;
  if (typeof manifest.config?.digest !== "string" || !Array.isArray(manifest.layers)) {
    throw new PvrError("BAD_ARCHIVE", `${where}: ${digest} is not an image manifest`);
  }
  const cfg = (await readBlobJson(files, manifest.config.digest, where)).json;
  if (platform === undefined) checkConfigPlatform(cfg, wanted, where);
  const layers = checkLayers(manifest.layers, where);
  return {
    source: "local",
    kind,
    digest,
    dockerDigest: `${where}@${digest}`,
    config: configOf(cfg),
    imageConfig: cfg,
    platform,
    layers,
    async fetchLayers(onLayer) {
      const out: string[] = [];
      for (let i = 0; i < layers.length; i++) {
        out.push(await files.file(blobName(layers[i].digest), layers[i].digest));
        onLayer?.(i, true);
      }
      return out;
    },
  };
}

async function resolveDockerSave(
  files: LayoutFiles,
  where: string,
  tag: string | undefined,
  wanted: WantedPlatform[],
): Promise<ResolvedImage> {
  const bytes = await files.read("manifest.json");
  if (bytes === null) throw new PvrError("BAD_ARCHIVE", `${where} has no manifest.json`);
  let list: { Config?: string; RepoTags?: string[] | null; Layers?: string[] }[];
  try {
    list = JSON.parse(utf8.decode(bytes));
    if (!Array.isArray(list)) throw new Error("not an array");
  } catch (err) {
    throw new PvrError("BAD_ARCHIVE", `manifest.json of ${where} is not valid`, { cause: err });
  }
  const entry = tag === undefined
    ? list[0]
    : list.find((m) =>
      (m.RepoTags ?? []).some((t) => t === tag || t === `${tag}:latest` || t.endsWith(`:${tag}`))
    );
  if (entry === undefined || typeof entry.Config !== "string" || !Array.isArray(entry.Layers)) {
    throw new PvrError("BAD_REFERENCE", `${where} has no image${tag ? ` ${tag}` : ""}`);
  }
  const cfgBytes = await files.read(entry.Config);
  if (cfgBytes === null) throw new PvrError("BAD_ARCHIVE", `${where} lacks ${entry.Config}`);
  const cfg = parseJson(cfgBytes, `${entry.Config} of ${where}`);
  checkConfigPlatform(cfg, wanted, where);
  const digest = `sha256:${sha256Bytes(cfgBytes)}`;
  const paths: string[] = [];
  const layers: Descriptor[] = [];
  for (const name of entry.Layers) {
    if (typeof name !== "string") throw new PvrError("BAD_ARCHIVE", `${where}: bad layer name`);
    const path = await files.file(name);
    // Archive members are cached under their digest; a directory's are hashed here.
    const base = path.slice(path.lastIndexOf("/") + 1);
    const { sha, size } = /^sha256:[0-9a-f]{64}$/.test(base)
      ? { sha: base.slice(7), size: (await Deno.stat(path)).size }
      : await sha256File(path);
    paths.push(path);
    layers.push({
      mediaType: "application/vnd.docker.image.rootfs.diff.tar",
      digest: `sha256:${sha}`,
      size,
    });
  }
  return {
    source: "local",
    kind: "docker-archive",
    digest,
    dockerDigest: `${where}@${digest}`,
    config: configOf(cfg),
    imageConfig: cfg,
    layers,
    fetchLayers(onLayer) {
      paths.forEach((_p, i) => onLayer?.(i, true));
      return Promise.resolve(paths);
    },
  };
}

// ---------------------------------------------------------------------------------
// The local Docker daemon
// ---------------------------------------------------------------------------------

/**
 * The image `name` of the local Docker daemon, or null when the daemon does not have
 * it. The `docker save` export happens in `fetchLayers`.
 *
 * @throws {PvrError} `BAD_REFERENCE` without a daemon socket; `REMOTE`; `USAGE` for an
 *   unsupported `DOCKER_HOST`
 */
async function resolveDaemon(
  name: string,
  opts: ResolveImageOptions,
  wanted: WantedPlatform[],
): Promise<ResolvedImage | null> {
  const socket = dockerSocketPath(opts.dockerHost ?? Deno.env.get("DOCKER_HOST"));
  const engine = new DockerEngine(socket);
  if (!(await engine.available())) {
    throw new PvrError("BAD_REFERENCE", `no Docker daemon: ${socket} is not a socket`, {
      hint: "start Docker or set DOCKER_HOST=unix://<socket>",
    });
  }
  let info: EngineImage | null;
  try {
    info = await engine.inspect(name);
  } finally {
    engine.close();
  }
  if (info === null) {
    opts.onMessage?.("Repo not exists in local docker");
    return null;
  }
  opts.onMessage?.("Repo exists in local docker");
  const platformOf = { os: info.Os, architecture: info.Architecture, variant: info.Variant };
  checkConfigPlatform(platformOf, wanted, name);
  const id = info.Id;
  const cacheDir = `${opts.configDir}/cache`;
  const file = `${cacheDir}/docker-save-${id.slice("sha256:".length)}.tar`;
  /** The saved tarball as an image, when it is whole and is this image. */
  const openSaved = async (): Promise<ResolvedImage | null> => {
    if (!(await pathExists(file))) return null;
    try {
      const img = await resolveDockerSave(await archiveFiles(file, cacheDir), file, undefined, []);
      if (img.digest === id) return img;
    } catch {
      // damaged: exported again
    }
    await Deno.remove(file).catch(() => {});
    return null;
  };
  return {
    source: "local",
    kind: "docker-daemon",
    digest: id,
    dockerDigest: info.RepoDigests[0] ?? id,
    config: info.Config,
    imageConfig: { ...platformOf, config: info.Config },
    layers: (info.RootFS?.Layers ?? []).map((d) => ({
      mediaType: "application/vnd.docker.image.rootfs.diff.tar",
      digest: d,
      size: 0,
    })),
    async fetchLayers(onLayer) {
      await Deno.mkdir(cacheDir, { recursive: true, mode: 0o700 });
      let saved = await openSaved();
      if (saved !== null) {
        opts.onMessage?.("Layers Found in Cache");
      } else {
        const e = new DockerEngine(socket);
        try {
          await e.save(id, file);
        } finally {
          e.close();
        }
        saved = await openSaved();
        if (saved === null) {
          throw new PvrError(
            "OBJECT_CORRUPT",
            `the Docker daemon's export of ${name} is not a docker save of ${id}`,
          );
        }
      }
      return await saved.fetchLayers(onLayer);
    },
  };
}

/** A `--from` that names an image on disk: its kind, path and tag; else null. */
export async function localImageSpec(
  from: string,
): Promise<{ kind: "dir" | "archive"; path: string; tag?: string } | null> {
  const m = /^(oci|oci-archive|docker-archive):(.+)$/.exec(from);
  if (!m && !(from.startsWith("/") || from.startsWith("./") || from.startsWith("../"))) {
    return null;
  }
  // `<path>[:<tag>]`: the whole text when it exists, else the shortest existing prefix
  // before a `:` (a docker-archive reference may itself contain `:`).
  const text = m ? m[2] : from;
  const candidates: [string, string | undefined][] = [[text, undefined]];
  if (m) {
    for (let i = text.indexOf(":"); i > 0; i = text.indexOf(":", i + 1)) {
      candidates.push([text.slice(0, i), text.slice(i + 1)]);
    }
  }
  let path = text;
  let tag: string | undefined;
  let st: Deno.FileInfo | null = null;
  for (const [p, t] of candidates) {
    try {
      st = await Deno.stat(p);
      path = p;
      tag = t === "" ? undefined : t;
      break;
    } catch {
      // try the next split
    }
  }
  if (st === null) {
    if (m) throw new PvrError("BAD_REFERENCE", `image ${JSON.stringify(text)} does not exist`);
    return null;
  }
  return { kind: st.isDirectory ? "dir" : "archive", path, tag };
}

async function resolveLocalPath(
  spec: { kind: "dir" | "archive"; path: string; tag?: string },
  opts: ResolveImageOptions,
  wanted: WantedPlatform[],
): Promise<ResolvedImage> {
  const files = spec.kind === "dir"
    ? dirFiles(spec.path)
    : await archiveFiles(spec.path, `${opts.configDir}/cache`);
  const isOci = (await files.read("oci-layout")) !== null &&
    (await files.read("index.json")) !== null;
  if (isOci) {
    return resolveOciLayout(
      files,
      spec.path,
      spec.tag,
      wanted,
      spec.kind === "dir" ? "oci-layout" : "oci-archive",
      opts.onMessage,
    );
  }
  return resolveDockerSave(files, spec.path, spec.tag, wanted);
}

/**
 * Finds the image `--from` names, in the `--source` order (spec §9.4), and returns its
 * digest, config, platform and layers (not yet downloaded).
 *
 * Needs `--allow-net` (registries), `--allow-read`/`--allow-write` (the cache, images
 * on disk).
 *
 * @example
 * ```ts
 * const img = await resolveImage({ from: "nginx:1.25", platforms: ["linux/arm64"], configDir });
 * await buildRootfsFromImage(img, "nginx/root.squashfs");
 * ```
 *
 * @throws {PvrError} `BAD_REFERENCE` when no source has it (`Image not found in
 *   source:<list>`), `AUTH`, `REMOTE`, `USAGE` (bad platform), `OBJECT_CORRUPT`
 */
export async function resolveImage(opts: ResolveImageOptions): Promise<ResolvedImage> {
  const wanted = wantedPlatforms(opts.platforms);
  const spec = await localImageSpec(opts.from);
  if (spec !== null) return resolveLocalPath(spec, opts, wanted);
  const sources = opts.source ?? ["remote", "local"];
  const errors: PvrError[] = [];
  for (const source of sources) {
    if (source === "remote") {
      // A bare image id (`sha256:<hex>`, what a local image without RepoDigests is
      // pinned as) names no registry image.
      if (/^sha256:[0-9a-f]{64}$/.test(opts.from)) continue;
      const ref = parseImageRef(opts.from);
      try {
        return await resolveRemote(ref, opts, wanted);
      } catch (err) {
        if (!(err instanceof PvrError)) throw err;
        // Usage errors and a missing credential helper are not "try the next source" material.
        if (err.code === "USAGE" || err.code === "MISSING_TOOL") throw err;
        opts.onMessage?.(`remote source had an error, trying with other sources\n ${err.message}`);
        errors.push(err);
      }
    } else if (source === "local") {
      try {
        const img = await resolveDaemon(opts.from, opts, wanted);
        if (img !== null) return img;
      } catch (err) {
        if (!(err instanceof PvrError)) throw err;
        if (err.code === "USAGE") throw err;
        opts.onMessage?.(`local source had an error, trying with other sources\n ${err.message}`);
        errors.push(err);
      }
    } else {
      throw new PvrError(
        "USAGE",
        "source flag only accepts remote / local, (e.g. --source=remote,local)",
      );
    }
  }
  const last = errors.find((e) => e.code !== "BAD_REFERENCE") ?? errors[0];
  throw new PvrError("BAD_REFERENCE", `Image not found in source:${sources.join(",")}`, {
    cause: last,
    hint: last?.message,
  });
}

/** Options of {@link buildRootfsFromImage}. */
export interface BuildRootfsOptions {
  /** mksquashfs options (`format_options`, default `-comp xz`). */
  formatOptions?: string;
  /** `PATH` used to find mksquashfs (default the process's). */
  pathEnv?: string;
  /** Progress lines for stderr (`Layer 0 downloaded`, `Generating squashfs file: …`). */
  onMessage?: (line: string) => void;
  /**
   * A directory caching finished squashfs files (normally `<config-dir>/cache/squashfs`).
   * Builds are reproducible, so the same image, platform, options and mksquashfs
   * version always give the same bytes: a hit is copied (verified) instead of rebuilt.
   */
  cacheDir?: string;
}

/** Result of {@link buildRootfsFromImage}. */
export interface BuildRootfsResult {
  /** `sha256:<hex>` of the squashfs. */
  digest: string;
  /** Its size in bytes. */
  size: number;
  /** Entries in the file system (root excluded). */
  entries: number;
}

/**
 * Downloads (or finds in the cache) the image's layers, flattens them and writes
 * `outPath` with mksquashfs (spec §9.5; reproducible, no root needed, see
 * `squashfs.ts`). mksquashfs is looked for first, so a missing one fails before any
 * download.
 *
 * Needs `--allow-run`, `--allow-net`, `--allow-read`, `--allow-write`, `--allow-env`.
 *
 * @throws {PvrError} `MISSING_TOOL` without mksquashfs (naming the Debian package),
 *   `UNSAFE_PATH`/`BAD_ARCHIVE` for bad layers, download errors, `FAILED`
 */
export async function buildRootfsFromImage(
  image: ResolvedImage,
  outPath: string,
  opts: BuildRootfsOptions = {},
): Promise<BuildRootfsResult> {
  const bin = await requireMksquashfs(opts.pathEnv);
  if (opts.cacheDir === undefined) return await buildUncached(image, outPath, opts);
  const key = await squashfsCacheKey(image, bin, opts.formatOptions);
  const cached = `${opts.cacheDir}/${key}`;
  const hit = await copyCachedSquashfs(cached, outPath);
  if (hit !== null) {
    opts.onMessage?.(`Squashfs found in cache (${key.slice(0, 12)})`);
    return hit;
  }
  const res = await buildUncached(image, outPath, opts);
  await storeCachedSquashfs(cached, outPath, res).catch(() => {}); // only a cache
  return res;
}

/**
 * The cache key of a build: sha256 over the image digest, platform, format options and
 * the mksquashfs version line (another version may write other bytes).
 */
async function squashfsCacheKey(
  image: ResolvedImage,
  bin: string,
  formatOptions: string | undefined,
): Promise<string> {
  const out = await new Deno.Command(bin, { args: ["-version"], stdout: "piped", stderr: "null" })
    .output().catch(() => null);
  const version = out ? new TextDecoder().decode(out.stdout).split("\n")[0] : "";
  const platform = image.platform ? JSON.stringify(image.platform) : "";
  return sha256Bytes(
    new TextEncoder().encode(
      [image.digest, platform, formatOptions ?? "", version].join("\n"),
    ),
  );
}

/** Copies a cached squashfs to `outPath` (verified, atomic); null on a miss or damage. */
async function copyCachedSquashfs(
  cached: string,
  outPath: string,
): Promise<BuildRootfsResult | null> {
  let meta: BuildRootfsResult;
  try {
    meta = JSON.parse(await Deno.readTextFile(`${cached}.json`)) as BuildRootfsResult;
  } catch {
    return null;
  }
  const tmp = `${outPath}.new`;
  try {
    await Deno.copyFile(`${cached}.squashfs`, tmp);
    const { sha } = await sha256File(tmp);
    if (`sha256:${sha}` !== meta.digest) {
      await Deno.remove(tmp).catch(() => {});
      await Deno.remove(`${cached}.json`).catch(() => {}); // damaged: rebuild and replace
      return null;
    }
    await Deno.chmod(tmp, 0o644);
    await Deno.rename(tmp, outPath);
    return meta;
  } catch {
    await Deno.remove(tmp).catch(() => {});
    return null;
  }
}

/** Puts a finished build in the cache (squashfs first, then its metadata: a hit needs both). */
async function storeCachedSquashfs(
  cached: string,
  builtPath: string,
  res: BuildRootfsResult,
): Promise<void> {
  const dir = cached.slice(0, cached.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true });
  const suffix = `${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.copyFile(builtPath, `${cached}.squashfs.${suffix}`);
  await Deno.rename(`${cached}.squashfs.${suffix}`, `${cached}.squashfs`);
  await Deno.writeTextFile(`${cached}.json.${suffix}`, JSON.stringify(res));
  await Deno.rename(`${cached}.json.${suffix}`, `${cached}.json`);
}

async function buildUncached(
  image: ResolvedImage,
  outPath: string,
  opts: BuildRootfsOptions,
): Promise<BuildRootfsResult> {
  const paths = await image.fetchLayers((i, cached) =>
    opts.onMessage?.(`Layer ${i} downloaded${cached ? "(cache)" : ""}`)
  );
  const layers = paths.map(layerFile);
  const index = await indexLayers(layers, {
    onLayer: (i) => opts.onMessage?.(`Extracting layer ${i}`),
  });
  opts.onMessage?.("Stripping qemu files...");
  opts.onMessage?.("Adding essential structural dirs to operate RO containers");
  return await squashIndexed(index, layers, { ...opts, outPath });
}
