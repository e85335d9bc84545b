/**
 * The same walkthrough and error cases as cli.test.ts, as real processes: `deno run -A
 * main.ts` and `deno run -A pvr.js`, the bundle built here by scripts/bundle.ts. Exit codes
 * and outputs must match the golden transcripts of the in-process run.
 */

import assert from "node:assert/strict";
import { spawnPvr } from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";
import { buildBundle } from "../../scripts/bundle.ts";
import {
  ERRORS_GOLDEN,
  errorsTranscript,
  GOLDEN,
  type Runner,
  walkthrough,
} from "./walkthrough.ts";

/** Builds `<dir>/pvr.js` with scripts/bundle.ts (as `deno task bundle` does). */
async function bundle(dir: string): Promise<string> {
  const out = `${dir}/pvr.js`;
  await buildBundle(out);
  return out;
}

function runner(entry: string): Runner {
  return (args, cwd, env) => spawnPvr(args, { cwd, env, entry });
}

Deno.test("main.ts as a subprocess prints the golden walkthrough and error transcripts", async () => {
  const run = runner("main.ts");
  await withTempDir(async (root) => {
    assert.equal(await walkthrough(run, root), await Deno.readTextFile(GOLDEN));
  });
  await withTempDir(async (root) => {
    assert.equal(await errorsTranscript(run, root), await Deno.readTextFile(ERRORS_GOLDEN));
  });
});

Deno.test("the bundle (scripts/bundle.ts → pvr.js) prints the golden walkthrough and error transcripts", async () => {
  await withTempDir(async (build) => {
    const run = runner(await bundle(build));
    await withTempDir(async (root) => {
      assert.equal(await walkthrough(run, root), await Deno.readTextFile(GOLDEN));
    });
    await withTempDir(async (root) => {
      assert.equal(await errorsTranscript(run, root), await Deno.readTextFile(ERRORS_GOLDEN));
    });
    // The bundle stands alone: it runs from a directory with no deno.json around it.
    const v = await spawnPvr(["--version"], {
      cwd: build,
      env: { PVR_CONFIG_DIR: build },
      entry: `${build}/pvr.js`,
    });
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^pvr version \d+\.\d+\.\d+/);
  });
});

Deno.test("a subprocess exits with the error's code: 4 for fsck problems, 5 for an unsafe state", async () => {
  await withTempDir(async (root) => {
    const env = { PVR_CONFIG_DIR: `${root}/config` };
    const dir = `${root}/repo`;
    await Deno.mkdir(dir);
    const run = (...args: string[]) => spawnPvr(args, { cwd: dir, env });
    assert.equal((await run("init")).code, 0);
    await Deno.writeTextFile(`${dir}/a.bin`, "a");
    assert.equal((await run("add")).code, 0);
    assert.equal((await run("commit")).code, 0);
    for await (const e of Deno.readDir(`${root}/config/objects`)) {
      await Deno.remove(`${root}/config/objects/${e.name}`);
    }
    const fsck = await run("fsck");
    assert.equal(fsck.code, 4);
    assert.match(fsck.stdout, /^missing [0-9a-f]{64} a\.bin\n$/);
    assert.equal(fsck.stderr, "ERROR: 1 of 1 objects are missing or damaged\n");
    await Deno.writeTextFile(`${dir}/.pvr/json`, '{"#spec":"x","/etc/x":"' + "0".repeat(64) + '"}');
    const st = await run("status", "--json");
    assert.equal(st.code, 5);
    assert.equal(JSON.parse(st.stderr).error.code, "UNSAFE_PATH");
  });
});
