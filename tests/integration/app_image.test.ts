/**
 * Images → root.squashfs, end to end against a real registry: the Debian
 * `docker-registry` on 127.0.0.1 (random port, temp storage), images built here as OCI
 * layouts and pushed with `skopeo copy`, a token server in front of the registry for
 * Bearer auth, squashfs built with `mksquashfs` and checked with `unsquashfs -lln`.
 *
 * Skipped (with the reason) when docker-registry, skopeo or squashfs-tools are missing:
 * `apt-get install docker-registry skopeo squashfs-tools`.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { PvrError } from "../../core/errors.ts";
import { sha256Bytes } from "../../core/store/hash.ts";
import { tarOf } from "../support/layer_tar.ts";
import { buildRootfsFromImage, resolveImage } from "../../core/app/image.ts";
import { HttpClient } from "../../core/remote/http.ts";
import {
  freePort,
  listSquashfs,
  registryToolsMissing,
  runTool,
  startRegistry,
  type TestRegistry,
  which,
} from "../support/registry.ts";

// ---------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------

const SKOPEO = which("skopeo");
const UNSQUASHFS = which("unsquashfs");
const missing = registryToolsMissing();
const ignore = missing.length > 0;
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(`app_image.test.ts skipped: missing ${missing.join(", ")}`);
}
const SKIP_NOTE = ignore ? ` [SKIPPED: missing ${missing.join(", ")}]` : "";

const run = runTool;

// ---------------------------------------------------------------------------------
// Building images (OCI layouts)
// ---------------------------------------------------------------------------------

const enc = new TextEncoder();

/** `security.capability` for cap_net_raw+ep (VFS_CAP_REVISION_2). */
const CAP_NET_RAW = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

const LONG = `opt/${"d".repeat(60)}/${"e".repeat(60)}/a-file-with-a-long-name.txt`;

/** Layer 0 (gzip): the base. */
const LAYER0 = gzipSync(
  tarOf([
    { name: "etc/" },
    { name: "etc/app/" },
    { name: "etc/app/old.conf", data: "old" },
    { name: "etc/gone.txt", data: "gone" },
    { name: "bin/" },
    { name: "bin/tool", mode: 0o755, data: "tool v1" },
    { name: "usr/" },
    { name: "usr/lib/" },
    { name: "usr/lib/libx.so", data: "lib" },
    { name: "usr/bin/" },
    { name: "usr/bin/qemu-arm-static", mode: 0o755, data: "qemu" },
    { name: "data/", uid: 101, gid: 101, mode: 0o750 },
    { name: "data/lower.txt", data: "lower" },
    { name: "var/" },
    { name: "var/run", type: "symlink", link: "../run" },
  ]),
  { level: 6 },
);

/** Layer 1 (plain tar): whiteouts (the opaque marker AFTER the layer's own entry). */
const LAYER1 = tarOf([
  { name: "etc/app/new.conf", data: "new" },
  { name: "etc/app/.wh..wh..opq" },
  { name: "etc/.wh.gone.txt" },
  { name: "bin/su", mode: 0o4755, data: "setuid" },
  { name: "bin/ping", mode: 0o755, data: "ping", xattrs: { "security.capability": CAP_NET_RAW } },
  { name: "bin/su-link", type: "hardlink", link: "bin/su" },
  { name: "lib", type: "symlink", link: "usr/lib" },
  { name: "home/" },
  { name: "home/user/", uid: 101, gid: 102, mode: 0o700 },
  { name: "home/user/file", uid: 101, gid: 102, mode: 0o640, data: "mine" },
  { name: "dev/" },
  { name: "dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
  { name: LONG, data: "long" },
  { name: ".wh.data" },
]);

/** The per-architecture layer (gzip). */
function archLayer(arch: string): Uint8Array {
  return gzipSync(tarOf([
    { name: "etc/" },
    { name: "etc/arch", data: arch },
    { name: "bin/" },
    { name: "bin/tool", mode: 0o755, data: `tool v2 ${arch}` },
  ]));
}

interface Blob {
  digest: string;
  size: number;
  bytes: Uint8Array;
}

function blob(bytes: Uint8Array): Blob {
  return { digest: `sha256:${sha256Bytes(bytes)}`, size: bytes.length, bytes };
}

function jsonBlob(v: unknown): Blob {
  return blob(enc.encode(JSON.stringify(v)));
}

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64", variant: "v8" },
  { os: "linux", architecture: "arm", variant: "v7" },
];

/** Writes a multi-arch OCI layout to `dir` (tag `multi`). Returns the manifests. */
async function writeLayout(dir: string): Promise<Record<string, Blob>> {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = async (b: Blob) => {
    await Deno.writeFile(`${dir}/blobs/sha256/${b.digest.slice(7)}`, b.bytes);
    return b;
  };
  const l0 = await put(blob(LAYER0));
  const l1 = await put(blob(LAYER1));
  const manifests: Record<string, Blob> = {};
  const entries = [];
  for (const p of PLATFORMS) {
    const la = await put(blob(archLayer(p.architecture)));
    const cfg = await put(jsonBlob({
      ...p,
      config: { Cmd: ["/bin/tool"], Env: [`ARCH=${p.architecture}`], WorkingDir: "/" },
      rootfs: { type: "layers", diff_ids: [] },
    }));
    const layerDesc = (b: Blob, gz: boolean) => ({
      mediaType: `application/vnd.oci.image.layer.v1.tar${gz ? "+gzip" : ""}`,
      digest: b.digest,
      size: b.size,
    });
    const m = await put(jsonBlob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...pick(cfg) },
      layers: [layerDesc(l0, true), layerDesc(l1, false), layerDesc(la, true)],
    }));
    manifests[p.architecture] = m;
    entries.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...pick(m),
      platform: p,
    });
  }
  const index = await put(jsonBlob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: entries,
  }));
  await Deno.writeTextFile(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.index.v1+json",
        ...pick(index),
        annotations: { "org.opencontainers.image.ref.name": "multi" },
      }],
    }),
  );
  manifests.index = index;
  manifests.l0 = l0;
  return manifests;
}

function pick(b: Blob) {
  return { digest: b.digest, size: b.size };
}

// ---------------------------------------------------------------------------------
// Registry + token server
// ---------------------------------------------------------------------------------

interface Env {
  dir: string;
  port: number;
  manifests: Record<string, Blob>;
  registry: TestRegistry;
  /** Token-protected front of the registry. */
  authPort: number;
  authServer: Deno.HttpServer;
  log: { path: string; range: string | null; auth: string | null }[];
  /** Blob paths whose next answer breaks off after 300 bytes. */
  breakOnce: Set<string>;
  close(): Promise<void>;
}

const USER = "alice";
const PASS = "s3cret-pass";
const TOKEN = "tok-" + crypto.randomUUID();

async function startEnv(): Promise<Env> {
  const registry = await startRegistry();
  const { dir, port } = registry;
  const base = `http://127.0.0.1:${port}`;
  const manifests = await writeLayout(`${dir}/layout`);
  await run(SKOPEO!, [
    "--insecure-policy",
    "copy",
    "--all",
    "--preserve-digests",
    "--dest-tls-verify=false",
    `oci:${dir}/layout:multi`,
    `docker://127.0.0.1:${port}/test/multi:multi`,
  ]);
  // The token-protected front: /token (Basic alice:s3cret-pass) and /v2/* (Bearer).
  const log: Env["log"] = [];
  const breakOnce = new Set<string>();
  const authPort = freePort();
  const authServer = Deno.serve(
    { hostname: "127.0.0.1", port: authPort, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        const want = "Basic " + btoa(`${USER}:${PASS}`);
        if (req.headers.get("Authorization") !== want) return new Response("no", { status: 401 });
        if (!url.searchParams.get("scope")?.startsWith("repository:test/multi:pull")) {
          return new Response("bad scope", { status: 400 });
        }
        return Response.json({ access_token: TOKEN });
      }
      log.push({
        path: url.pathname,
        range: req.headers.get("Range"),
        auth: req.headers.get("Authorization"),
      });
      if (req.headers.get("Authorization") !== `Bearer ${TOKEN}`) {
        return new Response("unauthorized", {
          status: 401,
          headers: {
            "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${authPort}/token",` +
              `service="test",scope="repository:test/multi:pull"`,
          },
        });
      }
      const headers = new Headers(req.headers);
      headers.delete("Authorization");
      const upstream = await fetch(`${base}${url.pathname}${url.search}`, {
        method: req.method,
        headers,
      });
      if (breakOnce.delete(url.pathname) && upstream.body !== null) {
        const reader = upstream.body.getReader();
        let sent = 0;
        const cut = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (sent >= 300) {
              await reader.cancel();
              c.error(new Error("(expected) the test cuts this blob download on purpose"));
              return;
            }
            const { done, value } = await reader.read();
            if (done) return c.close();
            const part = value.subarray(0, 300 - sent);
            sent += part.length;
            c.enqueue(part);
          },
        });
        return new Response(cut, { status: upstream.status, headers: upstream.headers });
      }
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
    },
  );
  return {
    dir,
    port,
    manifests,
    registry,
    authPort,
    authServer,
    log,
    breakOnce,
    async close() {
      await authServer.shutdown();
      await registry.close();
    },
  };
}

// ---------------------------------------------------------------------------------
// Checking squashfs images
// ---------------------------------------------------------------------------------

function client(): HttpClient {
  return new HttpClient({ timeoutMs: 10_000, baseDelayMs: 10, maxAttempts: 2 });
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

Deno.test({
  name: `images from a real registry become reproducible root.squashfs files${SKIP_NOTE}`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const env = await startEnv();
    try {
      const configDir = `${env.dir}/pvr`;
      const from = `127.0.0.1:${env.port}/test/multi:multi`;
      const messages: string[] = [];

      await t.step("resolve picks the wanted platform from the index", async () => {
        const img = await resolveImage({
          from,
          platforms: ["linux/arm64/v8", "linux/amd64"],
          configDir,
          http: client(),
          onMessage: (l) => messages.push(l),
        });
        assert.equal(img.source, "remote");
        assert.equal(img.platform, "linux/arm64/v8");
        assert.equal(img.digest, env.manifests.arm64.digest);
        assert.equal(img.dockerDigest, `127.0.0.1:${env.port}/test/multi@${img.digest}`);
        assert.deepEqual(img.config.Env, ["ARCH=arm64"]);
        assert.equal(img.layers.length, 3);

        const arm = await resolveImage({
          from,
          platforms: ["linux/arm/v7"],
          configDir,
          http: client(),
        });
        assert.equal(arm.digest, env.manifests.arm.digest);
        await assert.rejects(
          resolveImage({ from, platforms: ["linux/s390x"], configDir, http: client() }),
          (e: unknown) => e instanceof PvrError && e.code === "BAD_REFERENCE",
        );
        await assert.rejects(
          resolveImage({ from, platforms: ["arm64"], configDir, http: client() }),
          (e: unknown) => e instanceof PvrError && e.code === "USAGE",
        );
      });

      const out1 = `${env.dir}/one.squashfs`;
      let first = "";
      await t.step("the squashfs has the flattened tree with owners, modes and links", async () => {
        const img = await resolveImage({
          from,
          platforms: ["linux/arm64/v8"],
          configDir,
          http: client(),
        });
        const res = await buildRootfsFromImage(img, out1, { onMessage: (l) => messages.push(l) });
        first = res.digest;
        const ls = await listSquashfs(out1);
        const get = (p: string) => {
          const v = ls.get(p);
          assert.ok(v, `${p} is in the squashfs`);
          return v;
        };
        // Whiteouts and the opaque directory.
        assert.equal(ls.has("etc/gone.txt"), false);
        assert.equal(ls.has("etc/app/old.conf"), false);
        assert.equal(get("etc/app/new.conf").size, "3");
        assert.equal(ls.has("data"), false);
        assert.equal(ls.has("data/lower.txt"), false);
        // Layer order: the last layer wins.
        assert.equal(get("etc/arch").size, String("arm64".length));
        assert.equal(get("bin/tool").size, String("tool v2 arm64".length));
        assert.equal(get("bin/tool").mode, "-rwxr-xr-x");
        // setuid, owners, modes.
        assert.equal(get("bin/su").mode, "-rwsr-xr-x");
        assert.equal(get("bin/su-link").mode, "-rwsr-xr-x");
        assert.equal(get("home/user").mode, "drwx------");
        assert.equal(get("home/user").owner, "101/102");
        assert.equal(get("home/user/file").owner, "101/102");
        assert.equal(get("home/user/file").mode, "-rw-r-----");
        // Symlinks, device node, long name.
        assert.equal(get("lib").link, "usr/lib");
        assert.equal(get("var/run").link, "../run");
        assert.equal(get("dev/null").mode, "crw-rw-rw-");
        assert.match(get("dev/null").size, /^1,\s*3$/);
        assert.equal(get(LONG).size, "4");
        // Times: the image's, the root's the newest (not the build time), added dirs 0.
        assert.equal(get("bin/su").time, "2023-11-14 22:13");
        assert.equal(get("/").time, "2023-11-14 22:13");
        assert.equal(get("proc").time, "1970-01-01 00:00");
        // Stripped qemu, essential dirs.
        assert.equal(ls.has("usr/bin/qemu-arm-static"), false);
        for (const d of ["proc", "sys", "dev", "tmp", "var/tmp", "run"]) {
          assert.equal(get(d).mode, "drwxr-xr-x", d);
        }
        // The file capability of bin/ping is the image's one extended attribute.
        assert.match(await run(UNSQUASHFS!, ["-s", out1]), /Number of xattr ids 1\b/);
        // Hardlink: one inode.
        const x = `${env.dir}/x`;
        await run(UNSQUASHFS!, ["-no-xattrs", "-d", x, out1, "bin/su", "bin/su-link"]);
        const a = await Deno.stat(`${x}/bin/su`);
        const b = await Deno.stat(`${x}/bin/su-link`);
        assert.equal(a.ino, b.ino);
        assert.ok(messages.some((m) => m.startsWith("Generating squashfs file: ")));
      });

      await t.step("a rebuild is byte-identical and uses the cache", async () => {
        const img = await resolveImage({
          from,
          platforms: ["linux/arm64/v8"],
          configDir,
          http: client(),
        });
        const cached: boolean[] = [];
        const paths = await img.fetchLayers((_i, c) => cached.push(c));
        assert.deepEqual(cached, [true, true, true]);
        assert.equal(paths[0], `${configDir}/cache/${img.layers[0].digest}`);
        const res = await buildRootfsFromImage(img, `${env.dir}/two.squashfs`);
        assert.equal(res.digest, first);
        const same = await Deno.readFile(out1);
        assert.deepEqual(await Deno.readFile(`${env.dir}/two.squashfs`), same);
      });

      await t.step("a damaged cached layer is downloaded again", async () => {
        const img = await resolveImage({
          from,
          platforms: ["linux/arm64/v8"],
          configDir,
          http: client(),
        });
        const cachedPath = `${configDir}/cache/${env.manifests.l0.digest}`;
        const bytes = await Deno.readFile(cachedPath);
        bytes[100] ^= 0xff;
        await Deno.writeFile(cachedPath, bytes);
        const cached: boolean[] = [];
        await img.fetchLayers((i, c) => (cached[i] = c));
        assert.deepEqual(cached, [false, true, true]);
        assert.equal(
          `sha256:${sha256Bytes(await Deno.readFile(cachedPath))}`,
          env.manifests.l0.digest,
        );
        const res = await buildRootfsFromImage(img, `${env.dir}/three.squashfs`);
        assert.equal(res.digest, first);
      });

      await t.step(
        "token auth: Basic to the token server, Bearer to the registry, resume with Range",
        async () => {
          const protectedFrom = `127.0.0.1:${env.authPort}/test/multi:multi`;
          const cfg2 = `${env.dir}/pvr2`;
          await assert.rejects(
            resolveImage({
              from: protectedFrom,
              platforms: ["linux/amd64"],
              source: ["remote"],
              configDir: cfg2,
              http: client(),
            }),
            (e: unknown) =>
              e instanceof PvrError && e.code === "BAD_REFERENCE" &&
              (e.cause as PvrError).code === "AUTH",
          );
          const img = await resolveImage({
            from: protectedFrom,
            platforms: ["linux/amd64"],
            username: USER,
            password: PASS,
            configDir: cfg2,
            http: client(),
          });
          assert.equal(img.digest, env.manifests.amd64.digest);
          // A partial download of layer 0 is resumed.
          await Deno.mkdir(`${cfg2}/cache`, { recursive: true });
          await Deno.writeFile(
            `${cfg2}/cache/${env.manifests.l0.digest}.partial`,
            LAYER0.subarray(0, 200),
          );
          const res = await buildRootfsFromImage(img, `${env.dir}/amd64.squashfs`);
          assert.match(res.digest, /^sha256:[0-9a-f]{64}$/);
          const ranged = env.log.filter((l) => l.range !== null);
          assert.deepEqual(ranged.map((l) => [l.path, l.range]), [
            [`/v2/test/multi/blobs/${env.manifests.l0.digest}`, "bytes=200-"],
          ]);
          assert.ok(env.log.some((l) => l.auth === `Bearer ${TOKEN}`));
          const ls = await listSquashfs(`${env.dir}/amd64.squashfs`);
          assert.equal(ls.get("etc/arch")?.size, "5");
        },
      );

      await t.step("a download that breaks off goes on with Range", async () => {
        const img = await resolveImage({
          from: `127.0.0.1:${env.authPort}/test/multi:multi`,
          platforms: ["linux/arm/v7"],
          username: USER,
          password: PASS,
          configDir: `${env.dir}/pvr3`,
          http: client(),
        });
        env.log.length = 0;
        const blobPath = `/v2/test/multi/blobs/${env.manifests.l0.digest}`;
        env.breakOnce.add(blobPath);
        const paths = await img.fetchLayers();
        assert.deepEqual(await Deno.readFile(paths[0]), new Uint8Array(LAYER0));
        assert.deepEqual(
          env.log.filter((l) => l.path === blobPath).map((l) => l.range),
          [null, "bytes=300-"],
        );
      });

      await t.step("the OCI layout on disk is an image source too", async () => {
        const img = await resolveImage({
          from: `oci:${env.dir}/layout:multi`,
          platforms: ["linux/arm64"],
          configDir,
        });
        assert.equal(img.kind, "oci-layout");
        assert.equal(img.digest, env.manifests.arm64.digest);
        const res = await buildRootfsFromImage(img, `${env.dir}/layout.squashfs`);
        assert.equal(res.digest, first);
      });

      await t.step("without mksquashfs: MISSING_TOOL naming squashfs-tools", async () => {
        const img = await resolveImage({
          from,
          platforms: ["linux/arm64/v8"],
          configDir,
          http: client(),
        });
        await assert.rejects(
          buildRootfsFromImage(img, `${env.dir}/none.squashfs`, { pathEnv: "/nonexistent" }),
          (e: unknown) =>
            e instanceof PvrError && e.code === "MISSING_TOOL" &&
            e.message.includes("squashfs-tools"),
        );
      });
    } finally {
      await env.close();
    }
  },
});
