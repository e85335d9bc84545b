/**
 * `--source local`: images of the local Docker daemon, through the Engine API on a
 * unix socket. No Docker engine runs here: a stand-in (tests/support/docker_engine.ts)
 * serves `docker save` images built by the test, with the Engine API's paths, status
 * codes and error bodies. squashfs files are built with mksquashfs.
 *
 * Skipped (with the reason) without squashfs-tools.
 */

import assert from "node:assert/strict";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { toPlain } from "../../core/model/json_value.ts";
import { DockerEngine } from "../../core/app/docker_engine.ts";
import { snapshotTree, type TestRepo, withRepo } from "../support/cli.ts";
import { listSquashfs, which } from "../support/registry.ts";
import { dockerSave, type SavedImage, startDockerEngine } from "../support/docker_engine.ts";

const ignore = !(which("mksquashfs") && which("unsquashfs"));
const SKIP_NOTE = ignore ? " [SKIPPED: missing squashfs-tools]" : "";
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
const LOCK_FILES = { skip: [".pvr/lock", ".pvr/tmp"] };

function image(tags: string[], repoDigests: string[] = [], text = "v1"): SavedImage {
  return dockerSave({
    tags,
    repoDigests,
    architecture: "arm",
    variant: "v7",
    layers: [
      [{ name: "etc/" }, { name: "etc/os-release", data: "ID=local\n" }, {
        name: "bin/",
      }, { name: "bin/app", mode: 0o755, data: `app ${text}` }],
      [{ name: "srv/" }, { name: "srv/index.html", data: "<p>hi</p>" }, {
        name: "etc/.wh.os-release",
      }],
    ],
    config: { Cmd: ["/bin/app"], Env: ["A=1"], WorkingDir: "/srv" },
  });
}

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

async function srcOf(r: TestRepo, app: string) {
  return parseSrcJson(await Deno.readFile(`${r.dir}/${app}/src.json`));
}

Deno.test({
  name: `app add --source local takes the image from the Docker daemon${SKIP_NOTE}`,
  ignore,
  async fn(t) {
    await withRepo(async (r) => {
      const repoDigest = `demo@sha256:${"cd".repeat(32)}`;
      const demo = image(["demo:1"], [repoDigest]);
      const bare = image(["bare:2"], [], "bare");
      const served = [demo, bare];
      await using engine = await startDockerEngine(served, r.root);
      const env = { ...r.env, PATH, DOCKER_HOST: engine.dockerHost };
      const run = (args: string[], extra: Record<string, string> = {}) =>
        r.run(args, { env: { ...env, ...extra } });

      await t.step("inspect + save: src.json, root.squashfs, templates", async () => {
        const res = await run(["app", "add", "web", "--from", "demo:1", "--source", "local"]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stderr, /Repo exists in local docker/);
        const src = await srcOf(r, "web");
        assert.equal(src.docker_name, "demo");
        assert.equal(src.docker_tag, "1");
        assert.equal(src.docker_digest, repoDigest);
        assert.equal(src.docker_source, "local");
        const cfg = plain(toPlain(src.docker_config!)) as Record<string, unknown>;
        assert.deepEqual(cfg.Cmd, ["/bin/app"]);
        assert.equal(cfg.WorkingDir, "/srv");
        assert.equal(cfg.Hostname, "", "the inspect Config, with Docker's field names");
        const ls = await listSquashfs(`${r.dir}/web/root.squashfs`);
        assert.equal(ls.get("bin/app")?.size, "6");
        assert.equal(ls.get("srv/index.html")?.size, "9");
        assert.equal(ls.has("etc/os-release"), false, "the whiteout applied");
        assert.match(
          await Deno.readTextFile(`${r.dir}/web/lxc.container.conf`),
          /lxc\.init\.cmd = \/bin\/app/,
        );
        assert.deepEqual(engine.requests, [
          "GET /images/demo:1/json 200",
          `GET /images/${demo.id}/get 200`,
        ]);
      });

      await t.step("the same image from its docker save tarball: the same bytes", async () => {
        await Deno.writeFile(`${r.root}/demo.tar`, demo.tar);
        const res = await run([
          "app",
          "add",
          "fromtar",
          "--from",
          `docker-archive:${r.root}/demo.tar`,
        ]);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(
          await Deno.readFile(`${r.dir}/fromtar/root.squashfs`),
          await Deno.readFile(`${r.dir}/web/root.squashfs`),
        );
      });

      await t.step("a second app: the export is found in the cache", async () => {
        engine.requests.length = 0;
        await Deno.remove(`${r.configDir}/cache/squashfs`, { recursive: true });
        const res = await run(["app", "add", "web2", "--from", "demo:1", "--source", "local"]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stderr, /Layers Found in Cache/);
        assert.deepEqual(engine.requests, ["GET /images/demo:1/json 200"]);
      });

      await t.step("a damaged cached export is exported again", async () => {
        const cached = `${r.configDir}/cache/docker-save-${demo.id.slice(7)}.tar`;
        await Deno.writeTextFile(cached, "not a tar");
        await Deno.remove(`${r.configDir}/cache/squashfs`, { recursive: true });
        engine.requests.length = 0;
        const res = await run(["app", "add", "web3", "--from", "demo:1", "--source", "local"]);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(engine.requests.map((l) => l.split(" ")[1]), [
          "/images/demo:1/json",
          `/images/${demo.id}/get`,
        ]);
      });

      await t.step("app install rebuilds from the pinned repo digest", async () => {
        await Deno.remove(`${r.dir}/web/root.squashfs`);
        engine.requests.length = 0;
        const res = await run(["app", "install", "web"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(engine.requests[0], `GET /images/${repoDigest}/json 200`);
        assert.deepEqual(
          await Deno.readFile(`${r.dir}/web/root.squashfs`),
          await Deno.readFile(`${r.dir}/fromtar/root.squashfs`),
        );
      });

      await t.step("app update follows the daemon's new image for the tag", async () => {
        const digest2 = `demo@sha256:${"ef".repeat(32)}`;
        served[0] = image(["demo:1"], [digest2], "v2");
        const res = await run(["app", "update", "web"]);
        assert.equal(res.code, 0, res.stderr);
        const src = await srcOf(r, "web");
        assert.equal(src.docker_digest, digest2);
        const ls = await listSquashfs(`${r.dir}/web/root.squashfs`);
        assert.equal(ls.get("bin/app")?.size, "6");
        assert.notDeepEqual(
          await Deno.readFile(`${r.dir}/web/root.squashfs`),
          await Deno.readFile(`${r.dir}/fromtar/root.squashfs`),
        );
        assert.equal(
          await Deno.readTextFile(`${r.dir}/web/root.squashfs.docker-digest`),
          digest2,
        );
        served[0] = demo;
      });

      await t.step("no RepoDigests: docker_digest is the image id", async () => {
        const res = await run(["app", "add", "b", "--from", "bare:2", "--source", "local"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal((await srcOf(r, "b")).docker_digest, bare.id);
        // Installed again from the id, with the default sources: no registry is asked.
        await Deno.remove(`${r.dir}/b/root.squashfs`);
        engine.requests.length = 0;
        const inst = await run(["app", "install", "b", "--source", "remote,local"]);
        assert.equal(inst.code, 0, inst.stderr);
        assert.doesNotMatch(inst.stderr, /remote source had an error/);
        assert.equal(engine.requests[0], `GET /images/${bare.id}/json 200`);
      });

      await t.step("a platform the image does not have is refused", async () => {
        const before = await snapshotTree(r.dir, LOCK_FILES);
        const res = await run([
          "app",
          "add",
          "x",
          "--from",
          "demo:1",
          "--source",
          "local",
          "--platform",
          "linux/amd64",
        ]);
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /linux\/arm\/v7 image, not linux\/amd64/);
        assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
      });

      await t.step("an image the daemon does not have: not found, nothing written", async () => {
        const before = await snapshotTree(r.dir, LOCK_FILES);
        const res = await run(["app", "add", "x", "--from", "nope:3", "--source", "local"]);
        assert.equal(res.code, 7);
        assert.match(res.stderr, /Repo not exists in local docker/);
        assert.match(res.stderr, /Image not found in source:local/);
        assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
      });

      await t.step("no socket: a clear error, nothing written", async () => {
        const before = await snapshotTree(r.dir, LOCK_FILES);
        const res = await run(["app", "add", "x", "--from", "demo:1", "--source", "local"], {
          DOCKER_HOST: `unix://${r.root}/missing.sock`,
        });
        assert.equal(res.code, 7);
        assert.match(res.stderr, /no Docker daemon: .*missing\.sock is not a socket/);
        assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
      });

      await t.step("a DOCKER_HOST that is not unix:// is a usage error", async () => {
        const res = await run(["app", "add", "x", "--from", "demo:1", "--source", "local"], {
          DOCKER_HOST: "tcp://127.0.0.1:2375",
        });
        assert.equal(res.code, 2);
        assert.match(res.stderr, /only unix:\/\/ sockets/);
      });
    });
  },
});

Deno.test({
  name: `--source remote,local: a registry without the image, then the daemon${SKIP_NOTE}`,
  ignore,
  async fn() {
    await withRepo(async (r) => {
      // A registry that has nothing (the Registry API's 404 for an unknown manifest).
      const ac = new AbortController();
      const registry = Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
        () =>
          Response.json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }, {
            status: 404,
          }),
      );
      try {
        const ref = `localhost:${registry.addr.port}/demo:1`;
        await using engine = await startDockerEngine([image([ref])], r.root);
        const res = await r.run(["app", "add", "web", "--from", ref], {
          env: { ...r.env, PATH, DOCKER_HOST: engine.dockerHost },
        });
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stderr, /remote source had an error, trying with other sources/);
        assert.match(res.stderr, /Repo exists in local docker/);
        assert.equal((await srcOf(r, "web")).docker_source, "remote,local");
        assert.equal(engine.requests[0], `GET /images/${ref}/json 200`);
      } finally {
        ac.abort();
        await registry.finished;
      }
    });
  },
});

Deno.test("the stand-in Engine API answers as the Engine API documents", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pvr-engine-" });
  try {
    const img = image(["demo:1"]);
    await using engine = await startDockerEngine([img], dir);
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path: engine.socket } });
    try {
      const get = async (path: string) => {
        const res = await fetch(`http://docker${path}`, { client });
        return { status: res.status, body: await res.text() };
      };
      assert.deepEqual(await get("/_ping"), { status: 200, body: "OK" });
      const missing = await get("/v1.43/images/nope/json");
      assert.equal(missing.status, 404);
      assert.deepEqual(JSON.parse(missing.body), { message: "No such image: nope:latest" });
      assert.equal((await get("/images/nope/get")).status, 404);
      assert.equal((await get("/containers/json")).status, 404);
      const byShortId = JSON.parse((await get(`/images/${img.id.slice(7, 19)}/json`)).body);
      assert.equal(byShortId.Id, img.id);
      const byLibrary = JSON.parse((await get("/images/docker.io/library/demo:1/json")).body);
      assert.equal(byLibrary.Id, img.id);
    } finally {
      client.close();
    }
    // The client: null for a 404, the image otherwise.
    const c = new DockerEngine(engine.socket);
    try {
      assert.equal(await c.inspect("nope:1"), null);
      assert.equal((await c.inspect("demo:1"))?.Id, img.id);
      await c.save("demo:1", `${dir}/out.tar`);
      assert.deepEqual(await Deno.readFile(`${dir}/out.tar`), img.tar);
      await assert.rejects(c.save("nope:1", `${dir}/nope.tar`), /HTTP 404: No such image: nope:1/);
    } finally {
      c.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
