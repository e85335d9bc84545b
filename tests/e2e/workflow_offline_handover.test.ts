/**
 * The offline hand-over, as real `pvr` processes: a real Pantavisor export
 * (pvwificonnect.tgz, made by the Go pvr) is imported and checked out, a JSON config is
 * edited and a blob replaced, status and diff show it as the reference says (§4.2,
 * §4.4), it is committed and exported, and the export is imported into another
 * repository with its own object store; parts move between repositories with get and
 * merge, and reset brings an edited tree back.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { sha256Hex } from "../support/cli.ts";
import { PANTAVISOR_FIXTURES } from "../support/temp.ts";
import { committed, namesIn, objectKeys, Shell, statusLines } from "../support/workflow.ts";

const FIXTURE = `${PANTAVISOR_FIXTURES}pvwificonnect.tgz`;
const APP = "pvwificonnect";
const FIXTURE_KEYS = [
  "_sigs/pvwificonnect.json",
  `${APP}/lxc.container.conf`,
  `${APP}/root.squashfs`,
  `${APP}/root.squashfs.docker-digest`,
  `${APP}/run.json`,
  `${APP}/src.json`,
];

/** The entries of a tar (plain bytes): name → data. */
function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const dec = new TextDecoder();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (a: number, n: number) => dec.decode(h.subarray(a, a + n)).replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const name = (prefix ? prefix + "/" : "") + field(0, 100);
    const size = parseInt(field(124, 12).trim() || "0", 8);
    out.set(name, tar.slice(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The store files of `objectsDir` named by `shas`, each checked against its name. */
async function storeHolds(objectsDir: string, shas: string[]): Promise<void> {
  for (const sha of shas) {
    const bytes = await Deno.readFile(`${objectsDir}/${sha}`);
    assert.equal(sha256Hex(bytes), sha, `${objectsDir}/${sha}`);
  }
}

Deno.test("offline hand-over: import a Go export, edit, commit, export, import elsewhere, get/merge parts, reset", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "pvr-wf-offline-" });
  try {
    const sh = new Shell({ PVR_CONFIG_DIR: `${root}/config` });
    const objects = `${root}/config/objects`;
    const a = `${root}/a`;
    const fixtureTar = untar(gunzipSync(await Deno.readFile(FIXTURE)));
    const fixtureState = JSON.parse(new TextDecoder().decode(fixtureTar.get("json")!));

    await t.step(
      "import the Go export: the state is the tarball's, the tree untouched",
      async () => {
        await Deno.mkdir(a);
        await sh.ok(a, ["init"]);
        const imp = await sh.ok(a, ["import", FIXTURE]);
        assert.equal(imp.stdout, "");
        assert.deepEqual(await committed(a), fixtureState);
        assert.deepEqual(
          Object.keys(fixtureState).filter((k) => k !== "#spec").sort(),
          FIXTURE_KEYS,
        );
        await storeHolds(objects, Object.values(objectKeys(fixtureState)));
        assert.deepEqual(await namesIn(a), [".pvr"]);
        // Nothing is checked out yet: every file of the state is missing from the tree.
        const st = await sh.ok(a, ["status"]);
        assert.equal(st.stdout, statusLines(FIXTURE_KEYS.map((k) => ["D", k])));
      },
    );

    await t.step("checkout writes the state; the tree is clean", async () => {
      await sh.ok(a, ["checkout"]);
      for (const [key, sha] of Object.entries(objectKeys(fixtureState))) {
        assert.equal(sha256Hex(await Deno.readFile(`${a}/${key}`)), sha, key);
      }
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(`${a}/${APP}/run.json`)),
        fixtureState[`${APP}/run.json`],
      );
      assert.equal((await sh.ok(a, ["status"])).stdout, "");
      assert.equal((await sh.ok(a, ["diff"])).stdout, "{}\n");
    });

    const newConf = "lxc.uts.name = pvwificonnect\nlxc.tty.max = 2\n";
    const wifiConf = "ssid=handover\n";
    let runJson: Record<string, unknown> = {};

    await t.step(
      "edit a JSON config, replace a blob, remove and add files: status and diff",
      async () => {
        runJson = JSON.parse(await Deno.readTextFile(`${a}/${APP}/run.json`));
        runJson.group = "app";
        runJson.volumes = ["extra.squashfs"];
        (runJson.storage as Record<string, unknown>)["docker--tmp"] = { persistence: "boot" };
        await Deno.writeTextFile(`${a}/${APP}/run.json`, JSON.stringify(runJson, null, 2));
        await Deno.remove(`${a}/${APP}/lxc.container.conf`);
        await Deno.writeTextFile(`${a}/${APP}/lxc.container.conf`, newConf);
        await Deno.remove(`${a}/${APP}/root.squashfs.docker-digest`);
        await Deno.mkdir(`${a}/_config/${APP}/etc`, { recursive: true });
        await Deno.writeTextFile(`${a}/_config/${APP}/etc/wifi.conf`, wifiConf);

        const st = await sh.ok(a, ["status"]);
        assert.equal(
          st.stdout,
          statusLines([
            ["D", `${APP}/root.squashfs.docker-digest`],
            ["C", `${APP}/lxc.container.conf`],
            ["C", `${APP}/run.json`],
            ["?", `_config/${APP}/etc/wifi.conf`],
          ]),
        );
        await sh.ok(a, ["add", "_config/"]);
        const st2 = await sh.ok(a, ["status"]);
        assert.equal(
          st2.stdout,
          statusLines([
            ["A", `_config/${APP}/etc/wifi.conf`],
            ["D", `${APP}/root.squashfs.docker-digest`],
            ["C", `${APP}/lxc.container.conf`],
            ["C", `${APP}/run.json`],
          ]),
        );
        const diff = await sh.ok(a, ["diff"]);
        assert.equal(
          diff.stdout,
          "{\n" +
            `\t"_config/${APP}/etc/wifi.conf": "${sha256Hex(wifiConf)}",\n` +
            `\t"${APP}/lxc.container.conf": "${sha256Hex(newConf)}",\n` +
            `\t"${APP}/root.squashfs.docker-digest": null,\n` +
            `\t"${APP}/run.json": {\n` +
            `\t\t"group": "app",\n` +
            `\t\t"storage": {\n` +
            `\t\t\t"docker--tmp": {\n` +
            `\t\t\t\t"persistence": "boot"\n` +
            `\t\t\t}\n` +
            `\t\t},\n` +
            `\t\t"volumes": [\n` +
            `\t\t\t"extra.squashfs"\n` +
            `\t\t]\n` +
            `\t}\n` +
            "}\n",
        );
        // The state has not changed yet.
        assert.deepEqual(await committed(a), fixtureState);
      },
    );

    let stateA: Record<string, unknown> = {};

    await t.step("commit: the new state, the new blobs in the store", async () => {
      const c = await sh.ok(a, ["commit", "-m", "hand-over"]);
      assert.equal(c.stdout, "");
      assert.match(
        c.stderr,
        new RegExp(`^Committing \\(raw\\): ${a}/${APP}/lxc.container.conf$`, "m"),
      );
      assert.match(c.stderr, new RegExp(`^Removing ${APP}/root.squashfs.docker-digest$`, "m"));
      stateA = await committed(a);
      const expected = { ...fixtureState };
      delete expected[`${APP}/root.squashfs.docker-digest`];
      expected[`${APP}/lxc.container.conf`] = sha256Hex(newConf);
      expected[`${APP}/run.json`] = runJson;
      expected[`_config/${APP}/etc/wifi.conf`] = sha256Hex(wifiConf);
      assert.deepEqual(stateA, expected);
      await storeHolds(objects, [sha256Hex(newConf), sha256Hex(wifiConf)]);
      assert.equal((await sh.ok(a, ["status"])).stdout, "");
    });

    const exported = `${root}/x.tgz`;

    await t.step("export: json and each object once, in sha order", async () => {
      const e = await sh.ok(a, ["export", exported]);
      assert.equal(e.stdout, "");
      const tar = untar(gunzipSync(await Deno.readFile(exported)));
      const shas = [...new Set(Object.values(objectKeys(stateA)))].sort();
      assert.deepEqual([...tar.keys()], ["json", ...shas.map((s) => `objects/${s}`)]);
      assert.deepEqual(
        new TextDecoder().decode(tar.get("json")),
        await Deno.readTextFile(`${a}/.pvr/json`),
      );
      for (const s of shas) assert.equal(sha256Hex(tar.get(`objects/${s}`)!), s);
    });

    const b = `${root}/b`;
    const shB = new Shell({ PVR_CONFIG_DIR: `${root}/config-b` });

    await t.step(
      "import into another repository (own store): identical json and objects",
      async () => {
        await Deno.mkdir(b);
        await shB.ok(b, ["init"]);
        await shB.ok(b, ["import", exported]);
        assert.equal(
          await Deno.readTextFile(`${b}/.pvr/json`),
          await Deno.readTextFile(`${a}/.pvr/json`),
        );
        const shas = [...new Set(Object.values(objectKeys(stateA)))].sort();
        assert.deepEqual(await namesIn(`${root}/config-b/objects`), shas);
        for (const s of shas) {
          assert.deepEqual(
            await Deno.readFile(`${root}/config-b/objects/${s}`),
            await Deno.readFile(`${objects}/${s}`),
          );
        }
        // Export is deterministic: the same state gives the same archive, wherever it is.
        await shB.ok(b, ["export", `${root}/from-b.tar`]);
        await sh.ok(a, ["export", `${root}/from-a.tar`]);
        assert.deepEqual(
          await Deno.readFile(`${root}/from-b.tar`),
          await Deno.readFile(`${root}/from-a.tar`),
        );
        await shB.ok(b, ["checkout"]);
        assert.equal((await shB.ok(b, ["status"])).stdout, "");
        assert.equal((await shB.ok(b, ["fsck"])).stdout, "");
        assert.equal(
          (await shB.ok(b, ["json", "-c"])).stdout,
          (await sh.ok(a, ["json", "-c"])).stdout,
        );
        for (const key of Object.keys(objectKeys(stateA))) {
          assert.deepEqual(await Deno.readFile(`${b}/${key}`), await Deno.readFile(`${a}/${key}`));
        }
      },
    );

    const c = `${root}/c`;

    await t.step("get a #part from a repository, merge a #part from the export", async () => {
      await Deno.mkdir(c);
      await sh.ok(c, ["init"]);
      await Deno.mkdir(`${c}/${APP}`);
      await Deno.mkdir(`${c}/bsp`);
      await Deno.writeTextFile(`${c}/${APP}/stale.txt`, "stale\n");
      await Deno.writeTextFile(`${c}/bsp/kernel.img`, "kernel\n");
      await Deno.writeTextFile(`${c}/_config.json`, '{"keep":true}');
      await sh.ok(c, ["add"]);
      await sh.ok(c, ["commit", "-m", "base"]);
      const before = await committed(c);

      const g = await sh.ok(c, ["get", `${a}#${APP}`]);
      assert.match(g.stdout, /Imported \d+ objects to /);
      const afterGet = await committed(c);
      const appKeys = Object.keys(stateA).filter((k) => k.startsWith(`${APP}/`));
      const expected: Record<string, unknown> = {
        "#spec": before["#spec"],
        "bsp/kernel.img": before["bsp/kernel.img"],
        "_config.json": { keep: true },
      };
      for (const k of appKeys) expected[k] = stateA[k];
      // The part replaced C's own pvwificonnect/ (stale.txt is gone from the state).
      assert.deepEqual(afterGet, expected);
      // The tree is untouched: the part's files are missing, stale.txt is untracked.
      assert.equal(
        (await sh.ok(c, ["status"])).stdout,
        statusLines([
          ...appKeys.sort().map((k): [string, string] => ["D", k]),
          ["?", `${APP}/stale.txt`],
        ]),
      );

      const m = await sh.ok(c, ["merge", `${exported}#_config`]);
      assert.match(m.stdout, /Imported \d+ objects to /);
      // _config.json is not under the part _config/ and stays.
      assert.deepEqual(await committed(c), {
        ...expected,
        [`_config/${APP}/etc/wifi.conf`]: sha256Hex(wifiConf),
      });
      await sh.ok(c, ["checkout"]);
      assert.equal(await Deno.readTextFile(`${c}/_config/${APP}/etc/wifi.conf`), wifiConf);
      assert.equal(
        sha256Hex(await Deno.readFile(`${c}/${APP}/root.squashfs`)),
        stateA[`${APP}/root.squashfs`],
      );
      // stale.txt left the state unchanged since its commit: checkout removes it.
      assert.equal(await Deno.stat(`${c}/${APP}/stale.txt`).catch(() => null), null);
      assert.equal((await sh.ok(c, ["status"])).stdout, "");
      assert.equal((await sh.ok(c, ["fsck"])).stdout, "");
    });

    await t.step("reset restores an edited tree; untracked files stay", async () => {
      const before = new Map<string, Uint8Array>();
      for (const k of Object.keys(stateA).filter((k) => k !== "#spec")) {
        before.set(k, await Deno.readFile(`${b}/${k}`));
      }
      await Deno.writeTextFile(`${b}/${APP}/run.json`, '{"broken": true}');
      await Deno.remove(`${b}/${APP}/lxc.container.conf`);
      await Deno.remove(`${b}/${APP}/root.squashfs`);
      await Deno.writeTextFile(`${b}/${APP}/root.squashfs`, "not a squashfs");
      await Deno.writeTextFile(`${b}/notes.txt`, "mine\n");
      assert.equal(
        (await shB.ok(b, ["status"])).stdout,
        statusLines([
          ["D", `${APP}/lxc.container.conf`],
          ["C", `${APP}/root.squashfs`],
          ["C", `${APP}/run.json`],
          ["?", "notes.txt"],
        ]),
      );
      await shB.ok(b, ["reset"]);
      for (const [k, bytes] of before) {
        assert.deepEqual(await Deno.readFile(`${b}/${k}`), bytes, k);
      }
      assert.equal(await Deno.readTextFile(`${b}/notes.txt`), "mine\n");
      assert.equal((await shB.ok(b, ["status"])).stdout, "? notes.txt\n");
      assert.equal((await shB.ok(b, ["fsck"])).stdout, "");
    });
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});
