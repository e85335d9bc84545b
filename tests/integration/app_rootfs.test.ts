/**
 * `pvr app add --type rootfs` and `app update` of rootfs apps, end to end: a local
 * directory, a local tarball (plain and gzip) and an http URL (a real server on
 * 127.0.0.1), squashfs files built with mksquashfs and checked with `unsquashfs -lln`.
 *
 * Skipped (with the reason) without squashfs-tools: `apt-get install squashfs-tools`.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { toPlain } from "../../core/model/json_value.ts";
import { sha256Hex, snapshotTree, type TestRepo, withRepo } from "../support/cli.ts";
import { listSquashfs, which } from "../support/registry.ts";
import { type LayerEntry, tarOf } from "../support/layer_tar.ts";

const ignore = !(which("mksquashfs") && which("unsquashfs"));
const SKIP_NOTE = ignore ? " [SKIPPED: missing squashfs-tools]" : "";
if (ignore) {
  // deno-lint-ignore no-console
  console.warn("app_rootfs.test.ts skipped: missing mksquashfs/unsquashfs (squashfs-tools)");
}

const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

function runIn(r: TestRepo, args: string[]) {
  return r.run(args, { env: { ...r.env, PATH } });
}

function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

async function srcOf(r: TestRepo, app: string) {
  return parseSrcJson(await Deno.readFile(`${r.dir}/${app}/src.json`));
}

const ENTRIES: LayerEntry[] = [
  { name: "./", mode: 0o755, mtime: 1_700_000_000 },
  { name: "bin/" },
  { name: "bin/busybox", mode: 0o755, data: "#!busybox\n" },
  { name: "bin/sh", type: "symlink", link: "/bin/busybox" },
  { name: "etc/" },
  { name: "etc/os-release", data: "ID=rootfs\n", uid: 0, gid: 0 },
  { name: "etc/hostname", type: "hardlink", link: "etc/os-release" },
  { name: "usr/" },
  { name: "usr/bin/" },
  { name: "usr/bin/qemu-arm-static", mode: 0o755, data: "qemu" },
];

/** The tree of {@link ENTRIES} as a directory. */
async function writeRootfsDir(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.mkdir(`${dir}/etc`);
  await Deno.mkdir(`${dir}/usr/bin`, { recursive: true });
  await Deno.writeTextFile(`${dir}/bin/busybox`, "#!busybox\n", { mode: 0o755 });
  await Deno.chmod(`${dir}/bin/busybox`, 0o755);
  await Deno.symlink("/bin/busybox", `${dir}/bin/sh`);
  await Deno.writeTextFile(`${dir}/etc/os-release`, "ID=rootfs\n");
  await Deno.link(`${dir}/etc/os-release`, `${dir}/etc/hostname`);
  await Deno.writeTextFile(`${dir}/usr/bin/qemu-arm-static`, "qemu");
  const t = new Date(1_700_000_000_000);
  for (
    const p of [
      "bin/busybox",
      "etc/os-release",
      "usr/bin/qemu-arm-static",
      "bin",
      "etc",
      "usr/bin",
      "usr",
      "",
    ]
  ) {
    await Deno.utime(`${dir}/${p}`, t, t);
  }
}

/** Checks what every rootfs squashfs of {@link ENTRIES} must hold. */
async function checkListing(path: string): Promise<void> {
  const ls = await listSquashfs(path);
  assert.equal(ls.get("bin/busybox")?.mode, "-rwxr-xr-x");
  assert.equal(ls.get("bin/busybox")?.owner, "0/0");
  assert.equal(ls.get("bin/sh")?.link, "/bin/busybox");
  assert.equal(ls.get("etc/os-release")?.size, "10");
  assert.equal(ls.get("etc/hostname")?.size, "10");
  assert.equal(ls.has("usr/bin/qemu-arm-static"), false, "qemu-arm-static is stripped");
  for (const d of ["proc", "sys", "dev", "tmp", "var/tmp", "run", "var/run"]) {
    assert.equal(ls.get(d)?.mode.startsWith("d"), true, `${d} added`);
  }
}

Deno.test({
  name: `app add --type rootfs from a directory and from tarballs, byte-identical${SKIP_NOTE}`,
  ignore,
  async fn(t) {
    await withRepo(async (r) => {
      const tree = `${r.root}/tree`;
      await writeRootfsDir(tree);
      await Deno.writeTextFile(`${r.root}/cfg.json`, JSON.stringify({ Cmd: ["/bin/sh"] }));
      let dirSquash = new Uint8Array();

      await t.step("directory: src.json, root.squashfs, its rootfs-digest, templates", async () => {
        const res = await runIn(r, [
          "app",
          "add",
          "fromdir",
          "--type",
          "rootfs",
          "--from",
          tree,
          "--config-json",
          `${r.root}/cfg.json`,
          "--volume",
          "/data:permanent",
        ]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, "Application added\n");
        assert.match(res.stderr, /Generating squashfs file: .*mksquashfs/);
        dirSquash = await Deno.readFile(`${r.dir}/fromdir/root.squashfs`);
        const digest = `sha256:${sha256Hex(dirSquash)}`;
        assert.equal(
          await Deno.readTextFile(`${r.dir}/fromdir/root.squashfs.rootfs-digest`),
          digest,
        );
        const src = await srcOf(r, "fromdir");
        assert.equal(src.rootfs_url, tree);
        assert.equal(src.rootfs_digest, digest);
        assert.equal(src.docker_digest, undefined);
        assert.deepEqual(plain(toPlain(src.docker_config!)), { Cmd: ["/bin/sh"] });
        assert.deepEqual(plain(toPlain(src.persistence!)), { "/data": "permanent" });
        const conf = await Deno.readTextFile(`${r.dir}/fromdir/lxc.container.conf`);
        assert.match(conf, /^lxc\.init\.cmd = \/bin\/sh$/m);
        assert.match(conf, /docker--data data none bind/);
        const run = JSON.parse(await Deno.readTextFile(`${r.dir}/fromdir/run.json`));
        assert.equal(run["root-volume"], "root.squashfs");
        await checkListing(`${r.dir}/fromdir/root.squashfs`);
        assert.equal(
          await Deno.readTextFile(`${r.dir}/fromdir/src.json`).then((s) =>
            s.includes('"format_options"')
          ),
          false,
        );
      });

      await t.step("the same directory again gives the same bytes", async () => {
        const res = await runIn(r, ["app", "add", "again", "-t", "rootfs", "--from", tree]);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(await Deno.readFile(`${r.dir}/again/root.squashfs`), dirSquash);
      });

      await t.step("a relative --from is taken from the repository directory", async () => {
        await Deno.rename(tree, `${r.dir}/localtree`);
        const res = await runIn(r, ["app", "add", "rel", "-t", "rootfs", "--from", "localtree"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal((await srcOf(r, "rel")).rootfs_url, "localtree");
        assert.deepEqual(await Deno.readFile(`${r.dir}/rel/root.squashfs`), dirSquash);
        await Deno.rename(`${r.dir}/localtree`, tree);
      });

      await t.step(".tar and .tar.gz of the same tree give the same squashfs", async () => {
        const tar = tarOf(ENTRIES);
        await Deno.writeFile(`${r.root}/rootfs.tar`, tar);
        await Deno.writeFile(`${r.root}/rootfs.tgz`, gzipSync(tar));
        const a = await runIn(r, ["app", "add", "tar", "-t", "rootfs", "--from", "../rootfs.tar"]);
        assert.equal(a.code, 0, a.stderr);
        const b = await runIn(r, [
          "app",
          "add",
          "tgz",
          "-t",
          "rootfs",
          "--from",
          `${r.root}/rootfs.tgz`,
        ]);
        assert.equal(b.code, 0, b.stderr);
        const ta = await Deno.readFile(`${r.dir}/tar/root.squashfs`);
        assert.deepEqual(await Deno.readFile(`${r.dir}/tgz/root.squashfs`), ta);
        await checkListing(`${r.dir}/tgz/root.squashfs`);
        assert.equal((await srcOf(r, "tgz")).rootfs_digest, `sha256:${sha256Hex(ta)}`);
      });

      await t.step("app update re-squashes from --from and rewrites the digests", async () => {
        const next = [...ENTRIES, { name: "etc/version", data: "2\n" }];
        await Deno.writeFile(`${r.root}/rootfs2.tar`, tarOf(next));
        const res = await runIn(r, ["app", "update", "tgz", "--from", `${r.root}/rootfs2.tar`]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout, "Application updated\n");
        const sq = await Deno.readFile(`${r.dir}/tgz/root.squashfs`);
        const digest = `sha256:${sha256Hex(sq)}`;
        const src = await srcOf(r, "tgz");
        assert.equal(src.rootfs_url, `${r.root}/rootfs2.tar`);
        assert.equal(src.rootfs_digest, digest);
        assert.equal(
          await Deno.readTextFile(`${r.dir}/tgz/root.squashfs.rootfs-digest`),
          digest,
        );
        assert.equal(
          (await listSquashfs(`${r.dir}/tgz/root.squashfs`)).get("etc/version")?.size,
          "2",
        );
        // Without --from: the same source again, the same bytes.
        const again = await runIn(r, ["app", "update", "tgz"]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(await Deno.readFile(`${r.dir}/tgz/root.squashfs`), sq);
      });

      await t.step("app install of a rootfs app renders the templates only", async () => {
        await Deno.remove(`${r.dir}/tgz/run.json`);
        const before = await Deno.readFile(`${r.dir}/tgz/root.squashfs`);
        const res = await runIn(r, ["app", "install", "tgz"]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(await Deno.stat(`${r.dir}/tgz/run.json`).then(() => true), true);
        assert.deepEqual(await Deno.readFile(`${r.dir}/tgz/root.squashfs`), before);
        assert.doesNotMatch(res.stderr, /WARN/);
        await Deno.remove(`${r.dir}/tgz/root.squashfs`);
        const warned = await runIn(r, ["app", "install", "tgz"]);
        assert.equal(warned.code, 0, warned.stderr);
        assert.match(warned.stderr, /WARN: tgz\/root\.squashfs is missing: pvr app update tgz/);
        assert.equal((await runIn(r, ["app", "update", "tgz"])).code, 0);
        assert.deepEqual(await Deno.readFile(`${r.dir}/tgz/root.squashfs`), before);
      });

      await t.step("add commits like any other files", async () => {
        assert.equal((await runIn(r, ["add", "."])).code, 0);
        const c = await runIn(r, ["commit", "-m", "rootfs apps"]);
        assert.equal(c.code, 0, c.stderr);
      });
    });
  },
});

Deno.test({
  name: `app add --type rootfs refuses unsafe or bad tarballs, changing nothing${SKIP_NOTE}`,
  ignore,
  async fn(t) {
    await withRepo(async (r) => {
      const cases: [string, LayerEntry[] | Uint8Array, RegExp][] = [
        ["dotdot", [{ name: "etc/" }, { name: "../evil", data: "x" }], /"\.\."/],
        ["absolute", [{ name: "/etc/passwd", data: "x" }], /absolute/],
        [
          "hardlink-out",
          [{ name: "etc/" }, { name: "etc/x", type: "hardlink", link: "../../etc/passwd" }],
          /"\.\."/,
        ],
        [
          "under-symlink",
          [{ name: "lib", type: "symlink", link: "/tmp" }, { name: "lib/evil", data: "x" }],
          /symlink|not a directory/,
        ],
        ["not-a-tar", new TextEncoder().encode("hello, this is not a tar archive\n"), /tar/],
      ];
      await r.write({ "keep.txt": "k" });
      const before = await snapshotTree(r.dir);
      for (const [name, entries, why] of cases) {
        await t.step(name, async () => {
          const file = `${r.root}/${name}.tar`;
          await Deno.writeFile(file, entries instanceof Uint8Array ? entries : tarOf(entries));
          const res = await runIn(r, ["app", "add", name, "-t", "rootfs", "--from", file]);
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, why);
          assert.equal(res.stderr.trim().split("\n").length <= 2, true, res.stderr);
          assert.deepEqual(await snapshotTree(r.dir), before);
        });
      }
      await t.step("a source directory holding the app itself", async () => {
        const res = await runIn(r, ["app", "add", "self", "-t", "rootfs", "--from", "."]);
        assert.equal(res.code, 2);
        assert.match(res.stderr, /contains the app self itself/);
        assert.deepEqual(await snapshotTree(r.dir), before);
      });
      await t.step("a missing source", async () => {
        const res = await runIn(r, ["app", "add", "x", "-t", "rootfs", "--from", "/nonexistent"]);
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /does not exist/);
        assert.deepEqual(await snapshotTree(r.dir), before);
      });
      await t.step("an existing app is not overwritten", async () => {
        await Deno.writeFile(`${r.root}/ok.tar`, tarOf(ENTRIES));
        assert.equal(
          (await runIn(r, ["app", "add", "ok", "-t", "rootfs", "--from", "../ok.tar"])).code,
          0,
        );
        const mid = await snapshotTree(r.dir);
        const res = await runIn(r, ["app", "add", "ok", "-t", "rootfs", "--from", "../ok.tar"]);
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /already exists/);
        assert.deepEqual(await snapshotTree(r.dir), mid);
      });
    });
  },
});

/** Files named `pvr-rootfs-*` in the temp dir (downloads in progress or left behind). */
async function leftDownloads(): Promise<string[]> {
  const dir = Deno.env.get("TMPDIR") || "/tmp";
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("pvr-rootfs-")) out.push(e.name);
  }
  return out.sort();
}

Deno.test({
  name: `app add --type rootfs from an http URL: one temp file, length checked${SKIP_NOTE}`,
  ignore,
  async fn(t) {
    const tgz = new Uint8Array(gzipSync(tarOf(ENTRIES)));
    const ac = new AbortController();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/rootfs.tgz") return new Response(tgz);
        return new Response("no", { status: 404 });
      },
    );
    // A server that promises more bytes than it sends.
    const liar = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const liarDone = (async () => {
      for await (const conn of liar) {
        const buf = new Uint8Array(4096);
        await conn.read(buf).catch(() => null);
        const head = `HTTP/1.1 200 OK\r\nContent-Length: ${tgz.length + 100}\r\n` +
          "Connection: close\r\n\r\n";
        await conn.write(new TextEncoder().encode(head)).catch(() => {});
        await conn.write(tgz).catch(() => {});
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    })();
    const base = `http://127.0.0.1:${server.addr.port}`;
    const liarUrl = `http://127.0.0.1:${(liar.addr as Deno.NetAddr).port}/rootfs.tgz`;
    const leftBefore = await leftDownloads();
    try {
      await withRepo(async (r) => {
        await t.step("the download is squashed, nothing else of the temp dir", async () => {
          const res = await runIn(r, [
            "app",
            "add",
            "web",
            "-t",
            "rootfs",
            "--from",
            `${base}/rootfs.tgz`,
          ]);
          assert.equal(res.code, 0, res.stderr);
          assert.match(res.stderr, new RegExp(`Downloading file: ${base}/rootfs\\.tgz`));
          await checkListing(`${r.dir}/web/root.squashfs`);
          const names = [...(await listSquashfs(`${r.dir}/web/root.squashfs`)).keys()].filter(
            (n) => !n.includes("/") && n !== "/",
          ).sort();
          assert.deepEqual(names, ["bin", "dev", "etc", "proc", "run", "sys", "tmp", "usr", "var"]);
          const src = await srcOf(r, "web");
          assert.equal(src.rootfs_url, `${base}/rootfs.tgz`);
          // The same bytes as from the file on disk.
          await Deno.writeFile(`${r.root}/same.tgz`, tgz);
          const local = await runIn(r, [
            "app",
            "add",
            "same",
            "-t",
            "rootfs",
            "--from",
            "../same.tgz",
          ]);
          assert.equal(local.code, 0, local.stderr);
          assert.deepEqual(
            await Deno.readFile(`${r.dir}/same/root.squashfs`),
            await Deno.readFile(`${r.dir}/web/root.squashfs`),
          );
        });
        const before = await snapshotTree(r.dir);
        await t.step("404: a one-line error, nothing written", async () => {
          const res = await runIn(r, ["app", "add", "gone", "-t", "rootfs", "--from", `${base}/x`]);
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, /HTTP 404/);
          assert.deepEqual(await snapshotTree(r.dir), before);
        });
        await t.step("a short body: refused, nothing written", async () => {
          const res = await runIn(r, ["app", "add", "short", "-t", "rootfs", "--from", liarUrl]);
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, /GET http:\/\/127\.0\.0\.1:\d+\/rootfs\.tgz/);
          assert.deepEqual(await snapshotTree(r.dir), before);
        });
        await t.step("no download is left in the temp dir", async () => {
          assert.deepEqual(await leftDownloads(), leftBefore);
        });
      });
    } finally {
      ac.abort();
      await server.finished;
      liar.close();
      await liarDone.catch(() => {});
    }
  },
});
