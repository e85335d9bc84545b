/**
 * `--http-proxy` and `-i/--insecure` on every HTTP path of the remote commands (API
 * calls, `.pvrremote`, object downloads and uploads), with real pvr processes: a
 * counting forward proxy on 127.0.0.1, the proxy variables, and an HTTPS stand-in
 * Pantahub with a self-signed certificate made by openssl.
 */

import assert from "node:assert/strict";
import { add, commit } from "../../mod.ts";
import { spawnPvr } from "../support/cli.ts";
import { type Hub, startHub } from "../support/hub/server.ts";
import { startProxy, type TestProxy } from "../support/proxy.ts";
import { BLOB_PATH, bytesOf, remoteFixture } from "../support/remote.ts";
import { makeRepo } from "../support/cli.ts";
import { envProxyFor, noProxyMatches } from "../../core/remote/transport.ts";
import { nodeFetch } from "../../core/remote/node_fetch.ts";

/** A path with the blob token and the query left out. */
function shape(method: string, path: string): string {
  return `${method} ${path.replace(/\?.*$/, "").replace(/^\/(local-)?s3\/.*/, "/$1s3/*")}`;
}

/** What the hub served, sorted. */
function hubPaths(hub: Hub): string[] {
  return hub.requests.map((r) => shape(r.method, r.path)).sort();
}

/** What the proxy forwarded, sorted. */
function proxiedPaths(proxy: TestProxy): string[] {
  return proxy.requests.map((r) => shape(r.method, new URL(r.url).pathname)).sort();
}

/** Adds a new file to the repository in `dir` and commits it. */
async function commitNewFile(dir: string, configDir: string, seed: number): Promise<void> {
  await Deno.writeFile(`${dir}/extra-${seed}.bin`, bytesOf(300_000, seed));
  await add({ dir, configDir });
  await commit({ dir, configDir, message: "extra" });
}

Deno.test("--http-proxy URL: get and post send every request through the proxy", async () => {
  await using f = await remoteFixture();
  await using proxy = await startProxy();
  f.hub.clearRequests();
  const env = f.env;
  const got = await spawnPvr(["--http-proxy", proxy.url, "get", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env,
  });
  assert.equal(got.code, 0, got.stderr);
  await commitNewFile(f.repo.dir, f.repo.configDir, 11);
  const posted = await spawnPvr(["--http-proxy", proxy.url, "post", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env,
  });
  assert.equal(posted.code, 0, posted.stderr);
  const paths = hubPaths(f.hub);
  assert.ok(paths.some((p) => p.startsWith("GET /trails/")), paths.join("\n"));
  assert.ok(paths.some((p) => /^GET \/(local-)?s3\//.test(p)), "a blob GET");
  assert.ok(paths.some((p) => /^PUT \/(local-)?s3\//.test(p)), "a blob PUT");
  assert.ok(paths.some((p) => /^POST \S*\/objects\/$/.test(p)), "an object registration");
  assert.deepEqual(proxiedPaths(proxy), paths);
});

Deno.test("HTTP_PROXY is honoured by default, and --http-proxy no bypasses it", async () => {
  await using f = await remoteFixture();
  await using proxy = await startProxy();
  f.hub.clearRequests();
  const env = { ...f.env, HTTP_PROXY: proxy.url, http_proxy: proxy.url };

  const direct = await spawnPvr(["--http-proxy", "no", "get", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env,
  });
  assert.equal(direct.code, 0, direct.stderr);
  await commitNewFile(f.repo.dir, f.repo.configDir, 12);
  const post = await spawnPvr(["--http-proxy", "no", "post", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env,
  });
  assert.equal(post.code, 0, post.stderr);
  assert.ok(f.hub.requests.some((r) => r.method === "PUT" && BLOB_PATH.test(r.path)));
  assert.equal(proxy.requests.length, 0, proxiedPaths(proxy).join("\n"));

  f.hub.clearRequests();
  const viaEnv = await spawnPvr(["remoteinfo", f.trailUrl], { cwd: f.repo.dir, env });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.ok(proxy.requests.length > 0, "the proxy variable was not used");
  assert.deepEqual(proxiedPaths(proxy), hubPaths(f.hub));
});

Deno.test("-i with --http-proxy: http requests go through the proxy, uploads keep Content-Length", async () => {
  await using f = await remoteFixture();
  await using proxy = await startProxy();
  f.hub.clearRequests();
  const got = await spawnPvr(["-i", "--http-proxy", proxy.url, "get", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env: f.env,
  });
  assert.equal(got.code, 0, got.stderr);
  await commitNewFile(f.repo.dir, f.repo.configDir, 13);
  const post = await spawnPvr(["-i", "--http-proxy", proxy.url, "post", "-q", f.trailUrl], {
    cwd: f.repo.dir,
    env: f.env,
  });
  assert.equal(post.code, 0, post.stderr);
  assert.deepEqual(proxiedPaths(proxy), hubPaths(f.hub));
  const puts = proxy.requests.filter((r) => r.method === "PUT");
  assert.equal(puts.length, 1);
  assert.equal(puts[0].contentLength, "300000");
});

Deno.test("a bad --http-proxy is a usage error", async () => {
  await using f = await remoteFixture();
  f.hub.clearRequests();
  const r = await spawnPvr(["--http-proxy", "ftp://x", "get", f.trailUrl], {
    cwd: f.repo.dir,
    env: f.env,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /--http-proxy/);
  assert.equal(f.hub.requests.length, 0);
});

/** A self-signed certificate for 127.0.0.1 made with openssl, or null without openssl. */
async function selfSigned(dir: string): Promise<{ cert: string; key: string } | null> {
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=pvr-test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        // Not a CA: so that the certificate itself can be trusted (DENO_CERT) as a server's.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

Deno.test("-i reaches an HTTPS hub with a self-signed certificate; without it, one clear line", async (t) => {
  await using repo = {
    ...(await makeRepo()),
    async [Symbol.asyncDispose]() {
      await this.cleanup();
    },
  };
  const tls = await selfSigned(repo.root);
  if (tls === null) {
    t.step({ name: "openssl is not installed", ignore: true, fn: () => {} });
    return;
  }
  await using hub = await startHub({ tls });
  assert.match(hub.url, /^https:\/\//);
  hub.addUser("alice", "secret");
  const device = hub.addDevice({ owner: "alice", nick: "box" });
  const blob = bytesOf(200_000, 21);
  const rec = await hub.addObject("alice", blob, { name: "bsp/kernel.img" });
  await hub.addTrail(device.id, {
    "#spec": "pantavisor-service-system@1",
    "bsp/kernel.img": rec.sha256sum,
  });
  const token = await hub.issueToken("alice");
  const env = { ...repo.env, PVR_ACCESSTOKEN: token };
  const trail = `${hub.url}/trails/${device.id}`;

  const refused = await spawnPvr(["get", "-q", trail], { cwd: repo.dir, env });
  assert.equal(refused.code, 7, refused.stderr);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.match(refused.stderr, /certificate/i);
  assert.match(refused.stderr, /-i\/--insecure/);
  assert.doesNotMatch(refused.stderr, /attempts/);
  assert.doesNotMatch(refused.stderr, /eyJ/);
  assert.equal(hub.requests.length, 0);

  const got = await spawnPvr(["-i", "get", "-q", trail], { cwd: repo.dir, env });
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(await Deno.readFile(`${repo.objectsDir}/${rec.sha256sum}`), blob);

  await commitNewFile(repo.dir, repo.configDir, 22);
  const posted = await spawnPvr(["--insecure", "post", "-q", trail], {
    cwd: repo.dir,
    env: { ...env, PVR_INSECURE: "" },
  });
  assert.equal(posted.code, 0, posted.stderr);
  const put = hub.requests.find((r) => r.method === "PUT" && BLOB_PATH.test(r.path));
  assert.equal(put?.request["content-length"], "300000");
  assert.equal(put?.status, 200);

  // Without -i, with the certificate trusted (DENO_CERT): the API calls go through
  // Deno's fetch and the upload through a TLS connection of its own (raw_put.ts).
  await commitNewFile(repo.dir, repo.configDir, 23);
  hub.clearRequests();
  const trusted = await spawnPvr(["post", "-q", trail], {
    cwd: repo.dir,
    env: { ...env, DENO_CERT: `${repo.root}/cert.pem` },
  });
  assert.equal(trusted.code, 0, trusted.stderr);
  const securePut = hub.requests.find((r) => r.method === "PUT" && BLOB_PATH.test(r.path));
  assert.equal(securePut?.request["content-length"], "300000");
  assert.equal(securePut?.status, 200);
  // ... and a download through a TLS connection of its own (raw_get.ts).
  await Deno.remove(`${repo.objectsDir}/${rec.sha256sum}`);
  hub.clearRequests();
  const secureGet = await spawnPvr(["get", "-q", `${trail}/steps/0`], {
    cwd: repo.dir,
    env: { ...env, DENO_CERT: `${repo.root}/cert.pem` },
  });
  assert.equal(secureGet.code, 0, secureGet.stderr);
  assert.deepEqual(await Deno.readFile(`${repo.objectsDir}/${rec.sha256sum}`), blob);
  const blobGet = hub.requests.find((r) => r.method === "GET" && BLOB_PATH.test(r.path));
  assert.equal(blobGet?.status, 200);

  // PVR_INSECURE does what -i does.
  const viaEnv = await spawnPvr(["remoteinfo", trail], {
    cwd: repo.dir,
    env: { ...env, PVR_INSECURE: "1" },
  });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
});

Deno.test("NO_PROXY and the proxy variables are read as curl reads them", () => {
  const u = new URL("http://hub.example.com:8080/x");
  assert.ok(noProxyMatches("*", u));
  assert.ok(noProxyMatches("other, example.com", u));
  assert.ok(noProxyMatches(".example.com", u));
  assert.ok(noProxyMatches("hub.example.com:8080", u));
  assert.ok(!noProxyMatches("hub.example.com:80", u));
  assert.ok(!noProxyMatches("ample.com", u));
  assert.ok(!noProxyMatches(undefined, u));
  const env = { HTTP_PROXY: "proxy:3128", https_proxy: "http://sp:1", NO_PROXY: "10.0.0.1" };
  assert.equal(envProxyFor(env, u)?.href, "http://proxy:3128/");
  assert.equal(envProxyFor(env, new URL("https://a/"))?.href, "http://sp:1/");
  assert.equal(envProxyFor(env, new URL("http://10.0.0.1/")), undefined);
});

Deno.test("nodeFetch streams big answers and bodies both ways, and stops on abort", async () => {
  const big = bytesOf(3 << 20, 31);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      if (req.method === "PUT") {
        const got = new Uint8Array(await req.arrayBuffer());
        return new Response(`${got.length} ${req.headers.get("content-length")}`);
      }
      if (new URL(req.url).pathname === "/hang") {
        return new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new Uint8Array(10));
            },
          }),
        );
      }
      if (new URL(req.url).pathname === "/moved") {
        return new Response(null, { status: 302, headers: { location: "/big" } });
      }
      return new Response(big);
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const f = nodeFetch();
  const res = await f(`${base}/moved`);
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), big);
  const manual = await f(`${base}/moved`, { redirect: "manual" });
  assert.equal(manual.status, 302);
  await manual.body?.cancel();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(big.subarray(0, 1 << 20));
      c.enqueue(big.subarray(1 << 20));
      c.close();
    },
  });
  const put = await f(`${base}/up`, {
    method: "PUT",
    body,
    headers: { "Content-Length": String(big.length) },
  });
  assert.equal(await put.text(), `${big.length} ${big.length}`);
  const ac = new AbortController();
  const hang = await f(`${base}/hang`, { signal: ac.signal });
  const reader = hang.body!.getReader();
  assert.equal((await reader.read()).value?.length, 10);
  ac.abort(new Error("stop"));
  await assert.rejects(reader.read(), /stop/);
});
