/**
 * Docker images for tests without a Docker engine: `docker save` tarballs built from
 * layer entries, and a stand-in Docker Engine API server on a unix socket that serves
 * them (`GET /images/{name}/json`, `GET /images/{name}/get`, `GET /_ping`), with the
 * Engine API's status codes and `{"message": …}` error bodies.
 */

import { sha256Bytes } from "../../core/store/hash.ts";
import { type LayerEntry, tarOf } from "./layer_tar.ts";

const enc = new TextEncoder();

/** A test image for {@link dockerSave}. */
export interface SavedImageSpec {
  /** `RepoTags`, e.g. `["demo:1"]`. */
  tags: string[];
  /** `RepoDigests`, e.g. `["demo@sha256:…"]` (default none). */
  repoDigests?: string[];
  /** Layers, lowest first. */
  layers: LayerEntry[][];
  /** The image config's `config` (Cmd, Env, …). */
  config: Record<string, unknown>;
  /** Default linux/amd64. */
  os?: string;
  architecture?: string;
  variant?: string;
}

/** A `docker save` tarball and what it holds. */
export interface SavedImage {
  /** The tarball bytes (plain tar). */
  tar: Uint8Array;
  /** The image id: `sha256:<hex of the config JSON>`. */
  id: string;
  /** The config JSON. */
  configJson: Record<string, unknown>;
  /** The tags. */
  tags: string[];
  /** The repo digests. */
  repoDigests: string[];
  /** `sha256:<hex>` of each layer tar. */
  diffIds: string[];
}

/** Builds a `docker save` tarball: manifest.json, the config and `<hex>/layer.tar` files. */
export function dockerSave(spec: SavedImageSpec): SavedImage {
  const layerTars = spec.layers.map((entries) => tarOf(entries));
  const diffIds = layerTars.map((t) => `sha256:${sha256Bytes(t)}`);
  const configJson: Record<string, unknown> = {
    architecture: spec.architecture ?? "amd64",
    os: spec.os ?? "linux",
    ...(spec.variant ? { variant: spec.variant } : {}),
    config: spec.config,
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  const cfgBytes = enc.encode(JSON.stringify(configJson));
  const cfgHex = sha256Bytes(cfgBytes);
  const entries: LayerEntry[] = [];
  const layerNames: string[] = [];
  layerTars.forEach((t, i) => {
    const dir = diffIds[i].slice(7);
    entries.push({ name: `${dir}/` });
    entries.push({ name: `${dir}/layer.tar`, data: t });
    layerNames.push(`${dir}/layer.tar`);
  });
  entries.push({ name: `${cfgHex}.json`, data: cfgBytes });
  entries.push({
    name: "manifest.json",
    data: JSON.stringify([{ Config: `${cfgHex}.json`, RepoTags: spec.tags, Layers: layerNames }]),
  });
  const repos: Record<string, Record<string, string>> = {};
  for (const t of spec.tags) {
    const i = t.lastIndexOf(":");
    (repos[t.slice(0, i)] ??= {})[t.slice(i + 1)] = diffIds[diffIds.length - 1]?.slice(7) ?? "";
  }
  entries.push({ name: "repositories", data: JSON.stringify(repos) });
  return {
    tar: tarOf(entries),
    id: `sha256:${cfgHex}`,
    configJson,
    tags: spec.tags,
    repoDigests: spec.repoDigests ?? [],
    diffIds,
  };
}

/** The full container config of an inspect answer (Docker's Go field names). */
function inspectConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  return {
    Hostname: "",
    Domainname: "",
    User: "",
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: "",
    Volumes: null,
    WorkingDir: "",
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
    ...cfg,
  };
}

/** A reference as the daemon matches it: `docker.io/library/` dropped, `:latest` added. */
function normalizeRef(ref: string): string {
  let r = ref;
  for (const p of ["docker.io/library/", "index.docker.io/library/", "docker.io/"]) {
    if (r.startsWith(p)) {
      r = r.slice(p.length);
      break;
    }
  }
  if (r.includes("@")) return r;
  const last = r.slice(r.lastIndexOf("/") + 1);
  return last.includes(":") ? r : `${r}:latest`;
}

/** A running stand-in Docker Engine API. */
export interface TestDockerEngine extends AsyncDisposable {
  /** The unix socket. */
  socket: string;
  /** `unix://<socket>`, for `DOCKER_HOST`. */
  dockerHost: string;
  /** `METHOD path status` of every request, in order. */
  requests: string[];
  /** Stops the server and removes the socket. */
  close(): Promise<void>;
}

/**
 * Serves `images` as a Docker daemon would on a unix socket in `dir`: image inspect
 * and `docker save` by tag, repo digest, id or id prefix (an optional `/v1.NN` API
 * version prefix is accepted); 404 `{"message": "No such image: …"}` for an image it
 * does not have, 404 `page not found` for other paths, 405 for other methods.
 */
export async function startDockerEngine(
  images: SavedImage[],
  dir: string,
): Promise<TestDockerEngine> {
  const socket = `${dir}/docker.sock`;
  await Deno.remove(socket).catch(() => {});
  const requests: string[] = [];
  const find = (name: string): SavedImage | undefined => {
    const hex = name.startsWith("sha256:") ? name.slice(7) : name;
    if (/^[0-9a-f]{12,64}$/.test(hex)) {
      const hit = images.find((i) => i.id.slice(7).startsWith(hex));
      if (hit !== undefined || name.startsWith("sha256:")) return hit;
    }
    const want = normalizeRef(name);
    return images.find((i) =>
      i.tags.some((t) => normalizeRef(t) === want) ||
      i.repoDigests.some((d) => normalizeRef(d) === want)
    );
  };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  const ac = new AbortController();
  const server = Deno.serve({ path: socket, signal: ac.signal, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, "");
    const answer = (() => {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return json(405, { message: `${req.method} not allowed` });
      }
      if (path === "/_ping") return new Response("OK", { headers: { "Api-Version": "1.43" } });
      const m = /^\/images\/(.+)\/(json|get)$/.exec(path);
      if (m === null) return json(404, { message: "page not found" });
      const name = decodeURIComponent(m[1]);
      const img = find(name);
      if (img === undefined) {
        return json(404, { message: `No such image: ${normalizeRef(name)}` });
      }
      if (m[2] === "get") {
        return new Response(img.tar.slice(), { headers: { "content-type": "application/x-tar" } });
      }
      const cfg = img.configJson as {
        os: string;
        architecture: string;
        variant?: string;
        config: Record<string, unknown>;
      };
      return json(200, {
        Id: img.id,
        RepoTags: img.tags,
        RepoDigests: img.repoDigests,
        Parent: "",
        Comment: "",
        Created: "2024-01-02T03:04:05Z",
        DockerVersion: "24.0.7",
        Author: "",
        Config: inspectConfig(cfg.config),
        Architecture: cfg.architecture,
        ...(cfg.variant ? { Variant: cfg.variant } : {}),
        Os: cfg.os,
        Size: img.tar.length,
        RootFS: { Type: "layers", Layers: img.diffIds },
        Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
      });
    })();
    requests.push(`${req.method} ${url.pathname} ${answer.status}`);
    return answer;
  });
  const close = async () => {
    ac.abort();
    await server.finished;
    await Deno.remove(socket).catch(() => {});
  };
  return {
    socket,
    dockerHost: `unix://${socket}`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}
