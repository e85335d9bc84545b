/** `pvr self-upgrade` against a real docker-registry holding a pvr-like image. */

import assert from "node:assert/strict";
import { imagePlatformDir, selfUpgrade } from "../../core/ops/self_upgrade.ts";
import { rejectsWithCode, runPvr } from "../support/cli.ts";
import { pushImage, startRegistry, type TestRegistry, which } from "../support/registry.ts";
import type { LayerEntry } from "../support/layer_tar.ts";
import { withTempDir } from "../support/temp.ts";

const missing = [
  which("docker-registry") ? null : "docker-registry",
  which("skopeo") ? null : "skopeo",
]
  .filter((m) => m !== null);
const ignore = missing.length > 0 || Deno.build.os !== "linux";
if (missing.length > 0) {
  // deno-lint-ignore no-console
  console.warn(`self_upgrade.test.ts skipped: missing ${missing.join(", ")}`);
}

const OLD = "#!/bin/sh\necho old pvr\n";
const here = imagePlatformDir(Deno.build.os, Deno.build.arch);

function script(text: string): LayerEntry {
  return { name: `pkg/bin/${here}/pvr`, mode: 0o755, data: `#!/bin/sh\necho ${text}\n` };
}

/** Pushes a pvr-like image: layer 1 has every platform's binary, layer 2 replaces ours. */
async function pushPvr(reg: TestRegistry, tag: string, version: string) {
  const others = ["linux_amd64", "linux_arm64", "linux_arm"].filter((d) => d !== here);
  return await pushImage(reg, "pantacor/pvr", tag, {
    platforms: [{ os: "linux", architecture: "amd64" }],
    layers: () => [
      [
        { name: "pkg/" },
        { name: "pkg/bin/" },
        ...others.map((d) => ({ name: `pkg/bin/${d}/pvr`, mode: 0o755, data: `other ${d}` })),
        script("first layer"),
      ],
      [{ name: "./pkg/bin/README", data: version }, {
        ...script(version),
        name: `./${script("").name}`,
      }],
    ],
    config: () => ({ Labels: { version } }),
  });
}

async function configDigest(reg: TestRegistry, manifest: string): Promise<string> {
  const r = await fetch(`http://${reg.host}/v2/pantacor/pvr/manifests/${manifest}`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return (await r.json()).config.digest;
}

async function layerDigests(reg: TestRegistry, manifest: string): Promise<string[]> {
  const r = await fetch(`http://${reg.host}/v2/pantacor/pvr/manifests/${manifest}`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return (await r.json()).layers.map((l: { digest: string }) => l.digest);
}

async function fakeExe(dir: string): Promise<{ real: string; link: string }> {
  await Deno.mkdir(`${dir}/opt/pvr`, { recursive: true });
  await Deno.mkdir(`${dir}/bin`);
  const real = `${dir}/opt/pvr/pvr`;
  await Deno.writeTextFile(real, OLD);
  await Deno.chmod(real, 0o755);
  await Deno.symlink("../opt/pvr/pvr", `${dir}/bin/pvr`);
  return { real, link: `${dir}/bin/pvr` };
}

async function runScript(path: string): Promise<string> {
  const out = await new Deno.Command(path, { stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "self-upgrade replaces the executable atomically, keeps .bak, records installed_version",
  ignore,
  fn: async () => {
    const reg = await startRegistry();
    try {
      const pushed = await pushPvr(reg, "develop", "v2");
      const version = await configDigest(reg, pushed.manifests["linux/amd64"]);
      await withTempDir(async (dir) => {
        const configDir = `${dir}/config`;
        const exe = await fakeExe(dir);
        const lines: string[] = [];
        const opts = {
          configDir,
          exePath: exe.link,
          image: `${reg.host}/pantacor/pvr`,
          dockerEnv: {},
          progress: (l: string) => lines.push(l),
        };
        const r = await selfUpgrade(opts);
        assert.deepEqual(
          [r.upToDate, r.exe, r.backup, r.version, r.image, r.binaryPath],
          [
            false,
            exe.real,
            `${exe.real}.bak`,
            version,
            `${reg.host}/pantacor/pvr:develop`,
            `pkg/bin/${here}/pvr`,
          ],
        );
        assert.equal(await runScript(exe.link), "v2\n", "the last layer's binary wins");
        assert.equal((await Deno.stat(exe.real)).mode! & 0o777, 0o755);
        assert.equal(await Deno.readLink(exe.link), "../opt/pvr/pvr", "the link is kept");
        assert.equal(await Deno.readTextFile(`${exe.real}.bak`), OLD);
        assert.equal(await Deno.readTextFile(`${configDir}/installed_version`), version);
        assert.deepEqual([lines[0], ...lines.slice(1).sort()], [
          `Starting update PVR using Docker latest tag (${version})`,
          "Done with [1/2] from repository",
          "Done with [2/2] from repository",
        ]);
        const leftovers = [...Deno.readDirSync(`${dir}/opt/pvr`)].map((e) => e.name).sort();
        assert.deepEqual(leftovers, ["pvr", "pvr.bak"]);
        // Again: already the latest, nothing touched.
        const before = await Deno.readTextFile(exe.real);
        const again = await selfUpgrade(opts);
        assert.equal(again.upToDate, true);
        assert.equal(await Deno.readTextFile(exe.real), before);
        assert.equal(await Deno.readTextFile(`${exe.real}.bak`), OLD);
        // A new version (tag given): layers cached where they match, the binary replaced.
        const next = await pushPvr(reg, "v3", "v3");
        lines.length = 0;
        const third = await selfUpgrade({ ...opts, image: `${reg.host}/pantacor/pvr:v3` });
        assert.equal(third.version, await configDigest(reg, next.manifests["linux/amd64"]));
        assert.equal(await runScript(exe.link), "v3\n");
        assert.equal(await Deno.readTextFile(`${exe.real}.bak`), "#!/bin/sh\necho v2\n");
        assert.ok(lines.includes("Done with [1/2] from cache"), lines.join("\n"));
      });
    } finally {
      await reg.close();
    }
  },
});

Deno.test({
  name: "self-upgrade refuses a layer that does not match its digest and leaves everything alone",
  ignore,
  fn: async () => {
    const reg = await startRegistry();
    try {
      const pushed = await pushPvr(reg, "develop", "bad");
      const [, second] = await layerDigests(reg, pushed.manifests["linux/amd64"]);
      const hex = second.slice(7);
      const data = `${reg.dir}/storage/docker/registry/v2/blobs/sha256/${
        hex.slice(0, 2)
      }/${hex}/data`;
      const bytes = await Deno.readFile(data);
      bytes[bytes.length - 1] ^= 0xff; // same size, other bytes
      await Deno.writeFile(data, bytes);
      await withTempDir(async (dir) => {
        const configDir = `${dir}/config`;
        const exe = await fakeExe(dir);
        await rejectsWithCode(
          selfUpgrade({
            configDir,
            exePath: exe.link,
            image: `${reg.host}/pantacor/pvr`,
            dockerEnv: {},
          }),
          "OBJECT_CORRUPT",
        );
        assert.equal(await Deno.readTextFile(exe.real), OLD);
        assert.deepEqual([...Deno.readDirSync(`${dir}/opt/pvr`)].map((e) => e.name), ["pvr"]);
        await assert.rejects(Deno.stat(`${configDir}/installed_version`), Deno.errors.NotFound);
        // A platform the image has no binary for: refused, nothing touched.
        const fresh = await pushPvr(reg, "good", "good");
        assert.ok(fresh.index);
        await rejectsWithCode(
          selfUpgrade({
            configDir,
            exePath: exe.link,
            image: `${reg.host}/pantacor/pvr:good`,
            os: "plan9",
            dockerEnv: {},
          }),
          "FAILED",
        );
        assert.equal(await Deno.readTextFile(exe.real), OLD);
        await assert.rejects(Deno.stat(`${configDir}/installed_version`), Deno.errors.NotFound);
      });
    } finally {
      await reg.close();
    }
  },
});

Deno.test("self-upgrade under deno run is refused with one line and a non-zero exit", async () => {
  await withTempDir(async (dir) => {
    const r = await runPvr(["self-upgrade"], {
      cwd: dir,
      env: { PVR_CONFIG_DIR: dir, PVR_SELF_UPGRADE_IMAGE: "127.0.0.1:1/none" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ERROR: self-upgrade only works for a compiled pvr.*\n$/);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
    await rejectsWithCode(
      selfUpgrade({ configDir: dir, exePath: Deno.execPath() }),
      "FAILED",
    );
  });
});
