/**
 * The local app commands on real temp repositories: `app ls`, `app info`, `app rm`,
 * and `app install`/`app update` re-rendering templates from an existing src.json.
 */

import assert from "node:assert/strict";
import { add, commit, status } from "../../mod.ts";
import { appInfo } from "../../core/ops/app_info.ts";
import { appLs } from "../../core/ops/app_ls.ts";
import { appRm } from "../../core/ops/app_rm.ts";
import { appInstall, appUpdate, type BuildRootfsRequest } from "../../core/ops/app_install.ts";
import { formatSrcJson, parseSrcJson, type SrcJson } from "../../core/app/src_json.ts";
import { fromPlain, type JsonObject } from "../../core/model/json_value.ts";
import { parseJson } from "../../core/model/json_parse.ts";
import { canonicalJson } from "../../core/model/canonical.ts";
import { exists, rejectsWithCode, type TestRepo, withRepo } from "../support/cli.ts";

const NGINX_DIGEST = `nginx@sha256:${"ab".repeat(32)}`;

function nginxSrc(extra: Partial<SrcJson> = {}): SrcJson {
  return {
    "#spec": "service-manifest-src@1",
    template: "builtin-lxc-docker",
    args: fromPlain({ PV_RESTART_POLICY: "container" }) as JsonObject,
    docker_name: "nginx",
    docker_tag: "latest",
    docker_digest: NGINX_DIGEST,
    docker_source: "remote,local",
    docker_config: fromPlain({
      Cmd: ["nginx", "-g", "daemon off;"],
      Entrypoint: ["/docker-entrypoint.sh"],
      Env: ["A=<b>"],
    }) as JsonObject,
    ...extra,
  };
}

/** Writes an app: src.json, and (unless `squash: false`) an up-to-date root.squashfs. */
async function writeApp(
  r: TestRepo,
  name: string,
  src: SrcJson,
  opts: { squash?: boolean } = {},
): Promise<void> {
  const files: Record<string, string> = { [`${name}/src.json`]: formatSrcJson(src) };
  if (opts.squash ?? true) {
    files[`${name}/root.squashfs`] = "squash";
    files[`${name}/root.squashfs.docker-digest`] = src.docker_digest ?? "";
  }
  await r.write(files);
}

Deno.test("app ls lists the top-level directories with src.json, sorted", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "zeta", nginxSrc());
    await writeApp(r, "alpha", nginxSrc());
    await r.write({ "notapp/file.txt": "x", "top.txt": "x", "deep/inner/src.json": "{}" });
    assert.deepEqual((await appLs(r.opts)).apps, ["alpha", "zeta"]);
    const run = await r.run(["app", "ls"]);
    assert.deepEqual(run, { code: 0, stdout: "alpha\nzeta\n", stderr: "" });
    assert.equal((await r.run(["ap", "l", "--json"])).stdout, '["alpha","zeta"]\n');
  });
});

Deno.test("app info prints src.json with 4 spaces, sorted keys, HTML escaping", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    const info = await appInfo({ ...r.opts, name: "/web/" });
    assert.equal(info.name, "web");
    const run = await r.run(["app", "info", "web"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, info.text + "\n");
    assert.ok(run.stdout.startsWith('{\n    "#spec": "service-manifest-src@1",\n    "args": {\n'));
    assert.ok(run.stdout.includes('"A=\\u003cb\\u003e"'));
    assert.equal(
      (await r.run(["app", "i", "nope"])).stderr,
      "ERROR: App 'nope' doesn't exist (pvr app ls lists the apps)\n",
    );
    assert.equal((await r.run(["app", "info", "nope"])).code, 3);
    assert.equal((await r.run(["app", "info"])).code, 2);
  });
});

Deno.test("app rm removes <repo>/<name> and nothing else", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    await writeApp(r, "web2", nginxSrc());
    await r.write({ "_config/web/etc/x.conf": "x", "_sigs/web.json": "{}" });
    const run = await r.run(["app", "r", "web"]);
    assert.deepEqual(run, { code: 0, stdout: "", stderr: "" });
    assert.equal(await exists(`${r.dir}/web`), false);
    assert.ok(await exists(`${r.dir}/web2/src.json`));
    assert.ok(await exists(`${r.dir}/_config/web/etc/x.conf`));
    assert.ok(await exists(`${r.dir}/_sigs/web.json`));
    assert.equal((await r.run(["app", "rm", "web"])).code, 3);
    assert.equal((await r.run(["app", "rm"])).code, 2);
  });
});

Deno.test("app rm refuses names that are not one directory name, and symlinked apps", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    for (const bad of ["..", "../web", "a/b", "."]) {
      await rejectsWithCode(appRm({ ...r.opts, name: bad }), "UNSAFE_PATH");
    }
    await rejectsWithCode(appRm({ ...r.opts, name: "//" }), "USAGE");
    assert.equal((await r.run(["app", "rm", ".."])).code, 5);
    await Deno.symlink(`${r.dir}/web`, `${r.dir}/link`);
    await rejectsWithCode(appRm({ ...r.opts, name: "link" }), "BAD_WORKTREE");
    assert.ok(await exists(`${r.dir}/web/src.json`));
  });
});

Deno.test("app install re-renders run.json and lxc.container.conf when the squashfs is up to date", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    const srcBefore = await Deno.readFile(`${r.dir}/web/src.json`);
    const run = await r.run(["app", "ai", "web"]);
    assert.deepEqual(run, {
      code: 0,
      stdout: "Application installed\n",
      stderr: "root.squashfs: already up to date.\n",
    });
    const conf = await Deno.readTextFile(`${r.dir}/web/lxc.container.conf`);
    assert.ok(conf.includes('lxc.init.cmd = /docker-entrypoint.sh "nginx" "-g" "daemon off;"\n'));
    assert.ok(conf.startsWith("lxc.tty.max = 8\nlxc.pty.max = 1024\n"));
    const runText = await Deno.readTextFile(`${r.dir}/web/run.json`);
    assert.ok(runText.startsWith('{\n    "#spec": "service-manifest-run@1",\n'));
    assert.equal(
      canonicalJson(parseJson(runText)),
      '{"#spec":"service-manifest-run@1","config":"lxc.container.conf","drivers":{"manual":[],"optional":[],"required":[]},"name":"web","restart_policy":"container","root-volume":"root.squashfs","storage":{"lxc-overlay":{"persistence":"boot"}},"type":"lxc","volumes":[]}',
    );
    for (const f of ["run.json", "lxc.container.conf"]) {
      assert.equal((await Deno.stat(`${r.dir}/web/${f}`)).mode! & 0o777, 0o644, f);
    }
    assert.deepEqual(await Deno.readFile(`${r.dir}/web/src.json`), srcBefore);
  });
});

Deno.test("installed apps with two volumes commit: run.json is valid JSON", async () => {
  await withRepo(async (r) => {
    const args = fromPlain({ PV_EXTRA_VOLUMES: "vol1,vol2", PV_VOLUME_MOUNTS: "v3:/mnt" });
    await writeApp(r, "web", nginxSrc({ args: args as JsonObject }));
    await appInstall({ ...r.opts, name: "web" });
    await add(r.opts);
    await commit(r.opts);
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
    const run = parseJson(await Deno.readTextFile(`${r.dir}/web/run.json`)) as JsonObject;
    assert.deepEqual(run.get("volumes"), ["vol1", "vol2", "v3"]);
  });
});

Deno.test("app install fails with MISSING_TOOL before writing anything when a rebuild is needed", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc(), { squash: false });
    await rejectsWithCode(appInstall({ ...r.opts, name: "web" }), "MISSING_TOOL");
    assert.equal(await exists(`${r.dir}/web/run.json`), false);
    // The digest file matches but the squashfs is gone: not up to date (Go bug fixed).
    await r.write({ "web/root.squashfs.docker-digest": NGINX_DIGEST });
    // The CLI has image support: without mksquashfs on its PATH it fails the same way.
    const run = await r.run(["app", "install", "web"], { env: { ...r.env, PATH: "/nonexistent" } });
    assert.equal(run.code, 9);
    assert.match(
      run.stderr,
      /^ERROR: mksquashfs not found: install the Debian package squashfs-tools/,
    );
    assert.equal(await exists(`${r.dir}/web/run.json`), false);
    // A stale digest is not up to date either.
    await r.write({ "web/root.squashfs": "x", "web/root.squashfs.docker-digest": "old" });
    await rejectsWithCode(appInstall({ ...r.opts, name: "web" }), "MISSING_TOOL");
  });
});

Deno.test("app install calls buildRootfs for the base, the app and the overlay as needed", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "base", nginxSrc(), { squash: false });
    await writeApp(
      r,
      "ext",
      nginxSrc({ base: "base", docker_digest: "deadbeef", docker_ovl_digest: "ext@sha256:1" }),
    );
    const calls: BuildRootfsRequest[] = [];
    const res = await appInstall({
      ...r.opts,
      name: "ext",
      source: "remote",
      buildRootfs: (req) => {
        calls.push(req);
        return Promise.resolve();
      },
    });
    assert.deepEqual(
      calls.map((c) => [c.name, c.squash, c.digest, c.lowerApp]),
      [
        ["base", "root.squashfs", NGINX_DIGEST, undefined],
        ["ext", "root.ovl.squashfs", "ext@sha256:1", "base"],
      ],
    );
    assert.deepEqual(res.squashes.map((s) => [s.app, s.squash, s.upToDate]), [
      ["base", "root.squashfs", false],
      ["ext", "root.squashfs", true],
      ["ext", "root.ovl.squashfs", false],
    ]);
    assert.deepEqual(res.written, [
      "base/run.json",
      "base/lxc.container.conf",
      "ext/run.json",
      "ext/lxc.container.conf",
    ]);
    const conf = await Deno.readTextFile(`${r.dir}/ext/lxc.container.conf`);
    assert.ok(
      conf.includes(
        "lxc.rootfs.path = overlayfs:/volumes/ext/root.ovl.squashfs:/volumes/base/root.squashfs:/volumes/ext/lxc-overlay/upper\n",
      ),
    );
  });
});

Deno.test("app install passes docker_name@digest to the builder for --source remote", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc({ docker_digest: "sha256:00" }), { squash: false });
    const seen: string[] = [];
    await appInstall({
      ...r.opts,
      name: "web",
      source: "remote",
      buildRootfs: (req) => {
        seen.push(req.digest);
        return Promise.resolve();
      },
    });
    assert.deepEqual(seen, ["nginx@sha256:00"]);
  });
});

Deno.test("a data/MOUNTED app gets run.json only; a stale lxc.container.conf is removed", async () => {
  await withRepo(async (r) => {
    const args = fromPlain({ PV_GROUP: "data", PV_STATUS_GOAL: "MOUNTED" }) as JsonObject;
    await writeApp(r, "data", nginxSrc({ args }));
    await r.write({ "data/lxc.container.conf": "stale\n" });
    const res = await appInstall({ ...r.opts, name: "data" });
    assert.deepEqual(res.removed, ["data/lxc.container.conf"]);
    assert.equal(await exists(`${r.dir}/data/lxc.container.conf`), false);
    const run = parseJson(await Deno.readTextFile(`${r.dir}/data/run.json`)) as JsonObject;
    assert.equal(run.get("status_goal"), "MOUNTED");
    assert.equal(run.has("config"), false);
  });
});

Deno.test("app install notes the default group from groups.json on stderr", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    await r.write({ "groups.json": '[{"name":"root"},{"name":"app"}]' });
    const run = await r.run(["app", "install", "web"]);
    assert.equal(
      run.stderr,
      'Setting new platform to default group "app"\nroot.squashfs: already up to date.\n',
    );
    const json = parseJson(await Deno.readTextFile(`${r.dir}/web/run.json`)) as JsonObject;
    assert.equal(json.get("group"), "app");
  });
});

Deno.test("app install of a rootfs app or a pvr app renders templates only", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "fs", nginxSrc({ docker_digest: undefined, rootfs_url: "/x" }), {
      squash: false,
    });
    const res = await appInstall({ ...r.opts, name: "fs" });
    assert.equal(res.type, "rootfs");
    assert.ok(await exists(`${r.dir}/fs/run.json`));
    await writeApp(r, "p", {
      "#spec": "service-manifest-src@1",
      template: "builtin-lxc-docker",
      pvr: "https://x/y#p",
    }, { squash: false });
    const run = await r.run(["app", "install", "p"]);
    assert.deepEqual(run, {
      code: 0,
      stdout: "The application is not a docker app, therefore doesn't need to be installed.\n",
      stderr: "",
    });
    assert.equal(await exists(`${r.dir}/p/run.json`), false);
  });
});

Deno.test("app update without image support re-installs as is and drops a stale overlay", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    await r.write({ "web/root.ovl.squashfs": "x", "web/root.ovl.squashfs.docker-digest": "y" });
    const res = await appUpdate({ ...r.opts, name: "web" });
    assert.equal(res.refreshed, false);
    assert.equal(res.overlay, false);
    assert.deepEqual(res.squashes, [{ app: "web", squash: "root.squashfs", upToDate: true }]);
    assert.equal(await exists(`${r.dir}/web/root.ovl.squashfs`), false);
    assert.equal(await exists(`${r.dir}/web/root.ovl.squashfs.docker-digest`), false);
    assert.ok(await exists(`${r.dir}/web/run.json`));
    await rejectsWithCode(appUpdate({ ...r.opts, name: "web", from: "nginx:2" }), "MISSING_TOOL");
    // The CLI re-resolves the image: an image no source has changes nothing.
    const before = await Deno.readFile(`${r.dir}/web/src.json`);
    const run = await r.run(["app", "au", "web", "--source", "local"]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Image not found in source:local/);
    assert.deepEqual(await Deno.readFile(`${r.dir}/web/src.json`), before);
  });
});

Deno.test("app update with a refreshSource hook rewrites src.json as the Go pvr writes it", async () => {
  await withRepo(async (r) => {
    await writeApp(r, "web", nginxSrc());
    const res = await appUpdate({
      ...r.opts,
      name: "web",
      from: "nginx:2",
      refreshSource: (req) => {
        assert.equal(req.from, "nginx:2");
        assert.equal(req.overlay, false);
        assert.equal(req.source, "remote,local");
        return Promise.resolve({ ...req.src, docker_tag: "2" });
      },
    });
    assert.equal(res.refreshed, true);
    const text = await Deno.readTextFile(`${r.dir}/web/src.json`);
    assert.equal(text, formatSrcJson(nginxSrc({ docker_tag: "2" })));
    assert.equal(parseSrcJson(text).docker_tag, "2");
  });
});

Deno.test("app commands outside a repository fail with exit 3", async () => {
  await withRepo(async (r) => {
    assert.equal((await r.run(["app", "ls"])).code, 3);
  }, { init: false });
});
