/**
 * A real image registry for tests: the Debian `docker-registry` on 127.0.0.1 (random
 * port, temp storage), multi-platform images written as OCI layouts and pushed with
 * `skopeo copy`, and `unsquashfs -lln` listings of the squashfs files built from them.
 *
 * {@link registryToolsMissing} names the tools that are not installed (tests skip
 * then: `apt-get install docker-registry skopeo squashfs-tools`).
 */

import { gzipSync } from "node:zlib";
import { sha256Bytes } from "../../core/store/hash.ts";
import { type LayerEntry, tarOf } from "./layer_tar.ts";

/** The path of an executable on the process's `PATH`, or null. */
export function which(name: string): string | null {
  for (const d of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${d}/${name}`).isFile) return `${d}/${name}`;
    } catch {
      // not here
    }
  }
  return null;
}

/** The missing tools (with their Debian packages); empty when all are there. */
export function registryToolsMissing(): string[] {
  return [
    which("docker-registry") ? null : "docker-registry (Debian package docker-registry)",
    which("skopeo") ? null : "skopeo (Debian package skopeo)",
    which("mksquashfs") && which("unsquashfs")
      ? null
      : "mksquashfs/unsquashfs (Debian package squashfs-tools)",
  ].filter((m) => m !== null);
}

/** Runs a command; its stdout, or an error with its stderr. */
export async function runTool(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { TZ: "UTC" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running registry. */
export interface TestRegistry {
  /** Temp dir (storage, layouts). */
  dir: string;
  port: number;
  /** `127.0.0.1:<port>`. */
  host: string;
  close(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on a free port with its storage under `opts.dir`
 * (default a new temp dir, removed by `close()`; a given dir is left in place).
 */
export async function startRegistry(opts: { dir?: string } = {}): Promise<TestRegistry> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "pvr-registry-" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/registry.yml`,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/storage`,
      "http:",
      `  addr: 127.0.0.1:${port}`,
      "",
    ].join("\n"),
  );
  const child = new Deno.Command(which("docker-registry")!, {
    args: ["serve", `${dir}/registry.yml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0;; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v2/`);
      await r.body?.cancel();
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (i > 100) throw new Error("docker-registry did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir,
    port,
    host: `127.0.0.1:${port}`,
    async close() {
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      await child.status;
      if (opts.dir === undefined) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const enc = new TextEncoder();

interface Blob {
  digest: string;
  size: number;
  bytes: Uint8Array;
}

function blob(bytes: Uint8Array): Blob {
  return { digest: `sha256:${sha256Bytes(bytes)}`, size: bytes.length, bytes };
}

/** One platform of a test image. */
export interface TestPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A test image: per platform, its layers (gzip) and its config. */
export interface TestImage {
  platforms: TestPlatform[];
  layers(p: TestPlatform): LayerEntry[][];
  config(p: TestPlatform): Record<string, unknown>;
}

/** What {@link pushImage} pushed: the index digest and each platform's manifest digest. */
export interface PushedImage {
  index: string;
  manifests: Record<string, string>;
}

/**
 * Writes `image` as a multi-platform OCI layout and pushes it to
 * `<registry>/<repo>:<tag>` with `skopeo copy --all --preserve-digests`.
 */
export async function pushImage(
  reg: TestRegistry,
  repo: string,
  tag: string,
  image: TestImage,
): Promise<PushedImage> {
  const dir = await Deno.makeTempDir({ dir: reg.dir, prefix: "layout-" });
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = async (b: Blob) => {
    await Deno.writeFile(`${dir}/blobs/sha256/${b.digest.slice(7)}`, b.bytes);
    return { digest: b.digest, size: b.size };
  };
  const manifests: Record<string, string> = {};
  const entries = [];
  for (const p of image.platforms) {
    const layers = [];
    for (const entries of image.layers(p)) {
      layers.push({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        ...await put(blob(gzipSync(tarOf(entries)))),
      });
    }
    const cfg = await put(blob(enc.encode(JSON.stringify({
      ...p,
      config: image.config(p),
      rootfs: { type: "layers", diff_ids: [] },
    }))));
    const m = await put(blob(enc.encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...cfg },
      layers,
    }))));
    const key = [p.os, p.architecture, p.variant].filter((x) => x).join("/");
    manifests[key] = m.digest;
    entries.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, platform: p });
  }
  const index = await put(blob(enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: entries,
  }))));
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.index.v1+json",
        ...index,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  await runTool(which("skopeo")!, [
    "--insecure-policy",
    "copy",
    "--all",
    "--preserve-digests",
    "--dest-tls-verify=false",
    `oci:${dir}:${tag}`,
    `docker://${reg.host}/${repo}:${tag}`,
  ]);
  return { index: index.digest, manifests };
}

/** One line of `unsquashfs -lln`. */
export interface Listed {
  mode: string;
  owner: string;
  size: string;
  time: string;
  link?: string;
}

/** The entries of a squashfs (`unsquashfs -lln`), by path (`/` for the root). */
export async function listSquashfs(path: string): Promise<Map<string, Listed>> {
  const text = await runTool(which("unsquashfs")!, ["-lln", path]);
  const out = new Map<string, Listed>();
  for (const line of text.split("\n")) {
    const m = /^(\S{10}) (\d+\/\d+)\s+(.+?) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(.*)$/
      .exec(line);
    if (m === null) continue;
    const [name, link] = m[5].split(" -> ");
    out.set(name === "" ? "/" : name.slice(1), {
      mode: m[1],
      owner: m[2],
      size: m[3].trim(),
      time: m[4],
      link,
    });
  }
  return out;
}

/** A token-auth front of a {@link TestRegistry}. */
export interface TokenFront {
  port: number;
  /** `127.0.0.1:<port>`: image references through the front. */
  host: string;
  /** `Authorization` headers the front saw on `/token`, in order. */
  tokenAuths: (string | null)[];
  close(): Promise<void>;
}

/**
 * A Docker-style token-auth front of `reg` on 127.0.0.1: `/v2/*` answers 401 with a
 * `WWW-Authenticate: Bearer realm=…/token,service=…,scope=…` challenge unless it gets
 * the token, which `/token` gives for Basic `user:pass` only; the rest is passed on.
 */
export function startTokenFront(reg: TestRegistry, user: string, pass: string): TokenFront {
  const token = "tok-" + crypto.randomUUID();
  const tokenAuths: (string | null)[] = [];
  const ac = new AbortController();
  let port = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        tokenAuths.push(req.headers.get("Authorization"));
        if (req.headers.get("Authorization") !== "Basic " + btoa(`${user}:${pass}`)) {
          return new Response("no", { status: 401 });
        }
        return Response.json({ token });
      }
      if (req.headers.get("Authorization") !== `Bearer ${token}`) {
        const scope = /^\/v2\/(.+)\/(manifests|blobs)\//.exec(url.pathname)?.[1] ?? "";
        return new Response("unauthorized", {
          status: 401,
          headers: {
            "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token",` +
              `service="test",scope="repository:${scope}:pull"`,
          },
        });
      }
      const headers = new Headers(req.headers);
      headers.delete("Authorization");
      const upstream = await fetch(`http://${reg.host}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
      });
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    },
  );
  port = server.addr.port;
  return {
    port,
    host: `127.0.0.1:${port}`,
    tokenAuths,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}
