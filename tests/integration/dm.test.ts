/** `pvr dm-convert` / `pvr dm-apply` with the real veritysetup on plain files. */

import assert from "node:assert/strict";
import { dmConvert } from "../../core/ops/dm_convert.ts";
import { dmApply } from "../../core/ops/dm_apply.ts";
import { appInstall } from "../../core/ops/app_install.ts";
import { findVeritysetup } from "../../core/dm/verity.ts";
import {
  commitFiles,
  rejectsWithCode,
  snapshotTree,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

let veritysetup: string | undefined;
try {
  veritysetup = findVeritysetup();
} catch {
  veritysetup = undefined;
}
const ignore = veritysetup === undefined;
/** The stat cache is a cache: reads may refresh it. */
const CACHE = { skip: [".pvr/stat-cache"] };
if (ignore) {
  // deno-lint-ignore no-console
  console.warn("dm.test.ts skipped: veritysetup missing (apt-get install cryptsetup-bin)");
}

/** Deterministic pseudo-random bytes (a "squashfs" of `blocks` 4 KiB blocks). */
function volumeBytes(blocks: number, seed: number): Uint8Array {
  const out = new Uint8Array(blocks * 4096);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const SRC = JSON.stringify({
  "#spec": "service-manifest-src@1",
  template: "builtin-lxc-docker",
  docker_name: "example/app",
  docker_digest: "example/app@sha256:" + "1".repeat(64),
});

function runJson(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    "#spec": "service-manifest-run@1",
    name,
    "root-volume": "root.squashfs",
    type: "lxc",
    volumes: [],
    ...extra,
  });
}

async function app(r: TestRepo, name: string, seed: number, extra = {}): Promise<void> {
  await r.write({ [`${name}/root.squashfs`]: volumeBytes(8, seed) });
  await commitFiles(r, { [`${name}/run.json`]: runJson(name, extra), [`${name}/src.json`]: SRC });
}

async function verify(dir: string, data: string, hash: string, root: string): Promise<boolean> {
  const out = await new Deno.Command(veritysetup!, {
    args: ["verify", `${dir}/${data}`, `${dir}/${hash}`, root],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.success;
}

function readJson(path: string) {
  return JSON.parse(Deno.readTextFileSync(path));
}

Deno.test({
  name:
    "dm-convert writes a canonical manifest that veritysetup verifies, marks run.json and src.json, adds",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "nginx", 7);
      const res = await r.run(["dm-convert", "nginx", "root.squashfs"]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(
        res.stdout,
        "container=nginx volume=root.squashfs\n- Updated nginx/_dm/root.squashfs.json\n" +
          "- Updated nginx/run.json\n- Updated nginx/src.json\n",
      );
      const text = await Deno.readTextFile(`${r.dir}/nginx/_dm/root.squashfs.json`);
      const m = JSON.parse(text);
      assert.deepEqual(Object.keys(m), [
        "data_device",
        "hash_device",
        "root_hash",
        "salt",
        "type",
        "uuid",
      ]);
      assert.equal(text, JSON.stringify(m), "canonical: no spaces, sorted keys");
      assert.deepEqual([m.type, m.data_device, m.hash_device], [
        "dm-verity",
        "root.squashfs",
        "root.squashfs.hash",
      ]);
      assert.match(m.root_hash, /^[0-9a-f]{64}$/);
      assert.ok(
        await verify(r.dir, "nginx/root.squashfs", "nginx/root.squashfs.hash", m.root_hash),
      );
      assert.equal(readJson(`${r.dir}/nginx/run.json`)["root-volume"], "dm:root.squashfs");
      assert.deepEqual(readJson(`${r.dir}/nginx/src.json`).dm_enabled, { "root.squashfs": true });
      const st = await r.run(["status"]);
      assert.equal(
        st.stdout,
        "A nginx/_dm/root.squashfs.json\nA nginx/root.squashfs.hash\nC nginx/run.json\n" +
          "C nginx/src.json\n",
      );
      // The alias and the <container>/<volume> form; a second volume in `volumes`.
      await r.write({ "nginx/data.img": volumeBytes(4, 3) });
      await r.write({ "nginx/run.json": runJson("nginx", { volumes: ["x.img", "data.img"] }) });
      const second = await r.run(["dmc", "nginx/data.img"]);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(readJson(`${r.dir}/nginx/run.json`).volumes, ["x.img", "dm:data.img"]);
    }),
});

Deno.test({
  name:
    "dm-apply reuses salt and uuid: twice gives identical bytes, a changed volume a new root hash",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "nginx", 11);
      await dmConvert({ ...r.opts, container: "nginx", volume: "root.squashfs" });
      const before = await snapshotTree(r.dir, { skip: [".pvr"] });
      const m0 = readJson(`${r.dir}/nginx/_dm/root.squashfs.json`);
      for (let i = 0; i < 2; i++) {
        const res = await r.run(["dm-apply"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, "- Unchanged verity format nginx/_dm/root.squashfs.json\n");
        assert.deepEqual(await snapshotTree(r.dir, { skip: [".pvr"] }), before);
      }
      await r.write({ "nginx/root.squashfs": volumeBytes(8, 12) });
      const res = await r.run(["dma", "nginx/"]);
      assert.equal(res.stdout, "- Updated nginx/_dm/root.squashfs.json\n");
      const m1 = readJson(`${r.dir}/nginx/_dm/root.squashfs.json`);
      assert.deepEqual([m1.salt, m1.uuid], [m0.salt, m0.uuid]);
      assert.notEqual(m1.root_hash, m0.root_hash);
      assert.ok(
        await verify(r.dir, "nginx/root.squashfs", "nginx/root.squashfs.hash", m1.root_hash),
      );
      // A repository where the same volume was converted elsewhere gets the same bytes.
      const hash = await Deno.readFile(`${r.dir}/nginx/root.squashfs.hash`);
      await Deno.remove(`${r.dir}/nginx/root.squashfs.hash`);
      await dmApply(r.opts);
      assert.deepEqual(await Deno.readFile(`${r.dir}/nginx/root.squashfs.hash`), hash);
    }),
});

Deno.test({
  name: "dm-apply goes on after an unchanged volume and only takes manifests under the prefix",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "a", 1);
      await app(r, "b", 2);
      await app(r, "c", 3);
      for (const c of ["a", "b", "c"]) {
        await dmConvert({ ...r.opts, container: c, volume: "root.squashfs" });
      }
      await r.write({
        "b/root.squashfs": volumeBytes(8, 20),
        "c/root.squashfs": volumeBytes(8, 30),
      });
      const onlyB = await dmApply({ ...r.opts, prefix: "b/" });
      assert.deepEqual(onlyB.volumes.map((v) => [v.manifest, v.updated]), [
        ["b/_dm/root.squashfs.json", true],
      ]);
      const all = await dmApply(r.opts);
      assert.deepEqual(all.volumes.map((v) => [v.manifest, v.updated]), [
        ["a/_dm/root.squashfs.json", false],
        ["b/_dm/root.squashfs.json", false],
        ["c/_dm/root.squashfs.json", true],
      ]);
      assert.deepEqual(all.added, ["c/_dm/root.squashfs.json", "c/root.squashfs.hash"]);
    }),
});

Deno.test({
  name:
    "a failing veritysetup or a missing one changes nothing (exit 1 / exit 9 naming the package)",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "nginx", 5);
      await dmConvert({ ...r.opts, container: "nginx", volume: "root.squashfs" });
      await r.write({ "nginx/root.squashfs": new Uint8Array(), "other/vol.img": new Uint8Array() });
      const before = await snapshotTree(r.dir, CACHE);
      const failed = await r.run(["dm-apply"]);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /^ERROR: veritysetup format .* failed \(exit \d+\)/);
      assert.equal(failed.stderr.split("\n").length, 2, "one line");
      assert.deepEqual(await snapshotTree(r.dir, CACHE), before);
      const conv = await r.run(["dm-convert", "other", "vol.img"]);
      assert.equal(conv.code, 1, conv.stderr);
      assert.deepEqual(await snapshotTree(r.dir, CACHE), before);
      const env = { ...r.env, PVR_VERITYSETUP: `${r.root}/no/veritysetup` };
      for (const args of [["dm-apply"], ["dm-convert", "nginx", "root.squashfs"]]) {
        const missing = await r.run(args, { env });
        assert.equal(missing.code, 9, missing.stderr);
        assert.match(missing.stderr, /veritysetup not found.*cryptsetup-bin/);
      }
      assert.deepEqual(await snapshotTree(r.dir, CACHE), before);
    }),
});

Deno.test({
  name: "dm-convert refuses bad arguments before touching anything",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "nginx", 9);
      const before = await snapshotTree(r.dir, CACHE);
      const cases: Array<[string[], number]> = [
        [["dm-convert"], 2],
        [["dm-convert", "nginx/a/b"], 2],
        [["dm-convert", "..", "x"], 5],
        [["dm-convert", "nginx", "../../etc/passwd"], 5],
        [["dm-convert", "nginx", "missing.img"], 3],
        [["dm-convert", "nope", "root.squashfs"], 3],
      ];
      for (const [args, code] of cases) {
        const res = await r.run(args);
        assert.equal(res.code, code, `${args.join(" ")}: ${res.stderr}`);
      }
      assert.deepEqual(await snapshotTree(r.dir, CACHE), before);
      await rejectsWithCode(
        dmConvert({ ...r.opts, container: "nginx", volume: "root.squashfs", veritysetup: "/x" }),
        "MISSING_TOOL",
      );
    }),
});

Deno.test({
  name: "app install regenerates the dm-verity data of an app with dm_enabled",
  ignore,
  fn: () =>
    withRepo(async (r) => {
      await app(r, "nginx", 40);
      await r.write({ "nginx/root.squashfs.docker-digest": JSON.parse(SRC).docker_digest });
      await dmConvert({ ...r.opts, container: "nginx", volume: "root.squashfs" });
      const m0 = readJson(`${r.dir}/nginx/_dm/root.squashfs.json`);
      const same = await appInstall({ ...r.opts, name: "nginx" });
      assert.ok(!same.written.includes("nginx/root.squashfs.hash"), same.written.join(" "));
      assert.equal(readJson(`${r.dir}/nginx/run.json`)["root-volume"], "dm:root.squashfs");
      await r.write({ "nginx/root.squashfs": volumeBytes(8, 41) });
      const res = await appInstall({ ...r.opts, name: "nginx" });
      assert.ok(res.written.includes("nginx/root.squashfs.hash"), res.written.join(" "));
      assert.ok(res.written.includes("nginx/_dm/root.squashfs.json"));
      const m1 = readJson(`${r.dir}/nginx/_dm/root.squashfs.json`);
      assert.deepEqual([m1.salt, m1.uuid], [m0.salt, m0.uuid]);
      assert.notEqual(m1.root_hash, m0.root_hash);
      assert.ok(
        await verify(r.dir, "nginx/root.squashfs", "nginx/root.squashfs.hash", m1.root_hash),
      );
    }),
});
