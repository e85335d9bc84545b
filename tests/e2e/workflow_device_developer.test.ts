/**
 * The device developer's day, as real `pvr` processes against the stand-in Pantahub and
 * a real image registry: register and log in, create a device from a repository, clone
 * its trail, add an app from the registry, review it with status and diff, commit, sign
 * it (keys and certificates made with openssl), post it, clone it again elsewhere and
 * check that both are the same byte for byte, and see the new revision in device get/ps.
 *
 * Skipped (with the reason) when docker-registry, skopeo, squashfs-tools or openssl are
 * missing.
 */

import assert from "node:assert/strict";
import { toPlain } from "../../core/model/json_value.ts";
import { sha256Hex, snapshotTree } from "../support/cli.ts";
import { startHub } from "../support/hub/server.ts";
import { call, login } from "../support/hub/testing.ts";
import {
  listSquashfs,
  pushImage,
  registryToolsMissing,
  startRegistry,
  type TestImage,
  which,
} from "../support/registry.ts";
import { committed, objectKeys, Shell, statusLines } from "../support/workflow.ts";
import { makeSigningChain } from "../support/pki.ts";

const missing = [
  ...registryToolsMissing(),
  ...(which("openssl") ? [] : ["openssl (Debian package openssl)"]),
];
const ignore = missing.length > 0;
const SKIP_NOTE = ignore ? ` [SKIPPED: missing ${missing.join(", ")}]` : "";

const SPEC = "pantavisor-service-system@1";

/** A small two-layer image for linux/amd64 and linux/arm64. */
function webImage(version: string): TestImage {
  return {
    platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    layers: (p) => [
      [
        { name: "etc/" },
        { name: "etc/os-release", data: "ID=test\n" },
        { name: "bin/" },
        { name: "bin/web", mode: 0o755, data: `web ${version} ${p.architecture}` },
      ],
      [{ name: "srv/" }, { name: "srv/index.html", data: `<p>${version}</p>` }],
    ],
    config: () => ({ Cmd: ["/bin/web"], Env: [`VERSION=${version}`], WorkingDir: "/srv" }),
  };
}

/** The files `app add web` writes. */
const WEB_FILES = [
  "web/lxc.container.conf",
  "web/root.squashfs",
  "web/root.squashfs.docker-digest",
  "web/run.json",
  "web/src.json",
];

Deno.test({
  name:
    `device developer: register, device create, clone, app add, sign, post, re-clone${SKIP_NOTE}`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "pvr-wf-dev-" });
    const hub = await startHub({ autoVerify: true });
    const reg = await startRegistry();
    try {
      const pushed = await pushImage(reg, "web", "1", webImage("v1"));
      const config = `${root}/config`;
      const sh = new Shell({ PVR_CONFIG_DIR: config, PVR_BASEURL: hub.url });
      const base = `${root}/base`;
      const dev = `${root}/dev`;
      let deviceId = "";
      let deviceSecret = "";

      await t.step("register, then log in with a token (-a): auth.json is saved", async () => {
        const r = await sh.ok(root, [
          "register",
          "-u",
          "devel",
          "-p",
          "devpw",
          "-e",
          "devel@example.org",
        ]);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, /Your registration process needs to be complete two steps/);
        assert.ok(hub.user("devel"), "the account exists on the hub");
        const token = await login(hub, "devel", "devpw");
        const lo = await sh.ok(root, ["-a", token, "login"]);
        assert.match(lo.stdout, /\n {4}"nick": "devel",\n/);
        assert.match(lo.stdout, /LoggedIn Successfully!\n$/);
        assert.ok(!lo.stdout.includes(token) && !lo.stderr.includes(token), "no token shown");
        assert.equal(((await Deno.stat(`${config}/auth.json`)).mode ?? 0) & 0o777, 0o600);
        // Later commands use the saved login (no -a, no PVR_ACCESSTOKEN).
        const wai = await sh.ok(root, ["whoami"]);
        assert.equal(wai.stderr, `devel(${hub.user("devel")!.prn}) at ${hub.authUrl}\n`);
      });

      await t.step("a base repository becomes a new device's factory state", async () => {
        await Deno.mkdir(base);
        await sh.ok(base, ["init"]);
        await Deno.mkdir(`${base}/bsp`);
        await Deno.writeTextFile(`${base}/bsp/run.json`, '{"linux":"kernel.img"}');
        await Deno.writeTextFile(`${base}/bsp/kernel.img`, "kernel v1\n");
        await sh.ok(base, ["add"]);
        await sh.ok(base, ["commit", "-m", "bsp"]);
        const cr = await sh.ok(base, ["device", "create", "box"]);
        assert.match(cr.stdout, /\n {4}"nick": "box",\n/);
        assert.match(cr.stdout, /\}\nDevice Created Successfully\n$/);
        const doc = JSON.parse(cr.stdout.slice(0, cr.stdout.lastIndexOf("}") + 1));
        deviceId = doc.id;
        deviceSecret = doc.secret;
        const d = hub.device("box")!;
        assert.equal(d.id, deviceId);
        assert.equal(d.owner, hub.user("devel")!.prn);
        const step0 = hub.step(deviceId, 0)!;
        assert.ok(step0, "rev 0 exists");
        assert.deepEqual(
          JSON.parse(JSON.stringify(toPlain(step0.state))),
          await committed(base),
        );
        assert.deepEqual(
          await hub.blob("devel", sha256Hex("kernel v1\n")),
          new TextEncoder().encode("kernel v1\n"),
        );
      });

      await t.step("clone the device's trail: the base state, checked out", async () => {
        const c = await sh.ok(root, ["clone", `${hub.url}/trails/${deviceId}`, "dev"]);
        assert.equal(c.stdout, `Successfully cloned: ${dev}\n`);
        assert.equal(
          await Deno.readTextFile(`${dev}/.pvr/json`),
          await Deno.readTextFile(`${base}/.pvr/json`),
        );
        assert.equal(await Deno.readTextFile(`${dev}/bsp/kernel.img`), "kernel v1\n");
        assert.equal((await committed(dev))["#spec"], SPEC);
        assert.equal((await sh.ok(dev, ["status"])).stdout, "");
      });

      await t.step(
        "app add from the registry; status and diff show exactly its files",
        async () => {
          const a = await sh.ok(dev, [
            "app",
            "add",
            "web",
            "--from",
            `${reg.host}/web:1`,
            "--platform",
            "linux/arm64",
          ]);
          assert.equal(a.stdout, "Application added\n");
          const ls = await listSquashfs(`${dev}/web/root.squashfs`);
          assert.equal(ls.get("bin/web")?.size, String("web v1 arm64".length));
          const src = JSON.parse(await Deno.readTextFile(`${dev}/web/src.json`));
          assert.equal(src.docker_digest, `${reg.host}/web@${pushed.manifests["linux/arm64"]}`);

          const st = await sh.ok(dev, ["status"]);
          assert.equal(st.stdout, statusLines(WEB_FILES.map((f) => ["?", f])));
          await sh.ok(dev, ["add", "web"]);
          const st2 = await sh.ok(dev, ["status"]);
          assert.equal(st2.stdout, statusLines(WEB_FILES.map((f) => ["A", f])));
          const diff = JSON.parse((await sh.ok(dev, ["diff"])).stdout);
          assert.deepEqual(Object.keys(diff).sort(), WEB_FILES);
          for (const f of ["web/lxc.container.conf", "web/root.squashfs"]) {
            assert.equal(diff[f], sha256Hex(await Deno.readFile(`${dev}/${f}`)), f);
          }
          assert.deepEqual(diff["web/src.json"], src);
          assert.deepEqual(
            diff["web/run.json"],
            JSON.parse(await Deno.readTextFile(`${dev}/web/run.json`)),
          );
        },
      );

      await t.step("commit: the state holds the app, the tree is clean", async () => {
        await sh.ok(dev, ["commit", "-m", "web app"]);
        assert.equal((await sh.ok(dev, ["status"])).stdout, "");
        assert.equal((await sh.ok(dev, ["diff"])).stdout, "{}\n");
        const state = await committed(dev);
        for (const f of WEB_FILES) assert.ok(f in state, f);
        assert.equal(
          state["web/root.squashfs"],
          sha256Hex(await Deno.readFile(`${dev}/web/root.squashfs`)),
        );
        assert.equal(await Deno.readTextFile(`${dev}/.pvr/commitmsg`), "web app");
      });

      await t.step("sig add --part web, add + commit, sig ls verifies against the CA", async () => {
        const pki = `${root}/pki`;
        await Deno.mkdir(pki);
        await makeSigningChain(pki);
        const sig = ["sig", "-k", `${pki}/leaf.key`, "-x", `${pki}/x5c.pem`];
        await sh.ok(dev, [...sig, "add", "--part", "web"]);
        const jws = JSON.parse(await Deno.readTextFile(`${dev}/_sigs/web.json`));
        assert.equal(jws["#spec"], "pvs@2");
        const header = JSON.parse(atob(jws.protected.replace(/-/g, "+").replace(/_/g, "/")));
        assert.equal(header.alg, "ES256");
        assert.deepEqual(header.pvs, {
          include: ["web/**", "_config/web/**"],
          exclude: ["web/src.json", "_sigs/web.json"],
        });
        assert.equal((await sh.ok(dev, ["status"])).stdout, "? _sigs/web.json\n");
        await sh.ok(dev, ["add", "_sigs/web.json"]);
        await sh.ok(dev, ["commit", "-m", "sign web"]);
        assert.deepEqual((await committed(dev))["_sigs/web.json"], jws);

        const ls = await sh.ok(dev, ["sig", "-c", `${pki}/ca.pem`, "ls"]);
        assert.deepEqual(JSON.parse(ls.stdout), {
          protected: WEB_FILES.filter((f) => f !== "web/src.json"),
          excluded: ["_sigs/web.json", "web/src.json"],
          notseen: ["#spec", "bsp/kernel.img", "bsp/run.json"],
        });
        // A CA that did not issue the chain refuses it (exit 13): the check is real.
        await sh.fails(dev, ["sig", "-c", `${pki}/other-ca.pem`, "ls"], 13);
        // A signature that does not match what it signs is refused (exit 13).
        const sigText = await Deno.readTextFile(`${dev}/_sigs/web.json`);
        const forged = { ...jws, signature: jws.signature.split("").reverse().join("") };
        await Deno.writeTextFile(`${dev}/_sigs/web.json`, JSON.stringify(forged));
        await sh.fails(dev, ["sig", "-c", `${pki}/ca.pem`, "ls"], 13);
        await Deno.writeTextFile(`${dev}/_sigs/web.json`, sigText);
      });

      await t.step("post: revision 1 on the hub holds the committed state", async () => {
        const p = await sh.ok(dev, ["post", "-m", "web app, signed"]);
        assert.match(
          p.stderr,
          new RegExp(
            `Successfully posted Revision 1 \\([0-9a-f]{8}\\) to device id ${deviceId}\\n$`,
          ),
        );
        const step1 = hub.step(deviceId, 1)!;
        assert.ok(step1, "rev 1 exists");
        assert.equal(step1.commitMsg, "web app, signed");
        assert.deepEqual(
          JSON.parse(JSON.stringify(toPlain(step1.state))),
          await committed(dev),
        );
        for (const [key, sha] of Object.entries(objectKeys(await committed(dev)))) {
          assert.deepEqual(await hub.blob("devel", sha), await Deno.readFile(`${dev}/${key}`), key);
        }
      });

      await t.step(
        "a fresh clone elsewhere (own object store) is the same byte for byte",
        async () => {
          const other = new Shell({
            PVR_CONFIG_DIR: `${root}/config2`,
            PVR_ACCESSTOKEN: await login(hub, "devel", "devpw"),
          });
          await Deno.mkdir(`${root}/elsewhere`);
          const c = await other.ok(`${root}/elsewhere`, ["clone", `${hub.url}/trails/${deviceId}`]);
          const copy = `${root}/elsewhere/${deviceId}`;
          assert.equal(c.stdout, `Successfully cloned: ${copy}\n`);
          assert.equal(
            (await other.ok(copy, ["json"])).stdout,
            (await sh.ok(dev, ["json"])).stdout,
          );
          assert.equal(
            await Deno.readTextFile(`${copy}/.pvr/json`),
            await Deno.readTextFile(`${dev}/.pvr/json`),
          );
          // Objects byte for byte; JSON files as values (checkout writes them 4-space
          // indented, app add and sig add wrote them their own way).
          const tree = await snapshotTree(copy, { skip: [".pvr"] });
          const objs = objectKeys(await committed(dev));
          assert.deepEqual(
            tree.filter((l) => l.startsWith("f ")).map((l) => l.split(" ")[1]),
            Object.keys(await committed(dev)).filter((k) => k !== "#spec").sort(),
          );
          for (const [key, sha] of Object.entries(objs)) {
            assert.ok(
              tree.includes(`f ${key} 644 ${(await Deno.stat(`${dev}/${key}`)).size} ${sha}`),
            );
            assert.deepEqual(
              await Deno.readFile(`${copy}/${key}`),
              await Deno.readFile(`${dev}/${key}`),
            );
          }
          for (const key of WEB_FILES.filter((k) => k.endsWith(".json")).concat("_sigs/web.json")) {
            assert.deepEqual(
              JSON.parse(await Deno.readTextFile(`${copy}/${key}`)),
              JSON.parse(await Deno.readTextFile(`${dev}/${key}`)),
              key,
            );
          }
          const fj = JSON.parse((await other.ok(copy, ["fsck", "--json"])).stdout);
          assert.deepEqual(fj.problems, [], JSON.stringify(fj));
          assert.equal(fj.objects, new Set(Object.values(objs)).size);
          assert.equal((await other.ok(copy, ["status"])).stdout, "");
          // The signature verifies in the copy too.
          await other.ok(copy, ["sig", "-c", `${root}/pki/ca.pem`, "ls"]);
        },
      );

      await t.step("device get and device ps show the new revision", async () => {
        const ps = JSON.parse((await sh.ok(root, ["device", "ps", "--json"])).stdout);
        assert.equal(ps.length, 1);
        assert.equal(ps[0].deviceid, deviceId);
        assert.equal(ps[0]["device-nick"], "box");
        assert.equal(ps[0].revision, 1);
        // The device takes rev 1: its progress makes it the device's revision in the table.
        const deviceToken = await login(hub, hub.device("box")!.prn, deviceSecret);
        const put = await call(hub, "PUT", `/trails/${deviceId}/steps/1/progress`, {
          token: deviceToken,
          json: { status: "DONE", "status-msg": "running", progress: 100 },
        });
        assert.equal(put.status, 200, put.text);
        const table = await sh.ok(root, ["device", "ps"]);
        const row = table.stdout.split("\n")[1];
        assert.match(row, new RegExp(`^\\s+${deviceId.slice(0, 8)}\\s+box\\s+1\\s+DONE\\s`), row);
        const sha8 = hub.step(deviceId, 1)!.stateSha.slice(0, 8);
        assert.ok(row.includes(sha8), `${row} shows the state sha ${sha8}`);
        const got = await sh.ok(root, ["device", "get", "box"]);
        const doc = JSON.parse(got.stdout);
        assert.equal(doc.id, deviceId);
        assert.equal(doc.nick, "box");
        assert.equal(doc["owner-nick"], "devel");
        const stepInfo = JSON.parse(
          (await sh.ok(dev, ["stepinfo", "--json", `${hub.url}/trails/${deviceId}/steps/1`]))
            .stdout,
        );
        assert.equal(stepInfo.rev, 1);
        assert.equal(stepInfo.progress.status, "DONE", JSON.stringify(stepInfo));
      });
    } finally {
      await reg.close();
      await hub.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
