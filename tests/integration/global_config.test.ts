/** `globalConfig()`: `<config-dir>/config.json`, created with the Go defaults. */

import assert from "node:assert/strict";
import { globalConfig } from "../../mod.ts";
import { exists, rejectsWithCode, withRepo } from "../support/cli.ts";

Deno.test("globalConfig() creates config.json with the Go defaults on first use", async () => {
  await withRepo(async (r) => {
    const res = await globalConfig({ configDir: r.configDir });
    assert.deepEqual(res, {
      config: { Spec: "1", AutoUpgrade: true, DistributionTag: "develop" },
      changed: false,
    });
    assert.equal(
      await Deno.readTextFile(`${r.configDir}/config.json`),
      '{"Spec":"1","AutoUpgrade":true,"DistributionTag":"develop"}',
    );
    assert.equal((await Deno.stat(r.configDir)).mode! & 0o777, 0o700);
  }, { init: false });
});

Deno.test("globalConfig() sets a boolean and a string and writes compact JSON in Go field order", async () => {
  await withRepo(async (r) => {
    const res = await globalConfig({
      configDir: r.configDir,
      set: ["AutoUpgrade=false", "DistributionTag=stable"],
    });
    assert.equal(res.changed, true);
    assert.deepEqual(res.config, { Spec: "1", AutoUpgrade: false, DistributionTag: "stable" });
    assert.equal(
      await Deno.readTextFile(`${r.configDir}/config.json`),
      '{"Spec":"1","AutoUpgrade":false,"DistributionTag":"stable"}',
    );
    assert.deepEqual((await globalConfig({ configDir: r.configDir })).config, res.config);
  }, { init: false });
});

Deno.test("globalConfig() splits KEY=VALUE at the last = (as the Go pvr), so A=b=c names key A=b", async () => {
  await withRepo(async (r) => {
    const err = await rejectsWithCode(
      globalConfig({ configDir: r.configDir, set: ["DistributionTag=a=b"] }),
      "USAGE",
    );
    assert.match(err.message, /DistributionTag=a\b/);
  }, { init: false });
});

Deno.test("globalConfig() refuses an unknown key with USAGE and writes nothing", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(globalConfig({ configDir: r.configDir, set: ["Nope=1"] }), "USAGE");
    await rejectsWithCode(
      globalConfig({ configDir: r.configDir, set: ["autoupgrade=false"] }),
      "USAGE",
    );
    assert.equal(
      await Deno.readTextFile(`${r.configDir}/config.json`),
      '{"Spec":"1","AutoUpgrade":true,"DistributionTag":"develop"}',
    );
  }, { init: false });
});

Deno.test("globalConfig() refuses a value of the wrong type and a setting without =", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(
      globalConfig({ configDir: r.configDir, set: ["AutoUpgrade=maybe"] }),
      "USAGE",
    );
    await rejectsWithCode(globalConfig({ configDir: r.configDir, set: ["Spec=true"] }), "USAGE");
    await rejectsWithCode(globalConfig({ configDir: r.configDir, set: ["AutoUpgrade"] }), "USAGE");
    assert.match(await Deno.readTextFile(`${r.configDir}/config.json`), /"AutoUpgrade":true/);
  }, { init: false });
});

Deno.test("globalConfig() with a damaged config.json fails with CORRUPT_REPO and keeps the file", async () => {
  await withRepo(async (r) => {
    await Deno.mkdir(r.configDir, { recursive: true });
    await Deno.writeTextFile(`${r.configDir}/config.json`, "{not json");
    await rejectsWithCode(globalConfig({ configDir: r.configDir }), "CORRUPT_REPO");
    assert.equal(await Deno.readTextFile(`${r.configDir}/config.json`), "{not json");
  }, { init: false });
});

Deno.test("pvr global-config prints 4-space JSON; --json compact; repos need no config.json", async () => {
  await withRepo(async (r) => {
    await r.run(["status"]);
    assert.equal(await exists(`${r.configDir}/config.json`), false, "only global-config makes it");
    const out = await r.run(["global-config", "AutoUpgrade=false"]);
    assert.deepEqual(out, {
      code: 0,
      stdout:
        '{\n    "Spec": "1",\n    "AutoUpgrade": false,\n    "DistributionTag": "develop"\n}\n',
      stderr: "",
    });
    const js = await r.run(["global-config", "--json"]);
    assert.equal(js.stdout, '{"Spec":"1","AutoUpgrade":false,"DistributionTag":"develop"}\n');
    const bad = await r.run(["global-config", "Bogus=1"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^ERROR: unknown global config key Bogus/);
  });
});
