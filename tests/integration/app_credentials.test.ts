/**
 * Registry credentials for `pvr app add`: `-u/-p`, the Docker CLI config's `auths`
 * (base64 `auth`), `credHelpers` and `credsStore` (a `docker-credential-<name>` script
 * written by the test), against a real registry (`docker-registry`, images pushed with
 * skopeo) behind a token-auth front.
 *
 * Skipped (with the reason) when docker-registry, skopeo or squashfs-tools are missing.
 */

import assert from "node:assert/strict";
import { parseSrcJson } from "../../core/app/src_json.ts";
import { snapshotTree, withRepo } from "../support/cli.ts";
import {
  pushImage,
  registryToolsMissing,
  startRegistry,
  startTokenFront,
  type TestImage,
} from "../support/registry.ts";

const missing = registryToolsMissing();
const ignore = missing.length > 0;
const SKIP_NOTE = ignore ? ` [SKIPPED: missing ${missing.join(", ")}]` : "";
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
const USER = "alice";
const PASS = "s3cret-pass";
const LOCK_FILES = { skip: [".pvr/lock", ".pvr/tmp"] };

const IMAGE: TestImage = {
  platforms: [{ os: "linux", architecture: "amd64" }],
  layers: () => [[{ name: "etc/" }, { name: "etc/hello", data: "hello" }]],
  config: () => ({ Cmd: ["/bin/sh"] }),
};

/** A `docker-credential-<name>` script: logs its call, answers for `server` only. */
async function writeHelper(
  bin: string,
  name: string,
  server: string,
  user: string,
  secret: string,
): Promise<string> {
  const log = `${bin}/${name}.log`;
  const script = [
    "#!/bin/sh",
    "read -r server",
    `echo "$1 $server" >> '${log}'`,
    `if [ "$server" = '${server}' ]; then`,
    `  printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}' "$server"`,
    "else",
    "  echo 'credentials not found in native keychain'",
    "  exit 1",
    "fi",
    "",
  ].join("\n");
  await Deno.writeTextFile(`${bin}/docker-credential-${name}`, script, { mode: 0o755 });
  await Deno.chmod(`${bin}/docker-credential-${name}`, 0o755);
  return log;
}

Deno.test({
  name: `app add: -u/-p, Docker config auths, credHelpers and credsStore${SKIP_NOTE}`,
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const reg = await startRegistry();
    const front = startTokenFront(reg, USER, PASS);
    try {
      await pushImage(reg, "test/cred", "1", IMAGE);
      const from = `${front.host}/test/cred:1`;
      await withRepo(async (r) => {
        const home = `${r.root}/home`;
        const bin = `${r.root}/bin`;
        await Deno.mkdir(`${home}/.docker`, { recursive: true });
        await Deno.mkdir(bin);
        const env = { ...r.env, HOME: home, PATH: `${bin}:${PATH}` };
        const writeConfig = (cfg: unknown) =>
          Deno.writeTextFile(`${home}/.docker/config.json`, JSON.stringify(cfg));
        let n = 0;
        const add = (extra: string[] = [], e: Record<string, string> = env) =>
          r.run(["app", "add", `app${++n}`, "--from", from, "--source", "remote", ...extra], {
            env: e,
          });

        await t.step("no credentials: refused, nothing written", async () => {
          const before = await snapshotTree(r.dir, LOCK_FILES);
          const res = await add();
          assert.notEqual(res.code, 0);
          assert.match(res.stderr, /Image not found in source:remote/);
          assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
        });

        await t.step("auths: base64 user:pass", async () => {
          await writeConfig({ auths: { [front.host]: { auth: btoa(`${USER}:${PASS}`) } } });
          const res = await add();
          assert.equal(res.code, 0, res.stderr);
          assert.equal(front.tokenAuths.at(-1), "Basic " + btoa(`${USER}:${PASS}`));
          const src = parseSrcJson(await Deno.readFile(`${r.dir}/app${n}/src.json`));
          assert.equal(src.docker_name, `${front.host}/test/cred`);
        });

        await t.step("-u/-p win over the config", async () => {
          await writeConfig({ auths: { [front.host]: { auth: btoa(`${USER}:wrong`) } } });
          assert.notEqual((await add()).code, 0, "the config's wrong password is used");
          const res = await add(["-u", USER, "-p", PASS]);
          assert.equal(res.code, 0, res.stderr);
          await writeConfig({ auths: { [front.host]: { auth: btoa(`${USER}:${PASS}`) } } });
          assert.notEqual((await add(["-u", USER, "-p", "wrong"])).code, 0);
        });

        await t.step("credHelpers: docker-credential-<name> get", async () => {
          const log = await writeHelper(bin, "per-host", front.host, USER, PASS);
          await writeConfig({
            auths: { [front.host]: { auth: btoa(`${USER}:wrong`) } },
            credHelpers: { [front.host]: "per-host" },
          });
          const res = await add();
          assert.equal(res.code, 0, res.stderr);
          assert.equal(await Deno.readTextFile(log), `get ${front.host}\n`);
        });

        await t.step("credsStore, and auths when the store has nothing", async () => {
          const log = await writeHelper(bin, "store", front.host, USER, PASS);
          await writeConfig({ credsStore: "store" });
          const res = await add();
          assert.equal(res.code, 0, res.stderr);
          assert.equal(await Deno.readTextFile(log), `get ${front.host}\n`);
          // A store without an entry for this registry: the auths entry is used.
          await writeHelper(bin, "store", "elsewhere.example", USER, PASS);
          await writeConfig({
            credsStore: "store",
            auths: { [front.host]: { auth: btoa(`${USER}:${PASS}`) } },
          });
          const res2 = await add();
          assert.equal(res2.code, 0, res2.stderr);
        });

        await t.step("DOCKER_CONFIG names the config dir", async () => {
          const other = `${r.root}/dockercfg`;
          await Deno.mkdir(other);
          await Deno.writeTextFile(
            `${other}/config.json`,
            JSON.stringify({ auths: { [front.host]: { auth: btoa(`${USER}:${PASS}`) } } }),
          );
          await writeConfig({});
          const res = await add([], { ...env, DOCKER_CONFIG: other });
          assert.equal(res.code, 0, res.stderr);
        });

        await t.step("a missing helper: an error naming it, nothing written", async () => {
          await writeConfig({ credsStore: "absent" });
          const before = await snapshotTree(r.dir, LOCK_FILES);
          const res = await add();
          assert.equal(res.code, 9);
          assert.match(res.stderr, /docker-credential-absent is not on PATH/);
          assert.deepEqual(await snapshotTree(r.dir, LOCK_FILES), before);
        });
      });
    } finally {
      await front.close();
      await reg.close();
    }
  },
});
