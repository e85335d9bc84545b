/**
 * The bundle as shipped (scripts/bundle.ts → pvr.js): one file that runs offline, from
 * a directory with no deno.json, with an empty Deno cache; its `--version` and unchanged
 * `status` print what main.ts prints and never load the CLI part.
 */

import assert from "node:assert/strict";
import { buildBundle } from "../../scripts/bundle.ts";
import {
  commitFiles,
  pvrProcess,
  type PvrRun,
  settleTree,
  spawnPvr,
  withRepo,
} from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";
import {
  ERRORS_GOLDEN,
  errorsTranscript,
  GOLDEN,
  type Runner,
  walkthrough,
} from "./walkthrough.ts";

/**
 * `deno run -A --cached-only <bundle> <args>` with only `PATH`, `HOME` = the cwd,
 * `NO_COLOR` and `DENO_DIR` = `denoDir` (an empty dir: nothing cached, nothing fetched).
 */
function offline(bundle: string, denoDir: string): Runner {
  return async (args, cwd, env): Promise<PvrRun> => {
    const out = await pvrProcess(args, {
      cwd,
      env,
      entry: bundle,
      denoFlags: ["--cached-only"],
      denoDir,
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
}

const FILES = { "a.bin": "aaaa", "d/b.bin": "bbbb", "x.json": '{"k":[1,2,3]}' };

const FAST_PATHS = [
  ["--version"],
  ["-v"],
  ["status"],
  ["s"],
  ["status", "--json"],
  ["s", "--json"],
];

Deno.test("the bundle", async (t) => {
  await withTempDir(async (build) => {
    const bundle = `${build}/pvr.js`;
    await buildBundle(bundle);
    const source = await Deno.readTextFile(bundle);

    await t.step("has no static import: nothing is loaded before main.ts's code runs", () => {
      assert.doesNotMatch(source, /^\s*import\s*[\w${*"'`]/m);
      assert.doesNotMatch(source, /^\s*export\s/m);
      // No import of a literal specifier either: its one import is of the CLI part's
      // cached file (a computed URL), once the CLI is needed.
      const dynamic = [...source.matchAll(/\bimport\s*\(\s*(["'`])([^"'`]*)\1/g)];
      assert.deepEqual(dynamic.map((m) => m[2]), []);
    });

    await t.step("runs offline with an empty Deno cache: the golden transcripts", async () => {
      await withTempDir(async (denoDir) => {
        const run = offline(bundle, denoDir);
        await withTempDir(async (root) => {
          assert.equal(await walkthrough(run, root), await Deno.readTextFile(GOLDEN));
        });
        await withTempDir(async (root) => {
          assert.equal(await errorsTranscript(run, root), await Deno.readTextFile(ERRORS_GOLDEN));
        });
        // An npm: or remote module would have been fetched into a subdirectory of the
        // cache (its top level holds Deno's own analysis and code caches).
        const fetched: string[] = [];
        const walk = async (rel: string): Promise<void> => {
          for await (const e of Deno.readDir(`${denoDir}/${rel}`)) {
            if (e.isDirectory) await walk(`${rel}${e.name}/`);
            else if (rel !== "") fetched.push(`${rel}${e.name}`);
          }
        };
        await walk("");
        // Only the CLI part's own cached file (see scripts/bundle.ts), nothing fetched.
        assert.equal(fetched.length, 1, fetched.join(", "));
        assert.match(fetched[0], /^pvr\/cli-[0-9a-f]{16}\.mjs$/);
      });
    });

    await t.step(
      "the CLI part is cached once; a damaged or unwritable cache is not needed",
      async () => {
        await withTempDir(async (tmp) => {
          await withRepo(async (r) => {
            const cache = `${tmp}/cache`;
            const run = (env: Record<string, string>) =>
              spawnPvr(["json"], { cwd: r.dir, env: { ...r.env, ...env }, entry: bundle });
            const want = await spawnPvr(["json"], { cwd: r.dir, env: r.env });
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            const files = [...Deno.readDirSync(cache)].map((e) => e.name);
            assert.equal(files.length, 1);
            const file = `${cache}/${files[0]}`;
            const written = Deno.statSync(file);
            // Used again as it is, not rewritten.
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            assert.equal(Deno.statSync(file).mtime?.getTime(), written.mtime?.getTime());
            // A damaged file is not run: the command works and the file is written anew.
            await Deno.writeTextFile(file, "export default function (\n");
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            const whole = await Deno.readTextFile(file);
            assert.match(whole, /^const \{ require, module, exports, /);
            // Cut short after a whole statement: it imports, and is still not used.
            await Deno.writeTextFile(file, whole.slice(0, whole.indexOf("\n", 200) + 1));
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            assert.equal(await Deno.readTextFile(file), whole, "written anew");
            // A new build's file replaces the files of other builds and temp files a killed
            // process left a while ago; a fresh temp file (another process at work) stays.
            Deno.removeSync(file);
            await Deno.writeTextFile(`${cache}/cli-0123456789abcdef.mjs`, "old build");
            await Deno.writeTextFile(`${cache}/${files[0]}.1.2.tmp`, "killed");
            await Deno.utime(`${cache}/${files[0]}.1.2.tmp`, 1, 1);
            await Deno.writeTextFile(`${cache}/${files[0]}.3.4.tmp`, "in progress");
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: cache }), want);
            assert.deepEqual(
              [...Deno.readDirSync(cache)].map((e) => e.name).sort(),
              [files[0], `${files[0]}.3.4.tmp`],
            );
            // A cache that cannot be written: the CLI part is compiled as it is.
            await Deno.writeTextFile(`${tmp}/not-a-dir`, "");
            assert.deepEqual(await run({ PVR_BUNDLE_CACHE: `${tmp}/not-a-dir/x` }), want);
          });
        });
      },
    );

    await t.step("--version, -v and status print what main.ts prints", async () => {
      await withRepo(async (r) => {
        const same = async (args: string[]) => {
          const viaMain = await spawnPvr(args, { cwd: r.dir, env: r.env });
          const viaBundle = await spawnPvr(args, { cwd: r.dir, env: r.env, entry: bundle });
          assert.deepEqual(viaBundle, viaMain, `pvr ${args.join(" ")}`);
          return viaBundle;
        };
        await commitFiles(r, FILES);
        await settleTree(r);
        await r.run(["status"]); // the snapshot: status takes the lean path
        for (const args of FAST_PATHS) assert.equal((await same(args)).code, 0);
        assert.match((await same(["--version"])).stdout, /^pvr version \d+\.\d+\.\d+\n$/);
        await r.write({ "x.json": '{"k":[]}', "new.txt": "n" });
        assert.equal((await same(["status"])).stdout, "C x.json\n? new.txt\n");
        await settleTree(r);
        await r.run(["status"]);
        for (const args of FAST_PATHS) await same(args);
        assert.equal((await same(["status", "x"])).code, 2);
      });
      await withTempDir(async (dir) => {
        const env = { PVR_CONFIG_DIR: `${dir}/config` };
        const viaMain = await spawnPvr(["status"], { cwd: dir, env });
        const viaBundle = await spawnPvr(["status"], { cwd: dir, env, entry: bundle });
        assert.equal(viaBundle.code, 3); // not a repository
        assert.deepEqual(viaBundle, viaMain);
      });
    });

    await t.step("--version and an unchanged status never load the CLI part", async () => {
      const hook = "function __pvrLoadCli() {";
      assert.equal(source.split(hook).length, 2);
      const noCli = `${build}/no-cli.js`;
      await Deno.writeTextFile(
        noCli,
        source.replace(hook, `${hook}\n  throw new Error("the CLI part was loaded");`),
      );
      await withRepo(async (r) => {
        await commitFiles(r, FILES);
        await r.write({ "new.txt": "n" });
        await settleTree(r);
        await r.run(["status"]);
        for (const args of FAST_PATHS) {
          const want = await spawnPvr(args, { cwd: r.dir, env: r.env, entry: bundle });
          const got = await spawnPvr(args, { cwd: r.dir, env: r.env, entry: noCli });
          assert.deepEqual(got, want, `pvr ${args.join(" ")}`);
        }
        // Anything else needs the CLI part, which this copy cannot load.
        const json = await spawnPvr(["json"], { cwd: r.dir, env: r.env, entry: noCli });
        assert.notEqual(json.code, 0);
        assert.match(json.stderr, /the CLI part was loaded/);
      });
    });
  });
});
