/**
 * `pvr app add` / `app install` / `app update` end to end against a real registry
 * (`docker-registry` on 127.0.0.1, images pushed with skopeo), squashfs files built
 * with mksquashfs and checked with `unsquashfs -lln`.
 *
 * Skipped (with the reason) when docker-registry, skopeo or squashfs-tools are missing:
 * `apt-get install docker-registry skopeo squashfs-tools`.
 */

import assert from "node:assert/strict";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { type JsonValue, toPlain } from "../../core/model/json_value.ts";
import { appAdd } from "../../mod.ts";
import { exists, rejectsWithCode, withRepo } from "../support/cli.ts";
import {
  listSquashfs,
  pushImage,
  registryToolsMissing,
  runTool,
  startRegistry,
  type TestImage,
  type TestPlatform,
} from "../support/registry.ts";

const missing = registryToolsMissing();
const ignore = missing.length > 0;
if (ignore) {
  // deno-lint-ignore no-console
  console.warn(`app_add.test.ts skipped: missing ${missing.join(", ")}`);
}
/** A JSON value as plain objects (for deepEqual). */
function plain(v: JsonValue): unknown {
  return JSON.parse(JSON.stringify(toPlain(v)));
}

const SKIP_NOTE = ignore ? ` [SKIPPED: missing ${missing.join(", ")}]` : "";

function image(version: string): TestImage {
  return {
    platforms: [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64", variant: "v8" },
    ],
    layers: (p: TestPlatform) => [
      [
        { name: "etc/" },
        { name: "etc/os-release", data: "ID=test\n" },
        { name: "bin/" },
        { name: "bin/web", mode: 0o755, data: `web ${version} ${p.architecture}` },
      ],
      [{ name: "srv/" }, { name: "srv/index.html", data: `<p>${version}</p>` }],
    ],
    config: (p: TestPlatform) => ({
      Cmd: ["/bin/web"],
      Env: [`ARCH=${p.architecture}`, `VERSION=${version}`],
      WorkingDir: "/srv",
    }),
  };
}

Deno.test({
  name: `app add builds a docker app from a registry image; install and update${SKIP_NOTE}`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const reg = await startRegistry();
    try {
      const v1 = await pushImage(reg, "img", "1", image("v1"));
      await withRepo(async (r) => {
        const env = { ...r.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
        const run = (args: string[]) => r.run(args, { env });
        const from = `${reg.host}/img:1`;
        const pinned = `${reg.host}/img@${v1.manifests["linux/arm64/v8"]}`;
        let squash = new Uint8Array();

        await t.step(
          "app add writes src.json, root.squashfs, its digest and the templates",
          async () => {
            const res = await run([
              "app",
              "add",
              "web",
              "--from",
              from,
              "--platform",
              "linux/arm64/v8",
              "--group",
              "app",
              "--restart-policy",
              "container",
              "--arg",
              "PV_LXC_EXTRA_CONF=lxc.tty.max = 1",
              "--volume",
              "/data:permanent",
            ]);
            assert.equal(res.stdout, "Application added\n", res.stderr);
            assert.equal(res.code, 0);
            assert.match(res.stderr, /Found Manifest for platform linux\/arm64\/v8|Layer 0/);
            assert.match(res.stderr, /Generating squashfs file: /);

            const src = parseSrcJson(await Deno.readFile(`${r.dir}/web/src.json`));
            assert.equal(src["#spec"], "service-manifest-src@1");
            assert.equal(src.template, "builtin-lxc-docker");
            assert.equal(src.docker_name, `${reg.host}/img`);
            assert.equal(src.docker_tag, "1");
            assert.equal(src.docker_digest, pinned);
            assert.equal(src.docker_platform, "linux/arm64/v8");
            assert.equal(src.docker_source, "remote,local");
            assert.equal(src.format_options, "-comp xz");
            assert.deepEqual(plain(src.args!), {
              PV_GROUP: "app",
              PV_RESTART_POLICY: "container",
              PV_LXC_EXTRA_CONF: "lxc.tty.max = 1",
            });
            assert.deepEqual(plain(src.persistence!), { "/data": "permanent" });
            assert.deepEqual(plain(src.docker_config!), {
              Cmd: ["/bin/web"],
              Env: ["ARCH=arm64", "VERSION=v1"],
              WorkingDir: "/srv",
            });
            assert.equal(
              await Deno.readTextFile(`${r.dir}/web/root.squashfs.docker-digest`),
              pinned,
            );
            const ls = await listSquashfs(`${r.dir}/web/root.squashfs`);
            assert.equal(ls.get("bin/web")?.size, String("web v1 arm64".length));
            assert.equal(ls.get("bin/web")?.mode, "-rwxr-xr-x");
            assert.equal(ls.get("srv/index.html")?.size, String("<p>v1</p>".length));
            for (const d of ["proc", "sys", "dev", "tmp", "run"]) assert.ok(ls.has(d), d);
            const runJson = JSON.parse(await Deno.readTextFile(`${r.dir}/web/run.json`));
            assert.equal(runJson["#spec"], "service-manifest-run@1");
            assert.equal(runJson.name, "web");
            assert.equal(runJson.config, "lxc.container.conf");
            assert.equal(runJson.group, "app");
            assert.equal(runJson["root-volume"], "root.squashfs");
            assert.ok(runJson.storage["docker--data"], JSON.stringify(runJson.storage));
            const lxc = await Deno.readTextFile(`${r.dir}/web/lxc.container.conf`);
            assert.match(lxc, /lxc\.init\.cmd = \/bin\/web/);
            squash = await Deno.readFile(`${r.dir}/web/root.squashfs`);
          },
        );

        await t.step("pvr add && pvr commit take the app", async () => {
          assert.equal((await run(["add"])).code, 0);
          const c = await run(["commit"]);
          assert.equal(c.code, 0, c.stderr);
          assert.equal((await run(["status"])).stdout, "");
        });

        await t.step("adding or installing the same image again changes nothing", async () => {
          const again = await run([
            "app",
            "add",
            "web",
            "--from",
            from,
            "--platform",
            "linux/arm64/v8",
          ]);
          assert.equal(again.code, 0, again.stderr);
          assert.equal(again.stdout, "Application added\n");
          assert.match(again.stderr, /root\.squashfs: already up to date\./);
          const inst = await run(["app", "install", "web"]);
          assert.equal(inst.code, 0, inst.stderr);
          assert.equal(inst.stdout, "Application installed\n");
          assert.match(inst.stderr, /root\.squashfs: already up to date\./);
          assert.equal((await run(["status"])).stdout, "");
          // A forced rebuild (digest file removed, squashfs cache emptied) gives the
          // same bytes: mksquashfs really runs again.
          const cache = `${r.configDir}/cache/squashfs`;
          await Deno.remove(`${r.dir}/web/root.squashfs.docker-digest`);
          await Deno.remove(cache, { recursive: true });
          const rebuilt = await run(["app", "install", "web"]);
          assert.equal(rebuilt.code, 0, rebuilt.stderr);
          assert.doesNotMatch(rebuilt.stderr, /already up to date|found in cache/);
          assert.match(rebuilt.stderr, /Generating squashfs file: /);
          assert.deepEqual(await Deno.readFile(`${r.dir}/web/root.squashfs`), squash);
          assert.equal((await run(["status"])).stdout, "");
        });

        await t.step(
          "a rebuild of the same image comes from the squashfs cache, verified",
          async () => {
            const cache = `${r.configDir}/cache/squashfs`;
            await Deno.remove(`${r.dir}/web/root.squashfs.docker-digest`);
            const hit = await run(["app", "install", "web"]);
            assert.equal(hit.code, 0, hit.stderr);
            assert.match(hit.stderr, /Squashfs found in cache/);
            assert.doesNotMatch(hit.stderr, /Generating squashfs file: /);
            assert.deepEqual(await Deno.readFile(`${r.dir}/web/root.squashfs`), squash);
            // A damaged cache entry is not used: the squashfs is built again.
            for await (const e of Deno.readDir(cache)) {
              if (e.name.endsWith(".squashfs")) {
                await Deno.writeFile(`${cache}/${e.name}`, new Uint8Array([1, 2, 3]));
              }
            }
            await Deno.remove(`${r.dir}/web/root.squashfs.docker-digest`);
            const damaged = await run(["app", "install", "web"]);
            assert.equal(damaged.code, 0, damaged.stderr);
            assert.match(damaged.stderr, /Generating squashfs file: /);
            assert.deepEqual(await Deno.readFile(`${r.dir}/web/root.squashfs`), squash);
            assert.equal((await run(["status"])).stdout, "");
          },
        );

        await t.step("app update after a new push of the tag rebuilds", async () => {
          const up0 = await run(["app", "update", "web"]);
          assert.equal(up0.code, 0, up0.stderr);
          assert.match(up0.stderr, /root\.squashfs: already up to date\./);
          assert.equal((await run(["status"])).stdout, "");

          const v2 = await pushImage(reg, "img", "1", image("v2"));
          const up = await run(["app", "update", "web"]);
          assert.equal(up.code, 0, up.stderr);
          assert.equal(up.stdout, "Application updated\n");
          assert.doesNotMatch(up.stderr, /already up to date/);
          const src = parseSrcJson(await Deno.readFile(`${r.dir}/web/src.json`));
          const pinned2 = `${reg.host}/img@${v2.manifests["linux/arm64/v8"]}`;
          assert.equal(src.docker_digest, pinned2);
          assert.deepEqual(plain(src.args!), {
            PV_GROUP: "app",
            PV_RESTART_POLICY: "container",
            PV_LXC_EXTRA_CONF: "lxc.tty.max = 1",
          });
          assert.equal(
            await Deno.readTextFile(`${r.dir}/web/root.squashfs.docker-digest`),
            pinned2,
          );
          const ls = await listSquashfs(`${r.dir}/web/root.squashfs`);
          assert.equal(ls.get("bin/web")?.size, String("web v2 arm64".length));
          const st = (await run(["status"])).stdout;
          assert.match(st, /C web\/root\.squashfs/);
          assert.match(st, /C web\/src\.json/);
        });

        await t.step("--platform list, the library, and a new app from amd64", async () => {
          const res = await appAdd({
            ...r.opts,
            name: "/other/",
            from,
            platforms: ["linux/s390x,linux/amd64"],
            configJson: new Map([["WorkingDir", "/x"]]),
          });
          assert.equal(res.name, "other");
          assert.equal(res.createdSrcJson, true);
          const src = parseSrcJson(await Deno.readFile(`${r.dir}/other/src.json`));
          assert.equal(src.docker_platform, "linux/amd64");
          assert.equal((plain(src.docker_config!) as { WorkingDir: string }).WorkingDir, "/x");
          const ls = await listSquashfs(`${r.dir}/other/root.squashfs`);
          assert.equal(ls.get("bin/web")?.size, String("web v2 amd64".length));
        });

        await t.step(
          "the committed _hostconfig/pvr/docker.json platforms are the default",
          async () => {
            await r.write({ "_hostconfig/pvr/docker.json": '{"platforms":["linux/arm64/v8"]}' });
            assert.equal((await run(["add", "_hostconfig"])).code, 0);
            assert.equal((await run(["commit"])).code, 0);
            const res = await run(["app", "aa", "third", "--from", from]);
            assert.equal(res.code, 0, res.stderr);
            const src = parseSrcJson(await Deno.readFile(`${r.dir}/third/src.json`));
            assert.equal(src.docker_platform, "linux/arm64/v8");
          },
        );

        await t.step(
          "an image on disk (oci:<dir>:<tag>) works offline for add and install",
          async () => {
            await runTool("skopeo", [
              "--insecure-policy",
              "copy",
              "--all",
              "--src-tls-verify=false",
              `docker://${from}`,
              `oci:${reg.dir}/saved:1`,
            ]);
            const res = await run([
              "app",
              "add",
              "disk",
              "--from",
              `oci:${reg.dir}/saved:1`,
              "--platform",
              "linux/arm64/v8",
            ]);
            assert.equal(res.code, 0, res.stderr);
            const src = parseSrcJson(await Deno.readFile(`${r.dir}/disk/src.json`));
            assert.equal(src.docker_name, `oci:${reg.dir}/saved:1`);
            assert.equal(src.docker_platform, "linux/arm64/v8");
            const first = await Deno.readFile(`${r.dir}/disk/root.squashfs`);
            assert.deepEqual(first, await Deno.readFile(`${r.dir}/web/root.squashfs`));
            await Deno.remove(`${r.dir}/disk/root.squashfs.docker-digest`);
            const inst = await run(["app", "install", "disk"]);
            assert.equal(inst.code, 0, inst.stderr);
            assert.deepEqual(await Deno.readFile(`${r.dir}/disk/root.squashfs`), first);
            assert.equal(
              await Deno.readTextFile(`${r.dir}/disk/root.squashfs.docker-digest`),
              src.docker_digest,
            );
          },
        );

        await t.step("usage errors and a missing mksquashfs leave nothing behind", async () => {
          const noFrom = await run(["app", "add", "x"]);
          assert.equal(noFrom.code, 2);
          assert.match(noFrom.stderr, /--from flag is required \(e\.g\. --from=nginx\)/);
          const both = await run([
            "app",
            "add",
            "x",
            "--from",
            from,
            "--group",
            "a",
            "--runlevel",
            "b",
          ]);
          assert.equal(both.code, 2);
          const src = await run(["app", "add", "x", "--from", from, "--source", "cloud"]);
          assert.equal(src.code, 2);
          assert.match(src.stderr, /source flag only accepts remote \/ local/);
          const vol = await run(["app", "add", "x", "--from", from, "--volume", "nocolon"]);
          assert.equal(vol.code, 2);
          assert.match(vol.stderr, /invalid volume format/);
          assert.equal(
            (await run(["app", "add", "x", "--from", from, "--base", "nosuchapp"])).code,
            3,
          );
          assert.equal((await run(["app", "add", "x", "--from", "/tmp", "-t", "bogus"])).code, 2);
          const noTool = await r.run(["app", "add", "x", "--from", from], {
            env: { ...r.env, PATH: "/nonexistent" },
          });
          assert.equal(noTool.code, 9);
          assert.match(
            noTool.stderr,
            /mksquashfs not found: install the Debian package squashfs-tools/,
          );
          await rejectsWithCode(
            appAdd({ ...r.opts, name: "x", from, pathEnv: "/nonexistent" }),
            "MISSING_TOOL",
          );
          const gone = await run([
            "app",
            "add",
            "x",
            "--from",
            `${reg.host}/nope:1`,
            "--source",
            "remote",
          ]);
          assert.notEqual(gone.code, 0);
          assert.match(gone.stderr, /Image not found in source:remote/);
          assert.equal(await exists(`${r.dir}/x`), false);
        });

        await t.step("an overlay app over a registry base (--base)", async () => {
          const v3 = await pushImage(reg, "img", "ovl", image("v3"));
          const res = await run([
            "app",
            "add",
            "top",
            "--from",
            `${reg.host}/img:ovl`,
            "--base",
            "web",
            "--platform",
            "linux/arm64/v8",
          ]);
          assert.equal(res.code, 0, res.stderr);
          const src = parseSrcJson(await Deno.readFile(`${r.dir}/top/src.json`));
          const web = parseSrcJson(await Deno.readFile(`${r.dir}/web/src.json`));
          assert.equal(src.base, "web");
          assert.equal(src.docker_digest, web.docker_digest);
          assert.equal(src.docker_ovl_digest, `${reg.host}/img@${v3.manifests["linux/arm64/v8"]}`);
          const ls = await listSquashfs(`${r.dir}/top/root.ovl.squashfs`);
          assert.equal(ls.get("bin/web")?.size, String("web v3 arm64".length));
          assert.equal(ls.has("srv/index.html"), true);
          assert.equal(ls.has("etc/os-release"), false, "unchanged files stay in the base");
          // Rebuilt from the registry (both images re-resolved by digest): the same bytes.
          const ovl = await Deno.readFile(`${r.dir}/top/root.ovl.squashfs`);
          await Deno.remove(`${r.dir}/top/root.ovl.squashfs.docker-digest`);
          const inst = await run(["app", "install", "top"]);
          assert.equal(inst.code, 0, inst.stderr);
          assert.deepEqual(await Deno.readFile(`${r.dir}/top/root.ovl.squashfs`), ovl);
        });
      });
    } finally {
      await reg.close();
    }
  },
});
