/**
 * Real data: `pvwificonnect.tgz` is a genuine `pvr export` from Pantavisor's own test
 * suite (state with real `_sigs` signatures, a 3.5 MB squashfs). Import it, check it
 * out, verify it, export it again, and clone from it directly.
 */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { checkout, clone, exportRepo, fsck, importRepo, json, status } from "../../mod.ts";
import { canonicalJson } from "../../mod.ts";
import { PANTAVISOR_FIXTURES } from "../support/temp.ts";
import { sha256Hex, withRepo } from "../support/cli.ts";

const TGZ = `${PANTAVISOR_FIXTURES}pvwificonnect.tgz`;

/** Runs GNU tar (independent of the code under test) and returns stdout bytes. */
async function tar(args: string[], cwd?: string): Promise<Uint8Array> {
  const out = await new Deno.Command("tar", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return out.stdout;
}

/** The `json` entry of the original export, byte for byte. */
async function originalJson(): Promise<Uint8Array> {
  return await tar(["xzOf", TGZ, "json"]);
}

/** Extracts an archive into `dir` and checks that every object file hashes to its name. */
async function checkObjects(archive: string, dir: string): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  await tar(["xf", archive, "-C", dir]);
  const names: string[] = [];
  for await (const e of Deno.readDir(`${dir}/objects`)) {
    assert.equal(sha256Hex(await Deno.readFile(`${dir}/objects/${e.name}`)), e.name);
    names.push(e.name);
  }
  return names.sort();
}

Deno.test("pvwificonnect.tgz imports, checks out, passes fsck and exports back byte-identical", async () => {
  await withRepo(async (r) => {
    const orig = await originalJson();
    const imported = await importRepo({ ...r.opts, input: TGZ });
    assert.equal(imported.objects, 3);
    assert.deepEqual(
      await Deno.readFile(`${r.dir}/.pvr/json`),
      orig,
      ".pvr/json is the json entry",
    );

    await checkout(r.opts);
    const files: string[] = [];
    for (const key of imported.state.keys()) if (key !== "#spec") files.push(key);
    assert.deepEqual(files.sort(), [
      "_sigs/pvwificonnect.json",
      "pvwificonnect/lxc.container.conf",
      "pvwificonnect/root.squashfs",
      "pvwificonnect/root.squashfs.docker-digest",
      "pvwificonnect/run.json",
      "pvwificonnect/src.json",
    ]);
    // Every object file in the tree has the content the state names.
    for (const key of files) {
      const value = imported.state.get(key);
      if (typeof value === "string" && /^[0-9a-f]{64}$/.test(value)) {
        assert.equal(sha256Hex(await Deno.readFile(`${r.dir}/${key}`)), value, key);
      }
    }
    assert.deepEqual(await status(r.opts), { added: [], removed: [], changed: [], untracked: [] });
    assert.equal(canonicalJson((await json(r.opts)).state), new TextDecoder().decode(orig));
    assert.deepEqual(await fsck(r.opts), { objects: 3, problems: [], tempsRemoved: 0 });

    await exportRepo({ ...r.opts, output: `${r.root}/re.tgz` });
    assert.deepEqual(await tar(["xzOf", `${r.root}/re.tgz`, "json"]), orig);
    const objects = await checkObjects(`${r.root}/re.tgz`, `${r.root}/x`);
    assert.deepEqual(objects, [
      "25b1baa45a1ff796001980743878b169b7623c368f55a0a073df893121791929",
      "3768b42894f3ad1867563c7aa68cb67d8d8ec04f1f27208268750df6d1f6b959",
      "d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c",
    ]);
    // Even the tar bytes match the Go pvr's export (headers, order, padding).
    assert.deepEqual(
      new Uint8Array(gunzipSync(await Deno.readFile(`${r.root}/re.tgz`))),
      new Uint8Array(gunzipSync(await Deno.readFile(TGZ))),
    );
  });
});

Deno.test("pvwificonnect.tgz clones directly into a checked-out repository named pvwificonnect", async () => {
  await withRepo(async (r) => {
    const res = await clone({ ref: TGZ, cwd: r.root, configDir: r.configDir });
    assert.equal(res.dir, `${r.root}/pvwificonnect`);
    assert.equal(res.imported, 3);
    assert.deepEqual(await Deno.readFile(`${res.dir}/.pvr/json`), await originalJson());
    const opts = { dir: res.dir, configDir: r.configDir };
    assert.deepEqual(await status(opts), { added: [], removed: [], changed: [], untracked: [] });
    assert.deepEqual(await fsck(opts), { objects: 3, problems: [], tempsRemoved: 0 });
    assert.equal(
      sha256Hex(await Deno.readFile(`${res.dir}/pvwificonnect/root.squashfs`)),
      "d9d9845d77d2765575c848fe95be969f989c0687d2055b9f7168105c6e077e3c",
    );
    // Its signature file is inline JSON, checked out readable.
    const sig = JSON.parse(await Deno.readTextFile(`${res.dir}/_sigs/pvwificonnect.json`));
    assert.equal(sig["#spec"], "pvs@2");
  }, { init: false });
});

Deno.test("pvwificonnect.tgz#_sigs gets only the signature part", async () => {
  await withRepo(async (r) => {
    const res = await clone({
      ref: `${TGZ}#_sigs`,
      target: "sigs",
      cwd: r.root,
      configDir: r.configDir,
    });
    const state = JSON.parse(await Deno.readTextFile(`${res.dir}/.pvr/json`));
    assert.deepEqual(Object.keys(state).sort(), ["#spec", "_sigs/pvwificonnect.json"]);
    assert.equal(res.imported, 0);
  }, { init: false });
});
