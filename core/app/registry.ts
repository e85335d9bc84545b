/**
 * A Docker Registry HTTP API v2 client (distribution spec) over pvr's {@link HttpClient}:
 * anonymous, Basic and Bearer-token authentication, manifests (Docker schema 2, Docker
 * manifest lists, OCI manifests and OCI indexes), platform selection, the image config,
 * and blobs downloaded into a verified cache.
 *
 * Differences from the Go pvr (genuinetools/reg, spec §9.4, §13.3 items 19, 26):
 *
 * * platform selection compares OS, architecture AND variant, and the user's list of
 *   platforms is a priority order (the Go tool walked the manifest list and took the
 *   first entry matching any platform, ignoring the OS);
 * * a platform that matches nothing is an error listing what the image has (the Go tool
 *   silently fell back to the "default" manifest, whatever its architecture);
 * * manifests, the config and every layer are checked against their digests (the Go
 *   tool checked layer sizes only);
 * * layers download 4 at a time, resume from a partial file with `Range`, and a cached
 *   layer is used only when its SHA-256 matches;
 * * transport errors, 429 and 5xx are retried (the Go client had a 30-minute timeout and
 *   no retry).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { registryHost } from "./image_ref.ts";
import { HttpClient, redactUrl } from "../remote/http.ts";
import { sha256Bytes, sha256File } from "../store/hash.ts";

/** Media types of manifests. */
export const MediaTypes = {
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
} as const;

const ACCEPT = [
  MediaTypes.ociIndex,
  MediaTypes.dockerList,
  MediaTypes.ociManifest,
  MediaTypes.dockerManifest,
].join(", ");

/** Where an image lives in a registry. */
export interface RegistryRef {
  /** Registry host (and port), e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path, e.g. `library/nginx`. */
  repository: string;
  /** Tag (default `latest` when there is no digest). */
  tag?: string;
  /** A pinned manifest digest `sha256:<hex>`; wins over the tag. */
  digest?: string;
}

/** A content descriptor (OCI / Docker). */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** A platform as in an image index entry. */
export interface Platform {
  os?: string;
  architecture?: string;
  variant?: string;
}

/** An image manifest (schema 2 / OCI). */
export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** A manifest list / image index. */
export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

/** A fetched manifest: its bytes, digest and parsed body. */
export interface FetchedManifest {
  /** `sha256:<hex>` of the bytes. */
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  body: ImageManifest | ImageIndex;
}

/** True when `body` is an index / manifest list. */
export function isIndex(body: ImageManifest | ImageIndex): body is ImageIndex {
  return Array.isArray((body as ImageIndex).manifests);
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** Checks that `digest` is a `sha256:<64 hex>` digest (the only algorithm handled). */
export function checkDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) {
    throw new PvrError(
      "BAD_REFERENCE",
      `unsupported or malformed digest ${JSON.stringify(digest)}`,
    );
  }
  return digest;
}

// ---------------------------------------------------------------------------------
// Platforms
// ---------------------------------------------------------------------------------

/** A wanted platform: `os/arch[/variant]`. */
export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * Parses `os/arch[/variant]` (e.g. `linux/arm/v7`).
 *
 * @throws {PvrError} `USAGE` for anything else (the Go pvr panicked without a `/`)
 */
export function parsePlatform(text: string): WantedPlatform {
  const parts = text.trim().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new PvrError(
      "USAGE",
      `bad platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/arm/v7`,
    );
  }
  return { os: parts[0], architecture: parts[1], variant: parts[2] };
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os ?? "", p.architecture ?? "", ...(p.variant ? [p.variant] : [])].join("/");
}

/** The variant an architecture means when none is given (containerd's normalisation). */
function normVariant(arch: string | undefined, variant: string | undefined): string | undefined {
  if (variant !== undefined && variant !== "") return variant;
  if (arch === "arm64") return "v8";
  return undefined;
}

/** Whether an index entry's platform satisfies a wanted platform. */
export function platformMatches(have: Platform | undefined, want: WantedPlatform): boolean {
  if (have === undefined) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant === undefined) return true;
  return normVariant(have.architecture, have.variant) ===
    normVariant(want.architecture, want.variant);
}

/**
 * Picks the entry for the first wanted platform (in the user's order) that the index
 * has. Returns undefined when none matches.
 */
export function selectPlatform(
  entries: readonly Descriptor[],
  wanted: readonly WantedPlatform[],
): Descriptor | undefined {
  for (const w of wanted) {
    const hit = entries.find((e) => platformMatches(e.platform, w));
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/** The platform of the machine pvr runs on, as a default. */
export function hostPlatform(): WantedPlatform {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "amd64";
  return { os: "linux", architecture: arch };
}

// ---------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values). */
export function parseChallenge(header: string): AuthChallenge {
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(header);
  if (m === null) return { scheme: "", params: {} };
  const params: Record<string, string> = {};
  const re = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = m[2];
  re.lastIndex = 0;
  for (;;) {
    const at = re.lastIndex;
    if (at >= rest.length) break;
    const p = re.exec(rest);
    if (p === null) break;
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

// ---------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** The HTTP client (default a new {@link HttpClient} with a 60 s read timeout). */
  http?: HttpClient;
  /** Registry user name (`-u`), used with {@link password}. */
  username?: string;
  /** Registry password (`-p`). */
  password?: string;
  /**
   * Use plain HTTP for these registries (`true`: all). `localhost`, `127.0.0.1` and
   * `[::1]` always use HTTP.
   */
  insecure?: boolean | readonly string[];
}

/** The base URL of a registry's API. */
export function registryBaseUrl(
  registry: string,
  insecure: boolean | readonly string[] = false,
): string {
  const host = registryHost(registry);
  const name = host.replace(/:\d+$/, "");
  const plain = name === "localhost" || name === "127.0.0.1" || name === "[::1]" ||
    insecure === true || (Array.isArray(insecure) && insecure.includes(registry));
  return `${plain ? "http" : "https"}://${host}`;
}

/** A blob download, for {@link RegistryClient.downloadBlobs}. */
export interface BlobDownload {
  descriptor: Descriptor;
  /** The verified file in the cache. */
  path: string;
  /** True when it was already in the cache. */
  cached: boolean;
}

/** Options of {@link RegistryClient.downloadBlobs}. */
export interface DownloadBlobsOptions {
  /** The cache directory (`<config-dir>/cache`). */
  cacheDir: string;
  /** Downloads at once (default 4). */
  concurrency?: number;
  /** Called when a blob is ready (`i` is its index in the list). */
  onBlob?: (i: number, result: BlobDownload) => void;
}

/**
 * A registry client for one repository's reads. Tokens are kept per registry and
 * scope for the client's lifetime.
 */
export class RegistryClient {
  readonly #http: HttpClient;
  readonly #username?: string;
  readonly #password?: string;
  readonly #insecure: boolean | readonly string[];
  /** `Authorization` header values by registry base URL. */
  readonly #auth = new Map<string, string>();

  constructor(opts: RegistryClientOptions = {}) {
    this.#http = opts.http ?? new HttpClient({ timeoutMs: 60_000 });
    this.#username = opts.username;
    this.#password = opts.password;
    this.#insecure = opts.insecure ?? false;
    if (opts.password) this.#http.addSecret(opts.password);
  }

  #url(ref: RegistryRef, kind: "manifests" | "blobs", reference: string): string {
    return `${registryBaseUrl(ref.registry, this.#insecure)}/v2/${ref.repository}/${kind}/${
      encodeURIComponent(reference).replace(/%3A/gi, ":")
    }`;
  }

  #basic(): string | undefined {
    if (!this.#username || this.#password === undefined) return undefined;
    const raw = new TextEncoder().encode(`${this.#username}:${this.#password}`);
    const b64 = btoa(String.fromCharCode(...raw));
    this.#http.addSecret(b64);
    return `Basic ${b64}`;
  }

  /** Answers a 401 challenge: returns the new `Authorization` value, or throws `AUTH`. */
  async #authenticate(ref: RegistryRef, res: Response, shown: string): Promise<string> {
    const header = res.headers.get("WWW-Authenticate") ?? "";
    const ch = parseChallenge(header);
    if (ch.scheme === "basic") {
      const basic = this.#basic();
      if (basic === undefined) {
        throw new PvrError("AUTH", `${shown}: the registry needs a user name and password (-u/-p)`);
      }
      return basic;
    }
    if (ch.scheme !== "bearer" || !ch.params.realm) {
      throw new PvrError("AUTH", `${shown}: 401 without a usable WWW-Authenticate challenge`);
    }
    let realm: URL;
    try {
      realm = new URL(ch.params.realm);
    } catch {
      throw new PvrError("AUTH", `${shown}: bad token realm in the challenge`);
    }
    if (ch.params.service) realm.searchParams.set("service", ch.params.service);
    realm.searchParams.set("scope", ch.params.scope ?? `repository:${ref.repository}:pull`);
    const headers: Record<string, string> = { Accept: "application/json" };
    const basic = this.#basic();
    if (basic !== undefined) headers.Authorization = basic;
    const tr = await this.#http.request({
      method: "GET",
      url: realm.href,
      headers,
      buffer: true,
    });
    if (tr.status === 401 || tr.status === 403) {
      throw new PvrError(
        "AUTH",
        `the registry's token server refused ${
          basic ? "the credentials" : "an anonymous token"
        } (${tr.status}) for ${ref.registry}/${ref.repository}`,
      );
    }
    if (!tr.ok) {
      throw new PvrError("REMOTE", `token request to ${redactUrl(realm.href)}: ${tr.status}`);
    }
    let body: { token?: unknown; access_token?: unknown };
    try {
      body = await tr.json();
    } catch {
      throw new PvrError("REMOTE", `token request to ${redactUrl(realm.href)}: not JSON`);
    }
    const token = typeof body.token === "string" && body.token !== ""
      ? body.token
      : typeof body.access_token === "string"
      ? body.access_token
      : "";
    if (token === "") {
      throw new PvrError("REMOTE", `token request to ${redactUrl(realm.href)}: no token`);
    }
    this.#http.addSecret(token);
    return `Bearer ${token}`;
  }

  /** A GET with the registry's authentication (one challenge answered at most). */
  async #get(
    ref: RegistryRef,
    url: string,
    headers: Record<string, string>,
    buffer: boolean,
  ): Promise<Response> {
    const base = registryBaseUrl(ref.registry, this.#insecure);
    const key = `${base} ${ref.repository}`;
    const shown = `GET ${redactUrl(url)}`;
    for (let round = 0;; round++) {
      const h = new Headers(headers);
      const auth = this.#auth.get(key);
      if (auth !== undefined) h.set("Authorization", auth);
      const res = await this.#http.request({ method: "GET", url, headers: h, buffer });
      if (res.status !== 401) return res;
      await res.body?.cancel().catch(() => {});
      if (round > 0) {
        throw new PvrError("AUTH", `${shown}: the registry refused the credentials (401)`);
      }
      this.#auth.set(key, await this.#authenticate(ref, res, shown));
    }
  }

  /**
   * Fetches a manifest or index by tag or digest, verifying it against the digest when
   * fetched by digest.
   *
   * @throws {PvrError} `BAD_REFERENCE` when it does not exist (404); `AUTH`, `REMOTE`;
   *   `OBJECT_CORRUPT` when the bytes do not match the digest asked for
   */
  async getManifest(ref: RegistryRef, reference: string): Promise<FetchedManifest> {
    const url = this.#url(ref, "manifests", reference);
    const res = await this.#get(ref, url, { Accept: ACCEPT }, true);
    const name = `${ref.registry}/${ref.repository}:${reference}`;
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new PvrError("BAD_REFERENCE", `manifest not found: ${name}`);
    }
    if (!res.ok) {
      throw new PvrError("REMOTE", `GET ${redactUrl(url)}: ${res.status} ${res.statusText}`);
    }
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = `sha256:${sha256Bytes(bytes)}`;
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new PvrError(
        "OBJECT_CORRUPT",
        `manifest ${name} does not match its digest (got ${digest})`,
      );
    }
    let body: ImageManifest | ImageIndex;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new PvrError("REMOTE", `manifest ${name} is not JSON`);
    }
    const mediaType = (body as { mediaType?: string }).mediaType ??
      res.headers.get("Content-Type")?.split(";")[0] ?? "";
    checkManifestShape(body, name);
    return { digest, mediaType, bytes, body };
  }

  /**
   * Fetches a small blob (a config) into memory and verifies its digest.
   *
   * @throws {PvrError} `BAD_REFERENCE` (404), `OBJECT_CORRUPT`, `AUTH`, `REMOTE`
   */
  async getBlob(ref: RegistryRef, digest: string): Promise<Uint8Array> {
    checkDigest(digest);
    const url = this.#url(ref, "blobs", digest);
    const res = await this.#get(ref, url, {}, true);
    if (res.status === 404) {
      throw new PvrError("BAD_REFERENCE", `blob ${digest} not found in ${ref.repository}`);
    }
    if (!res.ok) throw new PvrError("REMOTE", `GET ${redactUrl(url)}: ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (`sha256:${sha256Bytes(bytes)}` !== digest) {
      throw new PvrError("OBJECT_CORRUPT", `blob ${digest} does not match its digest`);
    }
    return bytes;
  }

  /**
   * Makes each blob available as a verified file `<cacheDir>/<digest>`: a cached file
   * is used when its SHA-256 matches (a damaged one is replaced), otherwise it is
   * downloaded to `<cacheDir>/<digest>.partial` (resumed with `Range` when a partial
   * file is there) and renamed once its size and SHA-256 match. `concurrency` at once.
   *
   * Needs `--allow-net`, `--allow-read` and `--allow-write` for the cache.
   *
   * @throws {PvrError} `OBJECT_CORRUPT` when a download does not match its digest twice;
   *   `REMOTE`, `AUTH`
   */
  async downloadBlobs(
    ref: RegistryRef,
    blobs: readonly Descriptor[],
    opts: DownloadBlobsOptions,
  ): Promise<BlobDownload[]> {
    await Deno.mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
    const results: BlobDownload[] = new Array(blobs.length);
    let next = 0;
    const worker = async () => {
      while (next < blobs.length) {
        const i = next++;
        results[i] = await this.#downloadOne(ref, blobs[i], opts.cacheDir);
        opts.onBlob?.(i, results[i]);
      }
    };
    const n = Math.max(1, Math.min(opts.concurrency ?? 4, blobs.length));
    await Promise.all(Array.from({ length: n }, worker));
    return results;
  }

  async #downloadOne(ref: RegistryRef, d: Descriptor, cacheDir: string): Promise<BlobDownload> {
    const digest = checkDigest(d.digest);
    const path = `${cacheDir}/${digest}`;
    if (await verifiedFile(path, digest, d.size)) return { descriptor: d, path, cached: true };
    await Deno.remove(path).catch(() => {});
    const partial = `${path}.partial`;
    for (let attempt = 0;; attempt++) {
      let resumed = false;
      for (let broken = 0;; broken++) {
        try {
          resumed = (await this.#fetchTo(ref, d, partial)) || resumed;
          break;
        } catch (err) {
          // A body that broke off (HttpClient retries only until the headers arrive):
          // go on from what arrived, with Range, a few times.
          if (!(err instanceof BodyBroken) || broken >= 3) {
            throw err instanceof BodyBroken ? err.cause : err;
          }
          resumed = true;
        }
      }
      const { sha, size } = await sha256File(partial);
      if (`sha256:${sha}` === digest && (d.size === undefined || size === d.size)) {
        const f = await Deno.open(partial, { read: true, write: true });
        try {
          await f.sync();
        } finally {
          f.close();
        }
        await Deno.rename(partial, path);
        return { descriptor: d, path, cached: false };
      }
      await Deno.remove(partial).catch(() => {});
      if (attempt > 0 || !resumed) {
        throw new PvrError(
          "OBJECT_CORRUPT",
          `layer ${digest} from ${ref.registry}/${ref.repository} does not match its digest`,
        );
      }
    }
  }

  /** Downloads into `partial`, resuming it when it has bytes. Returns whether it resumed. */
  async #fetchTo(ref: RegistryRef, d: Descriptor, partial: string): Promise<boolean> {
    let have = 0;
    try {
      have = (await Deno.stat(partial)).size;
    } catch {
      have = 0;
    }
    if (d.size !== undefined && have > d.size) {
      await Deno.remove(partial).catch(() => {});
      have = 0;
    }
    const url = this.#url(ref, "blobs", d.digest);
    const headers: Record<string, string> = {};
    if (have > 0) headers.Range = `bytes=${have}-`;
    const res = await this.#get(ref, url, headers, false);
    if (res.status === 416 && have > 0) {
      // Already complete (or the server disagrees): let the digest check decide.
      await res.body?.cancel().catch(() => {});
      return true;
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new PvrError("BAD_REFERENCE", `blob ${d.digest} not found in ${ref.repository}`);
    }
    if (!res.ok || res.body === null) {
      await res.body?.cancel().catch(() => {});
      throw new PvrError("REMOTE", `GET ${redactUrl(url)}: ${res.status} ${res.statusText}`);
    }
    let append = false;
    if (res.status === 206) {
      const m = /^bytes (\d+)-/.exec(res.headers.get("Content-Range") ?? "");
      if (m === null || Number(m[1]) !== have) {
        await res.body.cancel().catch(() => {});
        throw new PvrError("REMOTE", `GET ${redactUrl(url)}: a range that was not asked for`);
      }
      append = true;
    }
    const file = await Deno.open(partial, {
      write: true,
      create: true,
      append,
      truncate: !append,
      mode: 0o600,
    });
    try {
      const reader = res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          throw new BodyBroken(err);
        }
        if (chunk.done) break;
        const value = chunk.value;
        let off = 0;
        while (off < value.length) off += await file.write(value.subarray(off));
      }
    } finally {
      file.close();
    }
    return append;
  }
}

/** A download whose body broke off after some bytes arrived (resumable). */
class BodyBroken extends Error {
  constructor(cause: unknown) {
    super("download broke off", { cause });
  }
}

/** True when `path` exists and has the given digest (and size, when known). */
export async function verifiedFile(
  path: string,
  digest: string,
  size?: number,
): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    if (!st.isFile || (size !== undefined && st.size !== size)) return false;
    const { sha } = await sha256File(path);
    return `sha256:${sha}` === digest;
  } catch {
    return false;
  }
}

function checkManifestShape(body: unknown, name: string): void {
  const b = body as Partial<ImageManifest & ImageIndex> | null;
  if (b === null || typeof b !== "object" || b.schemaVersion !== 2) {
    throw new PvrError("BAD_REFERENCE", `${name}: not a schema 2 / OCI manifest`);
  }
  if (Array.isArray(b.manifests)) return;
  if (
    typeof b.config !== "object" || b.config === null || typeof b.config.digest !== "string" ||
    !Array.isArray(b.layers)
  ) {
    throw new PvrError("BAD_REFERENCE", `${name}: manifest without config or layers`);
  }
}

/** The environment {@link dockerConfigCredentials} reads. */
export interface DockerCredentialEnv {
  HOME?: string;
  DOCKER_CONFIG?: string;
  /** Where `docker-credential-<name>` helpers are looked for (default the process's). */
  PATH?: string;
}

interface DockerCliConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** The keys a registry may have in `auths`/`credHelpers`, most specific first. */
function configKeys(registry: string): string[] {
  const hub = registry === "docker.io" || registry === "index.docker.io" ||
    registry === "registry-1.docker.io";
  return hub
    ? ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
    : [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`];
}

/** Looks an executable up on a `PATH` value. */
async function onPath(name: string, pathEnv: string): Promise<string | null> {
  for (const d of pathEnv.split(":")) {
    if (d === "") continue;
    try {
      const st = await Deno.stat(`${d}/${name}`);
      if (st.isFile && st.mode !== null && (st.mode & 0o111) !== 0) return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin (the Docker
 * credential-helper protocol) and returns the `Username`/`Secret` it prints as JSON;
 * undefined when it has no credentials for that server.
 *
 * @throws {PvrError} `MISSING_TOOL` when the helper is not on `PATH`; `AUTH` when it fails
 */
export async function credentialHelperGet(
  helper: string,
  serverUrl: string,
  pathEnv: string = Deno.env.get("PATH") ?? "",
): Promise<{ username: string; password: string } | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) {
    throw new PvrError("AUTH", `invalid Docker credential helper name ${JSON.stringify(helper)}`);
  }
  const name = `docker-credential-${helper}`;
  const bin = await onPath(name, pathEnv);
  if (bin === null) {
    throw new PvrError(
      "MISSING_TOOL",
      `the Docker credential helper ${name} is not on PATH (named in the Docker config)`,
      { hint: `install ${name}, or remove "${helper}" from ~/.docker/config.json` },
    );
  }
  const child = new Deno.Command(bin, {
    args: ["get"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PATH: pathEnv },
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(serverUrl)).catch(() => {});
  await w.close().catch(() => {});
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const text = `${stdout} ${new TextDecoder().decode(out.stderr)}`.trim();
    if (/credentials not found/i.test(text)) return undefined;
    throw new PvrError("AUTH", `${name} get failed (exit ${out.code}): ${text.split("\n")[0]}`);
  }
  let j: { Username?: unknown; Secret?: unknown };
  try {
    j = JSON.parse(stdout);
  } catch {
    throw new PvrError("AUTH", `${name} get printed no JSON`);
  }
  if (typeof j?.Username !== "string" || typeof j?.Secret !== "string") {
    throw new PvrError("AUTH", `${name} get printed no Username/Secret`);
  }
  if (j.Secret === "") return undefined;
  return { username: j.Username, password: j.Secret };
}

/**
 * Credentials for `registry` from the Docker CLI config (`$DOCKER_CONFIG/config.json`,
 * default `~/.docker/config.json`), as the Docker CLI looks them up:
 *
 * 1. `credHelpers[<registry>]`: `docker-credential-<name> get`;
 * 2. `credsStore`: `docker-credential-<name> get` (when it has nothing, go on);
 * 3. the `auths` entry: `auth` (base64 `user:pass`) or `username`/`password`.
 *
 * Docker Hub is looked up under `https://index.docker.io/v1/`. Returns undefined when
 * there is nothing usable (no file, no entry, a helper without credentials for it).
 *
 * Needs `--allow-env` (HOME, DOCKER_CONFIG, PATH), `--allow-read`, `--allow-run` for
 * helpers.
 *
 * @throws {PvrError} `MISSING_TOOL` naming a helper that is not on `PATH`; `AUTH` when a
 *   helper fails
 */
export async function dockerConfigCredentials(
  registry: string,
  env: DockerCredentialEnv = {
    HOME: Deno.env.get("HOME"),
    DOCKER_CONFIG: Deno.env.get("DOCKER_CONFIG"),
    PATH: Deno.env.get("PATH"),
  },
): Promise<{ username: string; password: string } | undefined> {
  const dir = env.DOCKER_CONFIG || (env.HOME ? `${env.HOME}/.docker` : undefined);
  if (dir === undefined) return undefined;
  let cfg: DockerCliConfig;
  try {
    cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    if (cfg === null || typeof cfg !== "object") return undefined;
  } catch {
    return undefined;
  }
  const keys = configKeys(registry);
  const pathEnv = env.PATH ?? Deno.env.get("PATH") ?? "";
  const serverUrl = keys[0];
  for (const k of keys) {
    const helper = cfg.credHelpers?.[k];
    if (typeof helper === "string" && helper !== "") {
      return await credentialHelperGet(helper, serverUrl, pathEnv);
    }
  }
  if (typeof cfg.credsStore === "string" && cfg.credsStore !== "") {
    const got = await credentialHelperGet(cfg.credsStore, serverUrl, pathEnv);
    if (got !== undefined) return got;
  }
  for (const k of keys) {
    const a = cfg.auths?.[k];
    if (a === undefined || a === null) continue;
    if (typeof a.auth === "string" && a.auth !== "") {
      let text: string;
      try {
        text = new TextDecoder().decode(Uint8Array.from(atob(a.auth), (c) => c.charCodeAt(0)));
      } catch {
        continue;
      }
      const colon = text.indexOf(":");
      if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
    }
    if (typeof a.username === "string" && typeof a.password === "string") {
      return { username: a.username, password: a.password };
    }
  }
  return undefined;
}
