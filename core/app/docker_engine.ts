/**
 * The local Docker daemon as an image source (`--source local`, spec pvr-reference
 * §9.4 "Local Docker daemon"), over the Docker Engine API on its unix socket.
 *
 * * The socket: `DOCKER_HOST` when it is `unix://<path>`, else `/var/run/docker.sock`.
 *   Other `DOCKER_HOST` schemes (`tcp://`, `ssh://`) are refused with a clear error.
 * * `GET /images/{name}/json` (image inspect): 404 means the daemon does not have it;
 *   the digest is `RepoDigests[0]`, else the image `Id`; the config is the inspect's
 *   `Config` (Docker's Go field names, as in an image config).
 * * `GET /images/{id}/get` (`docker save`): written to
 *   `<config-dir>/cache/docker-save-<id hex>.tar` (temp file, then renamed), read as a
 *   `docker save` tarball (see `image.ts`); its config must hash to the image id, so a
 *   cached or transferred tarball is verified before use. A cached one is reused
 *   (`Layers Found in Cache`).
 *
 * @module
 */

import { PvrError } from "../errors.ts";

/** The default socket of the Docker daemon. */
export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * The socket path named by a `DOCKER_HOST` value (unset or empty: the default).
 *
 * @throws {PvrError} `USAGE` for a `DOCKER_HOST` that is not `unix://…`
 */
export function dockerSocketPath(dockerHost: string | undefined): string {
  if (dockerHost === undefined || dockerHost === "") return DEFAULT_DOCKER_SOCKET;
  if (dockerHost.startsWith("unix://")) {
    const path = dockerHost.slice("unix://".length);
    if (path === "") throw new PvrError("USAGE", `DOCKER_HOST=${dockerHost} names no socket`);
    return path;
  }
  throw new PvrError(
    "USAGE",
    `DOCKER_HOST=${dockerHost}: only unix:// sockets are supported for the local source`,
  );
}

/** What image inspect tells (the fields pvr uses). */
export interface EngineImage {
  /** `sha256:<hex>` of the image config. */
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** The container config (Cmd, Entrypoint, Env, …). */
  Config: Record<string, unknown>;
  Os?: string;
  Architecture?: string;
  Variant?: string;
  /** Layer diff ids. */
  RootFS?: { Type?: string; Layers?: string[] };
}

/** The path of an image name in an Engine API URL (`/`, `:` and `@` kept). */
function namePath(name: string): string {
  return name.split("/").map((seg) =>
    encodeURIComponent(seg).replace(/%3A/gi, ":").replace(/%40/g, "@")
  ).join("/");
}

/** A client of the Docker Engine API on a unix socket. */
export class DockerEngine {
  readonly socket: string;
  #client: Deno.HttpClient | undefined;

  constructor(socket: string) {
    this.socket = socket;
  }

  /** True when the socket exists. */
  async available(): Promise<boolean> {
    try {
      const st = await Deno.stat(this.socket);
      return st.isSocket === true;
    } catch {
      return false;
    }
  }

  async #get(path: string): Promise<Response> {
    this.#client ??= Deno.createHttpClient({ proxy: { transport: "unix", path: this.socket } });
    try {
      return await fetch(`http://docker${path}`, { client: this.#client });
    } catch (err) {
      throw new PvrError(
        "REMOTE",
        `the Docker daemon at ${this.socket} cannot be reached: ${String(err)}`,
        { cause: err },
      );
    }
  }

  async #fail(res: Response, what: string): Promise<never> {
    const text = await res.text().catch(() => "");
    let msg = text.trim();
    try {
      const j = JSON.parse(text);
      if (typeof j?.message === "string") msg = j.message;
    } catch {
      // not JSON
    }
    throw new PvrError("REMOTE", `Docker daemon: ${what}: HTTP ${res.status}: ${msg}`);
  }

  /**
   * Image inspect; null when the daemon does not have the image (404).
   *
   * @throws {PvrError} `REMOTE` for another answer or no daemon; `BAD_ARCHIVE` for a
   *   body that is not an image
   */
  async inspect(name: string): Promise<EngineImage | null> {
    const res = await this.#get(`/images/${namePath(name)}/json`);
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return null;
    }
    if (res.status !== 200) return await this.#fail(res, `inspect ${name}`);
    const j = await res.json().catch(() => null);
    if (
      j === null || typeof j !== "object" || typeof j.Id !== "string" ||
      !/^sha256:[0-9a-f]{64}$/.test(j.Id)
    ) {
      throw new PvrError("BAD_ARCHIVE", `Docker daemon: inspect ${name}: not an image`);
    }
    return {
      Id: j.Id,
      RepoTags: Array.isArray(j.RepoTags) ? j.RepoTags : [],
      RepoDigests: Array.isArray(j.RepoDigests) ? j.RepoDigests : [],
      Config: j.Config !== null && typeof j.Config === "object" ? j.Config : {},
      Os: typeof j.Os === "string" ? j.Os : undefined,
      Architecture: typeof j.Architecture === "string" ? j.Architecture : undefined,
      Variant: typeof j.Variant === "string" ? j.Variant : undefined,
      RootFS: j.RootFS,
    };
  }

  /**
   * `docker save` of one image into `path` (a temp file next to it, then renamed).
   *
   * @throws {PvrError} `REMOTE`
   */
  async save(name: string, path: string): Promise<void> {
    const res = await this.#get(`/images/${namePath(name)}/get`);
    if (res.status !== 200) return await this.#fail(res, `export ${name}`);
    const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.partial`;
    try {
      const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      try {
        if (res.body !== null) {
          for await (const chunk of res.body) {
            let off = 0;
            while (off < chunk.length) off += await f.write(chunk.subarray(off));
          }
        }
      } finally {
        f.close();
      }
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      if (err instanceof PvrError) throw err;
      throw new PvrError("REMOTE", `Docker daemon: export ${name} broke off: ${String(err)}`, {
        cause: err,
      });
    }
  }

  /** Releases the connection pool. */
  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}
