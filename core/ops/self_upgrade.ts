/**
 * `pvr self-upgrade` (spec pvr-reference §12.1), redone safely: the new binary comes
 * from the image named by `PVR_SELF_UPGRADE_IMAGE` (tag `<DistributionTag>` unless given;
 * there is no default: the Go pvr's image, `registry.gitlab.com/pantacor/pvr`, holds the
 * Go program, which must not silently replace this one),
 * every blob is checked against its digest, and the running executable is replaced by
 * one atomic rename, the previous one kept as `<exe>.bak`.
 *
 * There is no automatic check: the Go pvr contacted the registry from every command
 * once a day and replaced its own binary silently (§1.5); pvr only upgrades when asked.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { parseImageRef } from "../app/image_ref.ts";
import {
  type Descriptor,
  dockerConfigCredentials,
  type ImageManifest,
  isIndex,
  RegistryClient,
  type RegistryRef,
  selectPlatform,
} from "../app/registry.ts";
import { layerFile, openLayerTar } from "../app/layers.ts";
import { TarFormatError, TarReader } from "../archive/tar.ts";
import { loadGlobalConfig } from "../repo/global_config.ts";
import { fsyncDir, tempName, writeAll, writeFileAtomic } from "../../native/durability.ts";

/** The environment variable that names the upgrade image. */
export const UPGRADE_IMAGE_ENV = "PVR_SELF_UPGRADE_IMAGE";

/**
 * The image's directory name for a platform, `<GOOS>_<GOARCH>`, from Deno's
 * `Deno.build.os`/`Deno.build.arch`: `x86_64` → `amd64`, `aarch64` → `arm64`, 32-bit ARM
 * (`arm`, `armv6l`, `armv7l`) → `arm` (the Go pvr looked for `armv6`, which the image
 * does not have), `riscv64` → `riscv64`, `x86`/`i686` → `386`; the OS as it is
 * (`linux`, `darwin`, `windows`).
 *
 * @throws {PvrError} `FAILED` for an architecture the image has no name for
 */
export function imagePlatformDir(os: string, arch: string): string {
  const archs: Record<string, string> = {
    x86_64: "amd64",
    amd64: "amd64",
    aarch64: "arm64",
    arm64: "arm64",
    arm: "arm",
    armv6l: "arm",
    armv7l: "arm",
    riscv64: "riscv64",
    x86: "386",
    i686: "386",
  };
  const goArch = archs[arch];
  if (goArch === undefined) {
    throw new PvrError("FAILED", `self-upgrade: no pvr binary is published for ${os}/${arch}`);
  }
  return `${os}_${goArch}`;
}

/** Options of {@link selfUpgrade}. */
export interface SelfUpgradeOptions {
  /** The global config dir (`config.json`, `installed_version`, `cache/`). */
  configDir: string;
  /**
   * The executable to replace (the CLI passes `Deno.execPath()`); symlinks are
   * resolved, so the file they point to is replaced.
   */
  exePath: string;
  /**
   * False when pvr is not a compiled binary (it runs under `deno run`): the upgrade is
   * refused. Also refused when the executable is named `deno`.
   */
  compiled?: boolean;
  /**
   * The image (`registry/repository[:tag][@digest]`); without a tag or digest,
   * `:<DistributionTag>` of `config.json` is added. Required (the CLI passes
   * `PVR_SELF_UPGRADE_IMAGE`).
   */
  image?: string;
  /** `Deno.build.os`-style OS (default the running one). */
  os?: string;
  /** `Deno.build.arch`-style architecture (default the running one). */
  arch?: string;
  /** Docker config location for registry credentials (§9.4); default the process's. */
  dockerEnv?: { HOME?: string; DOCKER_CONFIG?: string };
  /** Receives progress lines (the Go pvr's, on stderr). */
  progress?: (line: string) => void;
}

/** What {@link selfUpgrade} did. */
export interface SelfUpgradeResult {
  /** The image reference used. */
  image: string;
  /** The image's config digest (what `installed_version` holds). */
  version: string;
  /** True when `installed_version` already named this version (nothing replaced). */
  upToDate: boolean;
  /** The file replaced (symlinks resolved). */
  exe: string;
  /** `<exe>.bak`, the previous binary (when replaced). */
  backup?: string;
  /** The layer cache dir (`<configDir>/cache`). */
  cacheDir: string;
  /** The path of the binary inside the image (`pkg/bin/linux_amd64/pvr`). */
  binaryPath: string;
}

function isDenoBinary(path: string): boolean {
  return /^deno(\.exe)?$/i.test(path.slice(path.lastIndexOf("/") + 1));
}

/** The image reference to use: `image` with `:<tag>` added when it has no tag/digest. */
export function upgradeImage(image: string | undefined, distributionTag: string): string {
  const ref = image?.trim();
  if (!ref) {
    throw new PvrError(
      "BAD_REFERENCE",
      `no upgrade image: set ${UPGRADE_IMAGE_ENV} to the image that publishes this pvr ` +
        "(registry/repository[:tag])",
    );
  }
  const pinned = ref.includes("@") || ref.lastIndexOf(":") > ref.lastIndexOf("/");
  return pinned ? ref : `${ref}:${distributionTag || "develop"}`;
}

/**
 * Upgrades the pvr executable from the pvr image: fetches the manifest (an index picks
 * its `linux/amd64` entry, else its first — every platform's binary is in the same
 * image), compares the config digest with `<configDir>/installed_version` (equal →
 * `upToDate`, nothing else happens), downloads the layers into `<configDir>/cache`
 * (each verified against its digest; cached ones reused when their SHA-256 matches),
 * takes `pkg/bin/<os>_<arch>/pvr` from the last layer that has it, writes it beside the
 * executable as a temp file (fsync'ed, mode 0755), keeps the current executable as
 * `<exe>.bak`, renames the new one over it and fsyncs the directory, then writes
 * `installed_version`.
 *
 * Permissions: net, read/write of the config dir and of the executable's directory,
 * env (Docker config).
 *
 * @throws {PvrError} `FAILED` under `deno run`, for a platform the image lacks, or when
 *   the executable's directory cannot be written; `BAD_REFERENCE` for a bad or missing
 *   image; `OBJECT_CORRUPT` when a blob does not match its digest (nothing replaced);
 *   `AUTH`, `REMOTE`
 * @example
 * ```ts
 * const r = await selfUpgrade({ configDir, exePath: Deno.execPath(), compiled: true });
 * console.log(r.upToDate ? "latest" : `updated ${r.exe}`);
 * ```
 */
export async function selfUpgrade(opts: SelfUpgradeOptions): Promise<SelfUpgradeResult> {
  const progress = opts.progress ?? (() => {});
  if (opts.compiled === false || isDenoBinary(opts.exePath)) {
    throw new PvrError(
      "FAILED",
      "self-upgrade only works for a compiled pvr; this one runs under deno (update its source instead)",
    );
  }
  let exe: string;
  try {
    exe = await Deno.realPath(opts.exePath);
  } catch (err) {
    throw new PvrError("FAILED", `cannot find the executable ${opts.exePath}`, { cause: err });
  }
  if (isDenoBinary(exe)) {
    throw new PvrError("FAILED", `self-upgrade: ${opts.exePath} is deno, not a compiled pvr`);
  }
  const binaryPath = `pkg/bin/${
    imagePlatformDir(opts.os ?? Deno.build.os, opts.arch ?? Deno.build.arch)
  }/pvr${(opts.os ?? Deno.build.os) === "windows" ? ".exe" : ""}`;
  const cfg = await loadGlobalConfig(opts.configDir);
  const image = upgradeImage(opts.image, String(cfg.DistributionTag ?? ""));
  const parsed = parseImageRef(image);
  const ref: RegistryRef = {
    registry: parsed.registry,
    repository: parsed.repository,
    tag: parsed.tag,
    digest: parsed.digest,
  };
  const creds = await dockerConfigCredentials(ref.registry, opts.dockerEnv);
  const client = new RegistryClient({ username: creds?.username, password: creds?.password });
  let fetched = await client.getManifest(ref, ref.digest ?? ref.tag ?? "latest");
  if (isIndex(fetched.body)) {
    const entries = fetched.body.manifests;
    const pick = selectPlatform(entries, [{ os: "linux", architecture: "amd64" }]) ?? entries[0];
    if (pick === undefined) throw new PvrError("BAD_REFERENCE", `${image}: empty image index`);
    fetched = await client.getManifest(ref, pick.digest);
    if (isIndex(fetched.body)) {
      throw new PvrError("BAD_REFERENCE", `${image}: an index inside an index`);
    }
  }
  const manifest = fetched.body as ImageManifest;
  const version = manifest.config.digest;
  const cacheDir = `${opts.configDir}/cache`;
  const result: SelfUpgradeResult = {
    image,
    version,
    upToDate: false,
    exe,
    cacheDir,
    binaryPath,
  };
  const versionFile = `${opts.configDir}/installed_version`;
  const installed = await Deno.readTextFile(versionFile).then((t) => t.trim(), () => "");
  if (installed === version) return { ...result, upToDate: true };

  progress(`Starting update PVR using Docker latest tag (${version})`);
  const layers = await client.downloadBlobs(ref, manifest.layers, {
    cacheDir,
    onBlob: (i, r) =>
      progress(
        `Done with [${i + 1}/${manifest.layers.length}] ${
          r.cached ? "from cache" : "from repository"
        }`,
      ),
  });
  let binary: Uint8Array | null = null;
  const seen = new Set<string>();
  for (const l of layers) {
    const found = await findInLayer(l.path, l.descriptor, binaryPath, seen);
    if (found !== undefined) binary = found;
  }
  if (binary === null) {
    throw new PvrError(
      "FAILED",
      `${image} has no ${binaryPath} (it has: ${[...seen].sort().join(", ") || "nothing"})`,
    );
  }
  await replaceExecutable(exe, binary);
  await writeFileAtomic(versionFile, version, { mode: 0o644 });
  return { ...result, backup: `${exe}.bak` };
}

/**
 * Writes `bytes` beside `exe` (temp name, fsync, 0755), keeps `exe` as `<exe>.bak`
 * (hard link, or a copy), renames the new file over `exe` and fsyncs the directory.
 * At every moment `exe` is the old binary or the new one.
 */
async function replaceExecutable(exe: string, bytes: Uint8Array): Promise<void> {
  const dir = exe.slice(0, exe.lastIndexOf("/")) || "/";
  const base = exe.slice(exe.lastIndexOf("/") + 1);
  const tmp = `${dir}/${tempName(base)}`;
  const backup = `${exe}.bak`;
  let renamed = false;
  try {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o755 });
    } catch (err) {
      throw new PvrError(
        "FAILED",
        `cannot write into ${dir}: ${
          (err as Error).message
        } (run self-upgrade as the owner of ${exe})`,
        { cause: err },
      );
    }
    try {
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, 0o755);
    await Deno.remove(backup).catch(() => {});
    try {
      await Deno.link(exe, backup);
    } catch {
      await Deno.copyFile(exe, backup);
    }
    await Deno.rename(tmp, exe);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * The content of `want` in a layer (a regular file), `null` when the layer deletes it
 * (a `.wh.` whiteout), `undefined` when the layer does not touch it. Names under
 * `pkg/bin/` are collected in `seen` (for the error message).
 *
 * @throws {PvrError} `BAD_ARCHIVE` when the layer is not a valid tar
 */
async function findInLayer(
  path: string,
  d: Descriptor,
  want: string,
  seen: Set<string>,
): Promise<Uint8Array | null | undefined> {
  const tar = new TarReader(await openLayerTar(layerFile(path)));
  const slash = want.lastIndexOf("/");
  const whiteout = `${want.slice(0, slash)}/.wh.${want.slice(slash + 1)}`;
  let found: Uint8Array | null | undefined;
  try {
    for (let e = await tar.next(); e !== null; e = await tar.next()) {
      const name = e.name.replace(/^(\.\/)+/, "").replace(/^\/+/, "");
      const m = /^pkg\/bin\/([^/]+)\//.exec(name);
      if (m !== null) seen.add(m[1]);
      if (name === want && (e.type === "0" || e.type === "\0" || e.type === "7")) {
        found = await tar.readBody();
      } else if (name === whiteout) {
        found = null;
      }
    }
  } catch (err) {
    if (err instanceof TarFormatError) {
      throw new PvrError("BAD_ARCHIVE", `${d.digest}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    await tar.cancel();
  }
  return found;
}
