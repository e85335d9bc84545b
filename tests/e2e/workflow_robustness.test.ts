/**
 * What happens between commands, as real `pvr` processes: a second process while one
 * holds the repository lock (exit 6; `--wait` waits), status right after a hardlink
 * reset, app update after the registry image changed, app rm then status, and a damaged
 * object in the store (fsck exit 4, export and checkout refuse, a get from a good copy
 * repairs the store).
 *
 * The registry steps are skipped (with the reason) when docker-registry, skopeo or
 * squashfs-tools are missing; the lock steps when /proc/locks cannot be read.
 */

import assert from "node:assert/strict";
import { canWatchLocks, waitForLock } from "../support/crash_scenarios.ts";
import { sha256Hex, snapshotTree } from "../support/cli.ts";
import { tarOf } from "../support/layer_tar.ts";
import {
  listSquashfs,
  pushImage,
  registryToolsMissing,
  startRegistry,
  type TestImage,
  type TestRegistry,
} from "../support/registry.ts";
import {
  committed,
  describe,
  objectKeys,
  Shell,
  startPvr,
  statusLines,
} from "../support/workflow.ts";

const missing = registryToolsMissing();
const noRegistry = missing.length > 0;
const REGISTRY_NOTE = noRegistry ? ` [SKIPPED: missing ${missing.join(", ")}]` : "";
const noLocks = !canWatchLocks();
const LOCK_NOTE = noLocks ? " [SKIPPED: /proc/locks cannot be read]" : "";

const dec = new TextDecoder();

/** A fresh root with a config dir and a shell on it. */
async function place(prefix: string): Promise<{ root: string; sh: Shell; objects: string }> {
  const root = await Deno.makeTempDir({ prefix });
  return {
    root,
    sh: new Shell({ PVR_CONFIG_DIR: `${root}/config` }),
    objects: `${root}/config/objects`,
  };
}

/** Makes `dir`, inits it and commits `files`. */
async function repoWith(sh: Shell, dir: string, files: Record<string, string>): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await sh.ok(dir, ["init"]);
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${rel}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text);
  }
  await sh.ok(dir, ["add"]);
  await sh.ok(dir, ["commit", "-m", "files"]);
}

/** Stops a child that is still running (a failed test), and waits for it. */
async function reap(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.output().catch(() => {});
}

Deno.test({
  name: `a second pvr process while one holds the lock: exit 6, --wait waits its turn${LOCK_NOTE}`,
  ignore: noLocks,
  async fn() {
    const { root, sh } = await place("pvr-wf-lock-");
    const r = `${root}/r`;
    const holders: Deno.ChildProcess[] = [];
    try {
      // An export archive: the state and its one object.
      const x = "from the export\n";
      const xTar = tarOf([
        {
          name: "json",
          data: `{"#spec":"pantavisor-service-system@1","x.txt":"${sha256Hex(x)}"}`,
        },
        { name: `objects/${sha256Hex(x)}`, data: x },
      ]);
      await repoWith(sh, r, { "a.txt": "a\n" });
      await Deno.writeTextFile(`${r}/b.txt`, "b\n");
      const before = await Deno.readTextFile(`${r}/.pvr/json`);

      // `pvr import -` takes the lock, then reads its input: it holds the lock until then.
      const holder = startPvr(["import", "-"], r, sh.env);
      holders.push(holder);
      const holderDone = holder.status;
      assert.ok(
        await waitForLock(r, holder.pid, "held", holderDone),
        "pvr import - was seen holding the lock",
      );

      for (const args of [["add", "b.txt"], ["commit", "-m", "now"], ["checkout"]]) {
        const run = await sh.fails(r, args, 6);
        assert.match(run.stderr, /another pvr process is changing this repository/);
        assert.match(run.stderr, /--wait/);
      }
      assert.equal(await Deno.readTextFile(`${r}/.pvr/json`), before);
      assert.equal(await Deno.stat(`${r}/.pvr/new`).catch(() => null), null, "add did nothing");
      // Readers do not need the lock.
      assert.equal((await sh.ok(r, ["status"])).stdout, "? b.txt\n");

      // A --wait checkout waits behind the import, then checks out what was imported.
      const waiter = startPvr(["--wait", "checkout"], r, sh.env);
      holders.push(waiter);
      await waiter.stdin.close();
      const waiterOut = waiter.output();
      assert.ok(
        await waitForLock(r, waiter.pid, "waiting", waiterOut),
        "pvr --wait checkout was seen waiting for the lock",
      );
      const w = holder.stdin.getWriter();
      await w.write(xTar);
      await w.close();
      const h = await holder.output();
      assert.equal(h.code, 0, dec.decode(h.stderr));
      const wo = await waiterOut;
      assert.equal(wo.code, 0, dec.decode(wo.stderr));
      assert.deepEqual(await committed(r), {
        "#spec": "pantavisor-service-system@1",
        "x.txt": sha256Hex("from the export\n"),
      });
      assert.equal(await Deno.readTextFile(`${r}/x.txt`), "from the export\n");
      // a.txt left the state unchanged since its commit: the checkout removed it.
      assert.equal(await Deno.stat(`${r}/a.txt`).catch(() => null), null);
      assert.equal((await sh.ok(r, ["status"])).stdout, "? b.txt\n");

      // Once the lock is free, the refused commands just work.
      await sh.ok(r, ["add", "b.txt"]);
      await sh.ok(r, ["commit", "-m", "b"]);
      assert.deepEqual(await committed(r), {
        "#spec": "pantavisor-service-system@1",
        "b.txt": sha256Hex("b\n"),
        "x.txt": sha256Hex("from the export\n"),
      });
    } finally {
      for (const c of holders) await reap(c);
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test("status right after reset --hardlink: clean, files linked read-only to the store", async () => {
  const { root, sh, objects } = await place("pvr-wf-hardlink-");
  const r = `${root}/r`;
  try {
    await repoWith(sh, r, {
      "bsp/kernel.img": "kernel\n",
      "app/root.squashfs": "squash\n",
      "app/run.json": '{"name":"app","volumes":[1,2]}',
    });
    await Deno.remove(`${r}/bsp/kernel.img`);
    await Deno.writeTextFile(`${r}/app/root.squashfs`, "edited\n");
    await Deno.writeTextFile(`${r}/app/run.json`, '{"name":"changed"}');
    assert.equal(
      (await sh.ok(r, ["status"])).stdout,
      statusLines([["D", "bsp/kernel.img"], ["C", "app/root.squashfs"], ["C", "app/run.json"]]),
    );
    await sh.ok(r, ["reset", "--hardlink"]);
    assert.equal((await sh.ok(r, ["status"])).stdout, "");
    assert.equal((await sh.ok(r, ["diff"])).stdout, "{}\n");
    const state = await committed(r);
    for (const [key, sha] of Object.entries(objectKeys(state))) {
      const file = await Deno.stat(`${r}/${key}`);
      const obj = await Deno.stat(`${objects}/${sha}`);
      assert.equal(file.ino, obj.ino, `${key} is a link to its object`);
      assert.equal((file.mode ?? 0) & 0o777, 0o444, key);
    }
    // Hardlink checkouts write JSON canonically.
    assert.equal(
      await Deno.readTextFile(`${r}/app/run.json`),
      '{"name":"app","volumes":[1,2]}',
    );
    // A linked file replaced by the user (rm + write, same size) is seen as changed.
    await Deno.remove(`${r}/bsp/kernel.img`);
    await Deno.writeTextFile(`${r}/bsp/kernel.img`, "KERNEL\n");
    assert.equal((await sh.ok(r, ["status"])).stdout, "C bsp/kernel.img\n");
    // A copy checkout brings it back; still clean, and the store is intact.
    await sh.ok(r, ["reset"]);
    assert.equal(await Deno.readTextFile(`${r}/bsp/kernel.img`), "kernel\n");
    assert.equal((await sh.ok(r, ["status"])).stdout, "");
    assert.equal((await sh.ok(r, ["fsck"])).stdout, "");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

/** A one-layer image whose /bin/web says `version`. */
function webImage(version: string): TestImage {
  return {
    platforms: [{ os: "linux", architecture: "amd64" }],
    layers: () => [[
      { name: "bin/" },
      { name: "bin/web", mode: 0o755, data: `web ${version}` },
    ]],
    config: () => ({ Cmd: ["/bin/web"], Env: [`VERSION=${version}`] }),
  };
}

const WEB_FILES = [
  "web/lxc.container.conf",
  "web/root.squashfs",
  "web/root.squashfs.docker-digest",
  "web/run.json",
  "web/src.json",
];

Deno.test({
  name: `app update after the registry image changed; app rm then status${REGISTRY_NOTE}`,
  ignore: noRegistry,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const { root, sh } = await place("pvr-wf-app-");
    let reg: TestRegistry | undefined;
    const r = `${root}/r`;
    try {
      reg = await startRegistry();
      const v1 = await pushImage(reg, "web", "stable", webImage("v1"));
      await repoWith(sh, r, { "bsp/kernel.img": "kernel\n" });
      const from = `${reg.host}/web:stable`;
      const appAdd = ["app", "add", "web", "--from", from, "--platform", "linux/amd64"];
      await sh.ok(r, appAdd);
      await sh.ok(r, ["add"]);
      await sh.ok(r, ["commit", "-m", "web v1"]);
      const s1 = JSON.parse(await Deno.readTextFile(`${r}/web/src.json`));
      assert.equal(s1.docker_digest, `${reg.host}/web@${v1.manifests["linux/amd64"]}`);
      const state1 = await committed(r);

      await t.step("app update picks up the new image behind the same tag", async () => {
        // Unchanged image: nothing to do, nothing changes.
        await sh.ok(r, ["app", "update", "web"]);
        assert.equal((await sh.ok(r, ["status"])).stdout, "");

        const v2 = await pushImage(reg!, "web", "stable", webImage("v2"));
        const u = await sh.ok(r, ["app", "update", "web"]);
        assert.equal(u.code, 0, describe(["app", "update", "web"], u));
        const s2 = JSON.parse(await Deno.readTextFile(`${r}/web/src.json`));
        assert.equal(s2.docker_digest, `${reg!.host}/web@${v2.manifests["linux/amd64"]}`);
        assert.deepEqual(s2.docker_config, { Cmd: ["/bin/web"], Env: ["VERSION=v2"] });
        assert.equal(
          await Deno.readTextFile(`${r}/web/root.squashfs.docker-digest`),
          s2.docker_digest,
        );
        const ls = await listSquashfs(`${r}/web/root.squashfs`);
        assert.equal(ls.get("bin/web")?.size, String("web v2".length));
        // The image's Env is in the LXC config: it is rendered again.
        const lxc = await Deno.readTextFile(`${r}/web/lxc.container.conf`);
        assert.match(lxc, /^lxc\.environment = VERSION=v2$/m);
        assert.doesNotMatch(lxc, /VERSION=v1/);
        assert.equal(
          (await sh.ok(r, ["status"])).stdout,
          statusLines([
            ["C", "web/lxc.container.conf"],
            ["C", "web/root.squashfs"],
            ["C", "web/root.squashfs.docker-digest"],
            ["C", "web/src.json"],
          ]),
        );
        const diff = JSON.parse((await sh.ok(r, ["diff"])).stdout);
        assert.deepEqual(Object.keys(diff).sort(), [
          "web/lxc.container.conf",
          "web/root.squashfs",
          "web/root.squashfs.docker-digest",
          "web/src.json",
        ]);
        assert.deepEqual(diff["web/src.json"].docker_config, { Env: ["VERSION=v2"] });
        assert.equal(
          diff["web/root.squashfs"],
          sha256Hex(await Deno.readFile(`${r}/web/root.squashfs`)),
        );
        assert.equal(diff["web/src.json"].docker_digest, s2.docker_digest);
        await sh.ok(r, ["commit", "-m", "web v2"]);
        const state2 = await committed(r);
        assert.notEqual(state2["web/root.squashfs"], state1["web/root.squashfs"]);
        assert.equal((await sh.ok(r, ["status"])).stdout, "");
      });

      await t.step("app rm: status shows D for exactly the app's files", async () => {
        const rm = await sh.ok(r, ["app", "rm", "web"]);
        assert.equal(rm.code, 0);
        assert.equal(await Deno.stat(`${r}/web`).catch(() => null), null);
        assert.equal(await Deno.readTextFile(`${r}/bsp/kernel.img`), "kernel\n");
        assert.equal((await sh.ok(r, ["app", "ls"])).stdout, "");
        assert.equal(
          (await sh.ok(r, ["status"])).stdout,
          statusLines(WEB_FILES.map((f) => ["D", f])),
        );
        const diff = JSON.parse((await sh.ok(r, ["diff"])).stdout);
        assert.deepEqual(diff, Object.fromEntries(WEB_FILES.map((f) => [f, null])));
        await sh.ok(r, ["commit", "-m", "no web"]);
        assert.deepEqual(await committed(r), {
          "#spec": "pantavisor-service-system@1",
          "bsp/kernel.img": sha256Hex("kernel\n"),
        });
        assert.equal((await sh.ok(r, ["status"])).stdout, "");
      });
    } finally {
      await reg?.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

/**
 * Damages a store object in place: its first byte flipped (`sameSize`), else a byte
 * appended.
 */
async function corrupt(objects: string, sha: string, sameSize = false): Promise<void> {
  const path = `${objects}/${sha}`;
  const bytes = await Deno.readFile(path);
  await Deno.chmod(path, 0o644);
  if (sameSize) {
    bytes[0] ^= 0xff;
    await Deno.writeFile(path, bytes);
  } else {
    await Deno.writeFile(path, new Uint8Array([...bytes, 0x21]));
  }
}

/** A repository `r` under a fresh root, committed with two blobs, and a good copy. */
async function damagedRepo(prefix: string, sameSize: boolean) {
  const { root, sh, objects } = await place(prefix);
  const r = `${root}/r`;
  const files = { "app/root.squashfs": "squash\n", "bsp/kernel.img": "kernel\n" };
  await repoWith(sh, r, files);
  // A good copy with its own object store.
  const good = new Shell({ PVR_CONFIG_DIR: `${root}/config-good` });
  await good.ok(root, ["clone", r, "good"]);
  const kernel = sha256Hex("kernel\n");
  await corrupt(objects, kernel, sameSize);
  return { root, sh, objects, r, kernel };
}

Deno.test("a damaged object: fsck exit 4, export and checkout refuse, get from a good copy repairs", async () => {
  const { root, sh, objects, r, kernel } = await damagedRepo("pvr-wf-corrupt-", false);
  try {
    const fsck = await sh.run(r, ["fsck"]);
    assert.equal(fsck.code, 4, describe(["fsck"], fsck));
    assert.equal(fsck.stdout, `corrupt ${kernel} bsp/kernel.img\n`);
    assert.equal(fsck.stderr, "ERROR: 1 of 2 objects are missing or damaged\n");
    const fj = await sh.run(r, ["fsck", "--json"]);
    assert.equal(fj.code, 4);
    assert.deepEqual(JSON.parse(fj.stdout).problems, [
      { sha: kernel, key: "bsp/kernel.img", kind: "corrupt" },
    ]);
    await sh.fails(r, ["export", `${root}/bad.tar`], 4);
    assert.equal(await Deno.stat(`${root}/bad.tar`).catch(() => null), null);

    // The tree needs the damaged object: checkout refuses, the file is not written.
    await Deno.remove(`${r}/bsp/kernel.img`);
    const json = await Deno.readTextFile(`${r}/.pvr/json`);
    const co = await sh.fails(r, ["checkout"], 4);
    assert.match(co.stderr, new RegExp(`${kernel} is corrupt`));
    assert.equal(await Deno.stat(`${r}/bsp/kernel.img`).catch(() => null), null);
    assert.equal(await Deno.readTextFile(`${r}/.pvr/json`), json);
    await sh.fails(r, ["checkout", "--hardlink"], 4);
    assert.equal(await Deno.stat(`${r}/bsp/kernel.img`).catch(() => null), null);
    assert.equal((await sh.ok(r, ["status"])).stdout, "D bsp/kernel.img\n");

    // A get from a good copy replaces the damaged object; then everything works.
    await sh.ok(r, ["get", `${root}/good`]);
    assert.equal(sha256Hex(await Deno.readFile(`${objects}/${kernel}`)), kernel);
    assert.equal((await sh.ok(r, ["fsck"])).stdout, "");
    await sh.ok(r, ["checkout"]);
    assert.equal(await Deno.readTextFile(`${r}/bsp/kernel.img`), "kernel\n");
    assert.equal((await sh.ok(r, ["status"])).stdout, "");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

// Import keeps an object the store already holds only when it is intact (verified
// before and unchanged, or re-hashing right): a damaged one is replaced by the archive's
// verified bytes, and fsck is clean afterwards.
Deno.test({
  name: "importing a good export replaces a damaged object in the store",
  async fn() {
    const { root, sh, objects, r, kernel } = await damagedRepo("pvr-wf-corrupt-import-", false);
    try {
      await sh.ok(`${root}/good`, ["export", `${root}/good.tar`]);
      await sh.ok(r, ["import", `${root}/good.tar`]);
      assert.equal(sha256Hex(await Deno.readFile(`${objects}/${kernel}`)), kernel);
      assert.equal((await sh.ok(r, ["fsck"])).stdout, "");
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

// A damaged object of the right size (a flipped bit, the common case) is repaired by a
// get of good bytes: the store keeps an existing object only when it re-hashes right.
Deno.test({
  name: "get from a good copy replaces a damaged object of the same size",
  async fn() {
    const { root, sh, objects, r, kernel } = await damagedRepo("pvr-wf-corrupt-size-", true);
    try {
      assert.equal((await sh.run(r, ["fsck"])).code, 4);
      await sh.ok(r, ["get", `${root}/good`]);
      assert.equal(sha256Hex(await Deno.readFile(`${objects}/${kernel}`)), kernel);
      assert.equal((await sh.ok(r, ["fsck"])).stdout, "");
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});

// A checkout that meets a damaged object fails with exit 4 before it touches any file:
// the objects it needs are verified first, so the tree is never left half checked out.
Deno.test({
  name: "a checkout refused for a damaged object leaves every file as it was",
  async fn() {
    const { root, sh, objects } = await place("pvr-wf-corrupt-atomic-");
    const r = `${root}/r`;
    try {
      await repoWith(sh, r, { "a.json": '{"v":1}', "b.bin": "bbbb\n", "z.bin": "zzzz\n" });
      await corrupt(objects, sha256Hex("zzzz\n"));
      await Deno.writeTextFile(`${r}/a.json`, '{"v":2}');
      await Deno.writeTextFile(`${r}/b.bin`, "edited\n");
      await Deno.remove(`${r}/z.bin`);
      const tree = await snapshotTree(r, { skip: [".pvr"] });
      await sh.fails(r, ["checkout"], 4);
      assert.deepEqual(await snapshotTree(r, { skip: [".pvr"] }), tree);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
