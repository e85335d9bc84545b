/**
 * `pvr app add --type pvr` and `app update` of pvr apps: the `#part` of another
 * repository (a local checkout, an export tarball, a trail on the stand-in Pantahub)
 * checked out as the app, the committed state and `.pvr/config` left alone.
 */

import assert from "node:assert/strict";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { toPlain } from "../../core/model/json_value.ts";
import { appAdd } from "../../core/ops/app_add.ts";
import { sha256Hex, snapshotTree, type TestRepo, withRepo } from "../support/cli.ts";
import { remoteFixture } from "../support/remote.ts";

const enc = new TextEncoder();
/** The repository lock and its temp dir (made by any writer, `pvr get` too). */
const LOCK_FILES = { skip: [".pvr/lock", ".pvr/tmp"] };

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

const SRC = JSON.stringify({
  "#spec": "service-manifest-src@1",
  template: "builtin-lxc-docker",
  args: { PV_RESTART_POLICY: "container" },
  docker_name: "web",
  docker_tag: "1",
  docker_digest: `web@sha256:${"ab".repeat(32)}`,
  docker_config: { Cmd: ["/bin/web"] },
});

/** A source repository with an app `web`, its `_config/web` and an unrelated part. */
async function sourceRepo(r: TestRepo, version = "1"): Promise<void> {
  await r.write({
    "web/src.json": SRC,
    "web/root.squashfs": `squash ${version}`,
    "web/root.squashfs.docker-digest": `web@sha256:${"ab".repeat(32)}`,
    "web/notes.txt": "old notes",
    "_config/web/etc/web.conf": `port=${version}\n`,
    "other/file.txt": "not wanted",
  });
  if (version !== "1") await Deno.remove(`${r.dir}/web/notes.txt`);
  assert.equal((await r.run(["add", "."])).code, 0);
  const c = await r.run(["commit", "-m", `v${version}`]);
  assert.equal(c.code, 0, c.stderr);
}

async function srcOf(dir: string, app: string) {
  return parseSrcJson(await Deno.readFile(`${dir}/${app}/src.json`));
}

Deno.test("app add --type pvr from a local repo#part; app update re-fetches", async (t) => {
  await withRepo(async (src) => {
    await sourceRepo(src);
    await withRepo(async (r) => {
      const from = `${src.dir}#web,_config/web`;
      const pvrBefore = {
        json: await Deno.readTextFile(`${r.dir}/.pvr/json`),
        config: await Deno.readTextFile(`${r.dir}/.pvr/config`).catch(() => null),
      };

      await t.step("the part is checked out as <name>, src.json updated", async () => {
        await Deno.writeTextFile(`${r.root}/cfg.json`, JSON.stringify({ Env: ["X=1"] }));
        const res = await r.run([
          "app",
          "add",
          "myweb",
          "--type",
          "pvr",
          "--from",
          from,
          "--volume",
          "/data:permanent",
          "--config-json",
          `${r.root}/cfg.json`,
        ]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /\nImported 4 objects to .*\n/);
        assert.match(res.stdout, /Application added\n$/);
        assert.match(res.stderr, /web\/root.squash \[OK\]/);
        const sq = `${r.dir}/myweb/root.squashfs`;
        assert.equal(await Deno.readTextFile(sq), "squash 1");
        // Hardlinked from the store, read-only.
        const st = await Deno.stat(sq);
        const obj = await Deno.stat(`${r.objectsDir}/${sha256Hex("squash 1")}`);
        assert.equal(st.ino, obj.ino);
        assert.equal(st.mode! & 0o777, 0o444);
        assert.equal(await Deno.readTextFile(`${r.dir}/_config/web/etc/web.conf`), "port=1\n");
        assert.equal(await Deno.stat(`${r.dir}/web`).then(() => true, () => false), false);
        assert.equal(await Deno.stat(`${r.dir}/other`).then(() => true, () => false), false);
        const s = await srcOf(r.dir, "myweb");
        assert.equal(s.pvr, from);
        assert.equal(s.docker_name, "web");
        assert.deepEqual(plain(toPlain(s.persistence!)), { "/data": "permanent" });
        assert.deepEqual(plain(toPlain(s.docker_config!)), { Cmd: ["/bin/web"], Env: ["X=1"] });
        // Templates re-rendered for the new name (a docker_name is there).
        const run = JSON.parse(await Deno.readTextFile(`${r.dir}/myweb/run.json`));
        assert.equal(run.name, "myweb");
        assert.deepEqual(run.storage["docker--data"], { persistence: "permanent" });
        // Neither the committed state nor .pvr/config changed.
        assert.equal(await Deno.readTextFile(`${r.dir}/.pvr/json`), pvrBefore.json);
        assert.equal(
          await Deno.readTextFile(`${r.dir}/.pvr/config`).catch(() => null),
          pvrBefore.config,
        );
      });

      await t.step("the app adds and commits", async () => {
        assert.equal((await r.run(["add", "."])).code, 0);
        const c = await r.run(["commit", "-m", "app"]);
        assert.equal(c.code, 0, c.stderr);
        const st = await r.run(["status"]);
        assert.equal(st.stdout, "");
      });

      await t.step("app update fetches the source again", async () => {
        await sourceRepo(src, "2");
        const res = await r.run(["app", "update", "myweb"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(await Deno.readTextFile(`${r.dir}/myweb/root.squashfs`), "squash 2");
        assert.equal(await Deno.readTextFile(`${r.dir}/_config/web/etc/web.conf`), "port=2\n");
        assert.equal(
          await Deno.stat(`${r.dir}/myweb/notes.txt`).then(() => true, () => false),
          false,
          "a file that left the source is removed",
        );
        const s = await srcOf(r.dir, "myweb");
        assert.equal(s.pvr, from);
        assert.deepEqual(plain(toPlain(s.persistence!)), { "/data": "permanent" });
      });

      await t.step("app install of a pvr app renders the templates only", async () => {
        await Deno.remove(`${r.dir}/myweb/run.json`);
        const res = await r.run(["app", "install", "myweb"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(JSON.parse(await Deno.readTextFile(`${r.dir}/myweb/run.json`)).name, "myweb");
      });
    });
  });
});

Deno.test("app add --type pvr from an export tarball; a non-docker app is not installed", async () => {
  await withRepo(async (src) => {
    await src.write({
      "data/src.json": JSON.stringify({
        "#spec": "service-manifest-src@1",
        template: "builtin-lxc-docker",
      }),
      "data/blob.bin": "payload",
    });
    assert.equal((await src.run(["add", "."])).code, 0);
    assert.equal((await src.run(["commit"])).code, 0);
    const tgz = `${src.root}/export.tgz`;
    const ex = await src.run(["export", tgz]);
    assert.equal(ex.code, 0, ex.stderr);
    await withRepo(async (r) => {
      const res = await r.run(["app", "add", "d", "-t", "pvr", "--from", `${tgz}#data`]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(
        res.stdout,
        /The application is not a docker app, therefore doesn't need to be installed\./,
      );
      assert.equal(await Deno.readTextFile(`${r.dir}/d/blob.bin`), "payload");
      assert.equal(await Deno.stat(`${r.dir}/d/run.json`).then(() => true, () => false), false);
      assert.equal((await srcOf(r.dir, "d")).pvr, `${tgz}#data`);
    });
  });
});

Deno.test("app add --type pvr refuses bad references, changing nothing", async (t) => {
  await withRepo(async (src) => {
    await sourceRepo(src);
    await withRepo(async (r) => {
      await r.write({ "keep.txt": "k" });
      const before = await snapshotTree(r.dir, LOCK_FILES);
      const cases: [string, string[], RegExp][] = [
        ["no #part", ["--from", src.dir], /#part/],
        ["a missing part", ["--from", `${src.dir}#nope`], /has no app nope/],
        ["a part without src.json", ["--from", `${src.dir}#other`], /has no app other/],
        ["a missing repo", ["--from", `${src.root}/missing#web`], /no such repository/],
      ];
      for (const [what, args, why] of cases) {
        await t.step(what, async () => {
          const res = await r.run(["app", "add", "x", "-t", "pvr", ...args]);
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, why);
          assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
        });
      }
      await t.step("an existing app", async () => {
        await r.write({ "x/src.json": SRC });
        const mid = await snapshotTree(r.dir, LOCK_FILES);
        const res = await r.run(["app", "add", "x", "-t", "pvr", "--from", `${src.dir}#web`]);
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /already exists/);
        assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), mid);
      });
    });
  });
});

Deno.test("app add --type pvr from a trail on Pantahub, through the get machinery", async () => {
  await using f = await remoteFixture({
    files: {
      "app/src.json": enc.encode(SRC),
      "app/root.squashfs": enc.encode("remote squash"),
      "bsp/kernel.img": enc.encode("kernel"),
    },
  });
  const r = await appAdd({
    ...f.repo.opts,
    name: "fromhub",
    type: "pvr",
    from: `${f.trailUrl}#app`,
    remote: f.remote,
  });
  assert.equal(r.imported, 2);
  assert.equal(
    await Deno.readTextFile(`${f.repo.dir}/fromhub/root.squashfs`),
    "remote squash",
  );
  assert.equal((await srcOf(f.repo.dir, "fromhub")).pvr, `${f.trailUrl}#app`);
  assert.equal(await Deno.stat(`${f.repo.dir}/bsp`).then(() => true, () => false), false);
  // No DefaultGet/Put/PostUrl written.
  const cfg = await Deno.readTextFile(`${f.repo.dir}/.pvr/config`).catch(() => "{}");
  assert.equal(cfg.includes(f.trailUrl), false);
});
