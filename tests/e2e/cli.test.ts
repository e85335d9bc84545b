/**
 * The command line, in-process (`runCli` with captured streams): the Appendix B
 * walkthrough against a golden transcript, aliases, help, version, usage errors,
 * `--json` output and JSON errors.
 */

import assert from "node:assert/strict";
import { EXIT_CODE_HELP } from "../../commands/output.ts";
import { VERSION } from "../../mod.ts";
import { exists, makeRepo, runPvr, sha256Hex, type TestRepo, withRepo } from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";
import {
  ERRORS_GOLDEN,
  errorsTranscript,
  GOLDEN,
  UPDATE_GOLDEN,
  walkthrough,
} from "./walkthrough.ts";

async function checkGolden(url: URL, text: string): Promise<void> {
  if (UPDATE_GOLDEN) await Deno.writeTextFile(url, text);
  assert.equal(text, await Deno.readTextFile(url));
}

async function committed(r: TestRepo, files: Record<string, string>): Promise<void> {
  await r.write(files);
  assert.equal((await r.run(["add"])).code, 0);
  assert.equal((await r.run(["commit"])).code, 0);
}

Deno.test("the Appendix B walkthrough prints the golden transcript", async () => {
  await withTempDir(async (root) => {
    const text = await walkthrough((args, cwd, env) => runPvr(args, { cwd, env }), root);
    await checkGolden(GOLDEN, text);
  });
});

Deno.test("usage and repository errors print the golden one-line messages and exit codes", async () => {
  await withTempDir(async (root) => {
    const text = await errorsTranscript((args, cwd, env) => runPvr(args, { cwd, env }), root);
    await checkGolden(ERRORS_GOLDEN, text);
  });
});

Deno.test("pvr --version and -v print the version", async () => {
  await withTempDir(async (dir) => {
    for (const flag of ["--version", "-v"]) {
      assert.deepEqual(await runPvr([flag], { cwd: dir }), {
        code: 0,
        stdout: `pvr version ${VERSION}\n`,
        stderr: "",
      });
    }
  });
});

Deno.test("pvr --help lists every command with its aliases and the exit-code table", async () => {
  await withTempDir(async (dir) => {
    const r = await runPvr(["--help"], { cwd: dir });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^Usage: pvr \[options\] \[command\]\n/);
    for (
      const c of [
        "init|i",
        "add|a",
        "json|j",
        "diff|d",
        "status|s",
        "commit|ci",
        "put|p",
        "get|g",
        "merge|m",
        "reset|r",
        "clone|c",
        "export",
        "import",
        "fsck",
        "global-config",
      ]
    ) {
      assert.match(r.stdout, new RegExp(`\\n  ${c.replace("|", "\\|")} `), c);
    }
    assert.ok(r.stdout.endsWith(`\n${EXIT_CODE_HELP}\n`), "ends with the exit codes");
    assert.deepEqual(await runPvr(["help"], { cwd: dir }), r);
  });
});

Deno.test("pvr --help's exit-code table is the README's", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const rows = [...readme.matchAll(/^\| (\d) {4}\| (.+?) +\|$/gm)].map((m) => `${m[1]}  ${m[2]}`);
  const help = EXIT_CODE_HELP.split("\n").slice(1).map((l) => l.trim());
  assert.equal(rows.length, 10);
  // The same words, without the README's backticks.
  assert.deepEqual(
    help,
    rows.map((r) => r.replaceAll("`", "").replace("working-tree", "working tree")),
  );
});

Deno.test("pvr <command> --help prints the command's usage (exit 0)", async () => {
  await withTempDir(async (dir) => {
    const r = await runPvr(["status", "--help"], { cwd: dir });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: pvr status\|s \[options\]\n/);
    assert.match(r.stdout, /--json/);
  });
});

Deno.test("an unknown command prints No help topic for 'x' and exits 2", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await runPvr(["x"], { cwd: dir }), {
      code: 2,
      stdout: "",
      stderr: "No help topic for 'x'\n",
    });
    assert.equal((await runPvr(["frobnicate", "--json"], { cwd: dir })).code, 2);
  });
});

Deno.test("an unknown flag is a usage error (exit 2), before or after the command", async () => {
  await withRepo(async (r) => {
    for (const args of [["--bogus", "status"], ["status", "--bogus"], ["commit", "-z"]]) {
      const out = await r.run(args);
      assert.equal(out.code, 2, args.join(" "));
      assert.equal(out.stdout, "");
      assert.match(out.stderr, /^ERROR: unknown option '-/);
    }
  });
});

Deno.test("aliases i, a, s, d, j, ci, co, r, checkout run init, add, status, diff, json, commit, reset", async () => {
  await withTempDir(async (root) => {
    const env = { PVR_CONFIG_DIR: `${root}/config` };
    const dir = `${root}/repo`;
    await Deno.mkdir(dir);
    const run = (...args: string[]) => runPvr(args, { cwd: dir, env });
    assert.equal((await run("i")).code, 0);
    assert.ok(await exists(`${dir}/.pvr/json`), "i is init");
    await Deno.writeTextFile(`${dir}/a.txt`, "a");
    await Deno.writeTextFile(`${dir}/b.txt`, "b");
    assert.equal((await run("a", "a.txt")).code, 0);
    assert.deepEqual(await run("s"), await run("status"));
    assert.equal((await run("s")).stdout, "A a.txt\n? b.txt\n", "s is status (not sig)");
    assert.deepEqual(await run("d"), await run("diff"));
    assert.match((await run("d")).stdout, /^\{\n\t"a\.txt": /, "d is diff");
    assert.deepEqual(await run("j"), await run("json"));
    assert.equal((await run("ci", "-m", "via ci")).code, 0);
    assert.equal(await Deno.readTextFile(`${dir}/.pvr/commitmsg`), "via ci");
    for (const alias of ["co", "r", "checkout", "reset"]) {
      await Deno.remove(`${dir}/a.txt`);
      assert.equal((await run(alias)).code, 0, alias);
      assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "a", `${alias} checks out`);
    }
  });
});

Deno.test("aliases p, g, m, c run put, get, merge, clone", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a", "bsp/k.img": "k" });
    assert.equal((await r.run(["p", "../bare"])).code, 0);
    assert.ok(await exists(`${r.root}/bare/json`), "p is put");
    const other = `${r.root}/other`;
    await Deno.mkdir(other);
    const run = (...args: string[]) => r.run(args, { cwd: other });
    assert.equal((await run("i")).code, 0);
    const g = await run("g", "../bare#bsp");
    assert.equal(g.code, 0);
    assert.equal(
      g.stdout,
      `\nImported 0 objects to ${r.objectsDir}\n\n\nRun pvr checkout to checkout the changed files into the workspace.\n`,
    );
    assert.equal(g.stderr, "bsp/k.img [OK cache]\n");
    assert.match(await Deno.readTextFile(`${other}/.pvr/json`), /"bsp\/k\.img"/);
    assert.doesNotMatch(await Deno.readTextFile(`${other}/.pvr/json`), /"a\.bin"/, "g is get #bsp");
    assert.equal((await run("m", "../bare")).code, 0);
    assert.match(await Deno.readTextFile(`${other}/.pvr/json`), /"a\.bin"/, "m is merge");
    const c = await r.run(["c", "bare", "cloned"], { cwd: r.root });
    assert.deepEqual(c, { code: 0, stdout: `Successfully cloned: ${r.root}/cloned\n`, stderr: "" });
    assert.equal(await Deno.readTextFile(`${r.root}/cloned/bsp/k.img`), "k");
  });
});

Deno.test("--json: status, diff, json, fsck and global-config print compact JSON", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a", "c.json": '{"n":1.50}' });
    await r.write({ "c.json": '{"n":12345678901234567891}', "u.txt": "u" });
    assert.deepEqual(await r.run(["status", "--json"]), {
      code: 0,
      stdout: '{"added":[],"removed":[],"changed":["c.json"],"untracked":["u.txt"]}\n',
      stderr: "",
    });
    assert.equal(
      (await r.run(["diff", "--json"])).stdout,
      '{"c.json":{"n":12345678901234567891}}\n',
    );
    assert.equal(
      (await r.run(["json", "--json"])).stdout,
      `{"#spec":"pantavisor-service-system@1","a.bin":"${sha256Hex("a")}",` +
        '"c.json":{"n":12345678901234567891}}\n',
    );
    assert.deepEqual(await r.run(["fsck", "--json"]), {
      code: 0,
      stdout: '{"objects":1,"problems":[],"tempsRemoved":0}\n',
      stderr: "",
    });
    assert.equal(
      (await r.run(["global-config", "--json"])).stdout,
      '{"Spec":"1","AutoUpgrade":true,"DistributionTag":"develop"}\n',
    );
  });
});

Deno.test("--json: fsck problems go to stdout as JSON and the error to stderr as JSON (exit 4)", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    await Deno.remove(`${r.objectsDir}/${sha256Hex("a")}`);
    const out = await r.run(["fsck", "--json"]);
    assert.equal(out.code, 4);
    assert.deepEqual(JSON.parse(out.stdout), {
      objects: 1,
      problems: [{ sha: sha256Hex("a"), key: "a.bin", kind: "missing" }],
      tempsRemoved: 0,
    });
    const err = JSON.parse(out.stderr);
    assert.equal(err.error.code, "FSCK");
    assert.equal(out.stderr.trimEnd().includes("\n"), false, "one line");
  });
});

Deno.test("--json: errors are one JSON object on stderr with a machine code", async () => {
  await withTempDir(async (root) => {
    const env = { PVR_CONFIG_DIR: `${root}/config` };
    const out = await runPvr(["status", "--json"], { cwd: root, env });
    assert.equal(out.code, 3);
    assert.equal(out.stdout, "");
    assert.deepEqual(JSON.parse(out.stderr), {
      error: {
        code: "NOT_A_REPO",
        message: `not a pvr repository: ${root}`,
        hint: "run pvr init, or cd into a repository",
      },
    });
    assert.ok(out.stderr.endsWith("}\n"));
  });
  await withRepo(async (r) => {
    await Deno.writeTextFile(
      `${r.dir}/.pvr/json`,
      JSON.stringify({ "#spec": "x", "../evil": sha256Hex("e") }),
    );
    const out = await r.run(["diff", "--json"]);
    assert.equal(out.code, 5);
    const e = JSON.parse(out.stderr).error;
    assert.equal(e.code, "UNSAFE_PATH");
    assert.equal(e.path, "../evil");
  });
});

Deno.test("the global -c/--config-dir flag and PVR_CONFIG_DIR choose the config dir", async () => {
  await withTempDir(async (root) => {
    for (
      const [i, args, env] of [
        [1, ["-c", `${root}/cfg1`, "init"], {}],
        [2, ["--config-dir", "../cfg2", "init"], {}],
        [3, ["init"], { PVR_CONFIG_DIR: `${root}/cfg3` }],
        [4, ["-c", `${root}/cfg4`, "init"], { PVR_CONFIG_DIR: `${root}/not-this` }],
        [5, ["init"], { HOME: `${root}/home` }],
      ] as const
    ) {
      const dir = `${root}/r${i}`;
      await Deno.mkdir(dir);
      const out = await runPvr([...args], { cwd: dir, env: { ...env } });
      assert.equal(out.code, 0, out.stderr);
      const expected = i === 5 ? `${root}/home/.pvr/objects` : `${root}/cfg${i}/objects`;
      assert.match(
        await Deno.readTextFile(`${dir}/.pvr/config`),
        new RegExp(`"ObjectsDir": "${expected}"`),
      );
    }
    assert.equal(await exists(`${root}/not-this`), false);
  });
});

Deno.test("without PVR_CONFIG_DIR or HOME pvr refuses to guess a config dir", async () => {
  await withTempDir(async (dir) => {
    const out = await runPvr(["init"], { cwd: dir, env: {} });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /^ERROR: cannot find the config dir/);
    assert.equal(await exists(`${dir}/.pvr`), false);
  });
});

Deno.test("pvr commit prints what it stores on stderr in the Go pvr's words", async () => {
  const r = await makeRepo();
  try {
    await r.write({ "a.txt": "a", "b.json": "{}", "gone.txt": "g" });
    await r.run(["add"]);
    await r.run(["commit"]);
    await r.write({ "a.txt": "A", "b.json": '{"x":1}', "n.bin": "n" });
    await Deno.remove(`${r.dir}/gone.txt`);
    await r.run(["add", "n.bin"]);
    assert.deepEqual(await r.run(["ci", "-m", "second"]), {
      code: 0,
      stdout: "",
      stderr: `Committing (raw): ${r.dir}/a.txt\n` +
        `Committing (inline): ${r.dir}/b.json\n` +
        `Adding raw ${r.dir}/n.bin with ${sha256Hex("n")}\n` +
        "Removing gone.txt\n",
    });
  } finally {
    await r.cleanup();
  }
});

Deno.test("pvr import - reads the tarball from standard input", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    const exported = await r.run(["export", "../x.tar"]);
    assert.equal(exported.code, 0);
    const other = `${r.root}/other`;
    await Deno.mkdir(other);
    assert.equal((await r.run(["init"], { cwd: other })).code, 0);
    const imp = await r.run(["import", "-"], {
      cwd: other,
      stdin: await Deno.readFile(`${r.root}/x.tar`),
    });
    assert.deepEqual(imp, { code: 0, stdout: "", stderr: "" });
    assert.equal(
      await Deno.readTextFile(`${other}/.pvr/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
  });
});

Deno.test("pvr export - writes a plain tar to stdout", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    const out = await r.run(["export", "-"]);
    assert.equal(out.code, 0);
    assert.equal(out.stderr, "");
    // The tar starts with the json entry's header.
    assert.equal(out.stdout.slice(0, 4), "json");
    assert.equal(out.stdout.length % 512, 0);
  });
});
