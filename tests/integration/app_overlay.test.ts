/**
 * Overlay apps: `app add --base`, `app update --patch/--newbase`. `root.ovl.squashfs`
 * must hold exactly what the new image changes over the base image, with overlayfs
 * whiteouts (char 0/0) for what it removes: the base listing with the overlay laid
 * over it must equal the listing of the new image built on its own. Images are
 * `docker save` tarballs on disk; squashfs files are listed with `unsquashfs -lln`.
 *
 * Skipped (with the reason) without squashfs-tools.
 */

import assert from "node:assert/strict";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { type TestRepo, withRepo } from "../support/cli.ts";
import { type Listed, listSquashfs, which } from "../support/registry.ts";
import { dockerSave } from "../support/docker_engine.ts";
import type { LayerEntry } from "../support/layer_tar.ts";

const ignore = !(which("mksquashfs") && which("unsquashfs"));
const SKIP_NOTE = ignore ? " [SKIPPED: missing squashfs-tools]" : "";
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

const BASE_LAYERS: LayerEntry[][] = [
  [
    { name: "etc/" },
    { name: "etc/os-release", data: "ID=base\n" },
    { name: "etc/keep.conf", data: "keep\n", mode: 0o644 },
    { name: "bin/" },
    { name: "bin/tool", mode: 0o755, data: "tool v1" },
    { name: "bin/same-size", mode: 0o755, data: "AAAA" },
    { name: "lib/" },
    { name: "lib/a.so", data: "a" },
    { name: "lib/b.so", data: "b" },
    { name: "lib/link.so", type: "symlink", link: "a.so" },
    { name: "usr/" },
    { name: "usr/share/" },
    { name: "usr/share/doc/" },
    { name: "usr/share/doc/readme", data: "docs" },
    { name: "var/" },
    { name: "var/cache/" },
    { name: "var/cache/old/" },
    { name: "var/cache/old/x", data: "x" },
  ],
];

/** The base image plus one layer of changes (as `FROM base` + `RUN …` would make). */
const TOP_LAYERS: LayerEntry[][] = [
  ...BASE_LAYERS,
  [
    { name: "bin/" },
    { name: "bin/tool", mode: 0o755, data: "tool v2 longer" },
    { name: "bin/same-size", mode: 0o755, data: "BBBB" },
    { name: "etc/" },
    { name: "etc/keep.conf", data: "keep\n", mode: 0o600 },
    { name: "lib/" },
    { name: "lib/.wh.a.so" },
    { name: "lib/link.so", type: "symlink", link: "b.so" },
    { name: "var/cache/.wh.old" },
    { name: "opt/" },
    { name: "opt/app/" },
    { name: "opt/app/run", mode: 0o755, data: "#!/bin/sh\n" },
    { name: "opt/app/data/" },
    { name: "opt/app/data/hard", type: "hardlink", link: "opt/app/run" },
  ],
];

interface Images {
  base: string;
  top: string;
}

async function writeImages(dir: string): Promise<Images> {
  const base = dockerSave({
    tags: ["base:1"],
    layers: BASE_LAYERS,
    config: { Cmd: ["/bin/tool"] },
  });
  const top = dockerSave({
    tags: ["top:1"],
    layers: TOP_LAYERS,
    config: { Cmd: ["/opt/app/run"] },
  });
  await Deno.writeFile(`${dir}/base.tar`, base.tar);
  await Deno.writeFile(`${dir}/top.tar`, top.tar);
  return { base: `docker-archive:${dir}/base.tar`, top: `docker-archive:${dir}/top.tar` };
}

function run(r: TestRepo, args: string[]) {
  return r.run(args, { env: { ...r.env, PATH } });
}

async function srcOf(r: TestRepo, app: string) {
  return parseSrcJson(await Deno.readFile(`${r.dir}/${app}/src.json`));
}

/** A listing without times (directories' times are not compared by the overlay). */
function shape(l: Listed): string {
  return `${l.mode} ${l.owner} ${l.mode.startsWith("d") ? "" : l.size} ${l.link ?? ""}`;
}

/** The view of `lower` with `upper` laid over it as overlayfs does (whiteouts: char 0/0). */
function merged(lower: Map<string, Listed>, upper: Map<string, Listed>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, l] of lower) out.set(p, shape(l));
  for (const [p, u] of [...upper].sort(([a], [b]) => a.localeCompare(b))) {
    if (p === "/") continue;
    const isWhiteout = u.mode.startsWith("c") && /^0,\s*0$/.test(u.size);
    const lowerEntry = out.get(p);
    // An upper non-directory (or a whiteout) hides the lower path and all below it.
    if (!u.mode.startsWith("d") || (lowerEntry !== undefined && !lowerEntry.startsWith("d"))) {
      for (const k of [...out.keys()]) if (k === p || k.startsWith(`${p}/`)) out.delete(k);
    }
    if (!isWhiteout) out.set(p, shape(u));
  }
  out.delete("/");
  return out;
}

function shapes(l: Map<string, Listed>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, v] of l) if (p !== "/") out.set(p, shape(v));
  return out;
}

Deno.test({
  name: `app add --base builds root.ovl.squashfs: the difference, with whiteouts${SKIP_NOTE}`,
  ignore,
  async fn(t) {
    await withRepo(async (r) => {
      const img = await writeImages(r.root);
      await t.step("the base app and a plain app of the new image", async () => {
        for (const [name, from] of [["base", img.base], ["plain", img.top]]) {
          const res = await run(r, ["app", "add", name, "--from", from]);
          assert.equal(res.code, 0, res.stderr);
        }
      });
      let ovl = new Uint8Array();
      await t.step("app add --base: src.json, both squashfs files, templates", async () => {
        const res = await run(r, ["app", "add", "top", "--from", img.top, "--base", "base"]);
        assert.equal(res.code, 0, res.stderr);
        const src = await srcOf(r, "top");
        const baseSrc = await srcOf(r, "base");
        const plainSrc = await srcOf(r, "plain");
        assert.equal(src.base, "base");
        assert.equal(src.docker_digest, baseSrc.docker_digest);
        assert.equal(src.docker_ovl_digest, plainSrc.docker_digest);
        assert.equal(
          await Deno.readTextFile(`${r.dir}/top/root.ovl.squashfs.docker-digest`),
          src.docker_ovl_digest,
        );
        const conf = await Deno.readTextFile(`${r.dir}/top/lxc.container.conf`);
        assert.match(
          conf,
          /^lxc\.rootfs\.path = overlayfs:\/volumes\/top\/root\.ovl\.squashfs:\/volumes\/base\/root\.squashfs:\/volumes\/top\/lxc-overlay\/upper$/m,
        );
        assert.match(conf, /^lxc\.init\.cmd = \/opt\/app\/run$/m);
        const runJson = JSON.parse(await Deno.readTextFile(`${r.dir}/top/run.json`));
        assert.equal(runJson["root-volume"], "root.ovl.squashfs");
        ovl = await Deno.readFile(`${r.dir}/top/root.ovl.squashfs`);
      });

      await t.step("the overlay holds the changes only, whiteouts for removals", async () => {
        const ls = await listSquashfs(`${r.dir}/top/root.ovl.squashfs`);
        const paths = [...ls.keys()].filter((p) => p !== "/").sort();
        assert.deepEqual(paths, [
          "bin",
          "bin/same-size",
          "bin/tool",
          "etc",
          "etc/keep.conf",
          "lib",
          "lib/a.so",
          "lib/link.so",
          "opt",
          "opt/app",
          "opt/app/data",
          "opt/app/data/hard",
          "opt/app/run",
          "var",
          "var/cache",
          "var/cache/old",
        ]);
        for (const w of ["lib/a.so", "var/cache/old"]) {
          assert.equal(ls.get(w)!.mode, "c---------", w);
          assert.equal(ls.get(w)!.owner, "0/0");
          assert.match(ls.get(w)!.size, /^0,\s*0$/);
        }
        assert.equal(ls.get("etc/keep.conf")!.mode, "-rw-------");
        assert.equal(ls.get("lib/link.so")!.link, "b.so");
        assert.equal(ls.get("bin/tool")!.size, "14");
      });

      await t.step("base + overlay is the new image, entry for entry", async () => {
        const lower = await listSquashfs(`${r.dir}/base/root.squashfs`);
        const upper = await listSquashfs(`${r.dir}/top/root.ovl.squashfs`);
        const whole = await listSquashfs(`${r.dir}/plain/root.squashfs`);
        assert.deepEqual(merged(lower, upper), shapes(whole));
      });

      await t.step("rebuilt: the same bytes; the install is up to date", async () => {
        await Deno.remove(`${r.dir}/top/root.ovl.squashfs.docker-digest`);
        const res = await run(r, ["app", "install", "top"]);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(await Deno.readFile(`${r.dir}/top/root.ovl.squashfs`), ovl);
        const again = await run(r, ["app", "install", "top"]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, /root\.ovl\.squashfs: already up to date\./);
      });

      await t.step("app update --patch --from: an overlay over the app itself", async () => {
        assert.equal((await run(r, ["app", "add", "p", "--from", img.base])).code, 0);
        const before = await srcOf(r, "p");
        const res = await run(r, ["app", "update", "p", "--patch", "--from", img.top]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stderr, /Update ovl: root\.ovl\.squashfs/);
        const src = await srcOf(r, "p");
        assert.equal(src.docker_digest, before.docker_digest);
        assert.equal(src.docker_ovl_digest, (await srcOf(r, "plain")).docker_digest);
        assert.equal(src.base, undefined);
        // The same lower and upper images: the same overlay bytes.
        assert.deepEqual(await Deno.readFile(`${r.dir}/p/root.ovl.squashfs`), ovl);
        const conf = await Deno.readTextFile(`${r.dir}/p/lxc.container.conf`);
        assert.match(
          conf,
          /^lxc\.rootfs\.path = overlayfs:\/volumes\/p\/root\.ovl\.squashfs:\/volumes\/p\/root\.squashfs:/m,
        );
        const runJson = JSON.parse(await Deno.readTextFile(`${r.dir}/p/run.json`));
        assert.deepEqual(runJson.volumes, ["root.ovl.squashfs"]);
      });

      await t.step("app update --newbase: back to one root.squashfs", async () => {
        const res = await run(r, ["app", "update", "p", "--newbase"]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stderr, /Update base: root\.squashfs/);
        const src = await srcOf(r, "p");
        assert.equal(src.docker_ovl_digest, undefined);
        assert.equal(src.docker_digest, (await srcOf(r, "plain")).docker_digest);
        assert.equal(await Deno.stat(`${r.dir}/p/root.ovl.squashfs`).then(() => 1, () => 0), 0);
        assert.deepEqual(
          await Deno.readFile(`${r.dir}/p/root.squashfs`),
          await Deno.readFile(`${r.dir}/plain/root.squashfs`),
        );
      });

      await t.step("--base refusals change nothing", async () => {
        const cases: [string[], RegExp][] = [
          [
            ["app", "add", "x", "--from", img.top, "--base", "missing"],
            /App 'missing' doesn't exist/,
          ],
          [["app", "add", "x", "--from", img.top, "--base", "x"], /own base/],
          [
            ["app", "add", "x", "-t", "rootfs", "--from", r.root, "--base", "base"],
            /docker apps only/,
          ],
        ];
        for (const [args, why] of cases) {
          const res = await run(r, args);
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, why);
          assert.equal(await Deno.stat(`${r.dir}/x`).then(() => 1, () => 0), 0);
        }
      });

      await t.step("app update of a base re-installs the apps built on it", async () => {
        const res = await run(r, ["app", "update", "base", "--from", img.top]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(
          res.stderr,
          /Searching for dependencies of base\nUpdated top \(its base is base\)/,
        );
        const baseSrc = await srcOf(r, "base");
        const top = await srcOf(r, "top");
        assert.equal(top.docker_digest, baseSrc.docker_digest);
        assert.equal(baseSrc.docker_digest, (await srcOf(r, "plain")).docker_digest);
        // The overlay was rebuilt over the new base: the same image, so nothing differs.
        const ls = await listSquashfs(`${r.dir}/top/root.ovl.squashfs`);
        assert.deepEqual([...ls.keys()], ["/"]);
      });
    });
  },
});
