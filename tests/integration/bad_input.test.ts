/**
 * Hostile and broken input, through the CLI: each case gets one `ERROR:` line on
 * stderr, the exit code of the README's table, and changes nothing — the repository
 * and its parent directory (which holds the config dir, the sources and any target)
 * are snapshotted, names and bytes, before and after.
 *
 * The inputs are built for real: files written on disk, tarballs made with node-tar's
 * header encoder and with GNU tar.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Header } from "tar";
import { exportRepo } from "../../mod.ts";
import {
  commitFiles,
  exists,
  sha256Hex,
  snapshotTree,
  type TestRepo,
  withRepo,
  writeFiles,
} from "../support/cli.ts";

const SPEC = "pantavisor-service-system@1";

/** Exit codes from the README table. */
const EXIT = { state: 3, damaged: 3, object: 4, unsafe: 5, reference: 7 } as const;

const FILES = {
  "a.txt": "hello\n",
  "c.json": '{\n    "x": 1\n}', // as checkout writes it
  "d/e.bin": "E",
};

/** A repository with FILES committed (aged, so the stat cache trusts them). */
function committed(r: TestRepo, files: Record<string, string> = FILES): Promise<void> {
  return commitFiles(r, files, { age: true });
}

/** Object ids in the store, each checked to hash to its name. */
async function intactObjects(r: TestRepo): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    for await (const e of Deno.readDir(r.objectsDir)) {
      assert.match(e.name, /^[0-9a-f]{64}$/, `stray file in the store: ${e.name}`);
      const sha = sha256Hex(await Deno.readFile(`${r.objectsDir}/${e.name}`));
      if (sha === e.name) out.add(e.name);
      else out.add(`corrupt:${e.name}`);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out;
}

/**
 * Everything under the test root except pvr's bookkeeping (lock file, stat cache, an
 * empty staging dir) and the object store, which {@link intactObjects} checks.
 */
async function snapshot(r: TestRepo): Promise<string[]> {
  const snap = await snapshotTree(r.root, {
    skip: ["repo/.pvr/lock", "repo/.pvr/stat-cache", "config/objects"],
  });
  return snap.filter((l) => !l.startsWith("d repo/.pvr/tmp "));
}

interface RefuseOptions {
  /** Run in this directory instead of the repository. */
  cwd?: string;
  /**
   * The store may gain verified objects (a get that copies good objects before it
   * meets the bad one): the store is content-addressed and shared, and what it gains is
   * intact; nothing else may change.
   */
  storeMayGain?: boolean;
}

/** Runs `pvr args` and checks: exit code, one ERROR line, stdout empty, nothing changed. */
async function expectRefused(
  r: TestRepo,
  args: string[],
  code: number,
  opts: RefuseOptions = {},
): Promise<string> {
  const before = await snapshot(r);
  const objectsBefore = await intactObjects(r);
  const out = await r.run(args, { cwd: opts.cwd });
  const what = `pvr ${args.join(" ")}`;
  assert.equal(out.code, code, `${what}: exit ${out.code}, stderr ${out.stderr}`);
  assert.equal(out.stdout, "", `${what}: stdout`);
  assert.match(out.stderr, /^ERROR: [^\n]+\n$/, `${what}: one ERROR line`);
  assert.deepEqual(await snapshot(r), before, `${what}: files changed`);
  const objectsAfter = await intactObjects(r);
  if (opts.storeMayGain) {
    for (const o of objectsBefore) assert.ok(objectsAfter.has(o), `${what}: lost ${o}`);
    for (const o of objectsAfter) assert.ok(!o.startsWith("corrupt:"), `${what}: stored ${o}`);
  } else {
    assert.deepEqual(objectsAfter, objectsBefore, `${what}: the store changed`);
  }
  return out.stderr;
}

/** One entry for {@link nodeTar}. */
interface TarSpec {
  path: string;
  type?: "File" | "SymbolicLink" | "Link" | "Directory";
  linkpath?: string;
  body?: string | Uint8Array;
  mode?: number;
}

/** A tar archive whose headers are encoded by node-tar (names taken as given). */
function nodeTar(entries: TarSpec[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const body = typeof e.body === "string"
      ? new TextEncoder().encode(e.body)
      : e.body ?? new Uint8Array();
    const header = Buffer.alloc(512);
    new Header({
      path: e.path,
      type: e.type ?? "File",
      linkpath: e.linkpath,
      size: e.type === undefined || e.type === "File" ? body.length : 0,
      mode: e.mode ?? 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    }).encode(header, 0);
    blocks.push(new Uint8Array(header));
    if (body.length > 0) {
      blocks.push(body);
      blocks.push(new Uint8Array((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let off = 0;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

/** The `json` entry text of a state given as a plain record. */
function stateJson(state: Record<string, unknown>): string {
  return JSON.stringify({ "#spec": SPEC, ...state });
}

/** Runs GNU tar. */
async function gnuTar(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("tar", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

/** Runs import, get and clone of `archive` and expects each to be refused with `code`. */
async function refuseArchiveEverywhere(r: TestRepo, archive: string, code: number): Promise<void> {
  await expectRefused(r, ["import", archive], code);
  await expectRefused(r, ["get", archive], code);
  await expectRefused(r, ["merge", archive], code);
  await expectRefused(r, ["clone", archive, "cloned"], code, { cwd: r.root });
}

const E = sha256Hex("E");

// --- unsafe state keys -------------------------------------------------------------------

Deno.test("a .pvr/json key with .. is refused (exit 5) by every command; nothing is written", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const state = JSON.parse(await Deno.readTextFile(`${r.dir}/.pvr/json`));
    state["../escape.txt"] = sha256Hex("hello\n");
    await Deno.writeTextFile(`${r.dir}/.pvr/json`, JSON.stringify(state));
    for (
      const args of [
        ["status"],
        ["diff"],
        ["json"],
        ["add"],
        ["commit"],
        ["checkout"],
        ["checkout", "--hardlink"],
        ["export", "../out.tar"],
        ["fsck"],
        ["put", "../bare"],
      ]
    ) {
      const err = await expectRefused(r, args, EXIT.unsafe);
      assert.match(err, /\.\.\/escape\.txt/);
    }
    assert.equal(await exists(`${r.root}/escape.txt`), false);
  });
});

Deno.test("a .pvr/json key with an absolute path is refused (exit 5); nothing is written there", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const target = `${r.root}/abs-escape.txt`;
    const state = JSON.parse(await Deno.readTextFile(`${r.dir}/.pvr/json`));
    state[target] = sha256Hex("hello\n");
    await Deno.writeTextFile(`${r.dir}/.pvr/json`, JSON.stringify(state));
    for (const args of [["status"], ["checkout"], ["commit"], ["export", "../out.tgz"]]) {
      await expectRefused(r, args, EXIT.unsafe);
    }
    assert.equal(await exists(target), false);
  });
});

Deno.test("a tarball whose json has a .. or absolute key is refused by import, get, merge, clone (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    for (const key of ["../evil.txt", "ok/../../evil.txt", `${r.root}/evil.txt`]) {
      const archive = `${r.root}/bad-key.tar`;
      await Deno.writeFile(
        archive,
        nodeTar([
          { path: "json", body: stateJson({ [key]: E }), mode: 0o600 },
          { path: `objects/${E}`, body: "E" },
        ]),
      );
      await refuseArchiveEverywhere(r, archive, EXIT.unsafe);
      await Deno.remove(archive);
    }
    assert.equal(await exists(`${r.root}/evil.txt`), false);
  });
});

Deno.test("a source repository whose json has a .. or absolute key is refused by get, merge, clone (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    // A bare dir (json + objects/) and a checkout root (.pvr/json).
    await writeFiles(`${r.root}/bare`, {
      json: stateJson({ "../evil.txt": E }),
      [`objects/${E}`]: "E",
    });
    await writeFiles(`${r.root}/root`, {
      ".pvr/json": stateJson({ [`${r.root}/evil.txt`]: E }),
      [`.pvr/objects/${E}`]: "E",
    });
    for (const src of [`${r.root}/bare`, `${r.root}/root`, `${r.root}/bare#bsp`]) {
      await expectRefused(r, ["get", src], EXIT.unsafe);
      await expectRefused(r, ["merge", src], EXIT.unsafe);
      await expectRefused(r, ["clone", src, "cloned"], EXIT.unsafe, { cwd: r.root });
    }
    assert.equal(await exists(`${r.root}/evil.txt`), false);
  });
});

// --- hostile tar entries -------------------------------------------------------------------

Deno.test("a tar entry named ../x is refused (exit 5) and nothing lands outside", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const archive = `${r.root}/dotdot.tar`;
    await Deno.writeFile(
      archive,
      nodeTar([
        { path: "json", body: stateJson({}) },
        { path: "../../evil", body: "pwned" },
        { path: `objects/../../evil2`, body: "pwned" },
      ]),
    );
    await refuseArchiveEverywhere(r, archive, EXIT.unsafe);
  });
});

Deno.test("a tar entry with an absolute name (GNU tar -P) is refused (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await writeFiles(`${r.root}/abs-src`, { json: stateJson({}), payload: "pwned" });
    // The archive names the payload by its absolute path; extracting it would overwrite it.
    await gnuTar(
      ["-P", "-cf", `${r.root}/abs.tar`, "json", `${r.root}/abs-src/payload`],
      `${r.root}/abs-src`,
    );
    await refuseArchiveEverywhere(r, `${r.root}/abs.tar`, EXIT.unsafe);
  });
});

Deno.test("a tar symlink entry pointing outside (GNU tar) is refused (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const work = `${r.root}/sym-src`;
    await writeFiles(work, { json: stateJson({ "x.bin": E }) });
    await Deno.mkdir(`${work}/objects`);
    await Deno.symlink(`${r.root}/repo/a.txt`, `${work}/objects/${E}`);
    await gnuTar(["-cf", `${r.root}/sym.tar`, "json", "objects"], work);
    await refuseArchiveEverywhere(r, `${r.root}/sym.tar`, EXIT.unsafe);
  });
});

Deno.test("a tar hardlink entry pointing outside is refused (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const archive = `${r.root}/hard.tar`;
    await Deno.writeFile(
      archive,
      nodeTar([
        { path: "json", body: stateJson({ "x.bin": E }) },
        { path: `objects/${E}`, type: "Link", linkpath: "../../../../etc/passwd" },
      ]),
    );
    await refuseArchiveEverywhere(r, archive, EXIT.unsafe);
  });
});

Deno.test("a truncated tarball is refused by import, get, merge, clone (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/good.tar` });
    const whole = await Deno.readFile(`${r.root}/good.tar`);
    for (const cut of [100, 700, whole.length - 1024 - 10]) {
      await Deno.writeFile(`${r.root}/cut.tar`, whole.slice(0, cut));
      await refuseArchiveEverywhere(r, `${r.root}/cut.tar`, EXIT.damaged);
    }
    // A truncated gzip stream too.
    await exportRepo({ ...r.opts, output: `${r.root}/good.tgz` });
    const gz = await Deno.readFile(`${r.root}/good.tgz`);
    await Deno.writeFile(`${r.root}/cut.tgz`, gz.slice(0, gz.length - 20));
    await refuseArchiveEverywhere(r, `${r.root}/cut.tgz`, EXIT.damaged);
  });
});

Deno.test("a file that is not a tarball is refused by import (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.writeTextFile(`${r.root}/notes.tar`, "just some text, not an archive\n".repeat(40));
    await expectRefused(r, ["import", `${r.root}/notes.tar`], EXIT.damaged);
    await Deno.writeFile(`${r.root}/empty.tar`, new Uint8Array());
    await expectRefused(r, ["import", `${r.root}/empty.tar`], EXIT.damaged);
  });
});

// --- broken .pvr files ---------------------------------------------------------------------

Deno.test(".pvr/json that is not JSON, an array, or a directory is refused (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const good = await Deno.readTextFile(`${r.dir}/.pvr/json`);
    for (const content of ["{not json", "[1,2]", '"a string"', good + " trailing"]) {
      await Deno.writeTextFile(`${r.dir}/.pvr/json`, content);
      for (const args of [["status"], ["commit"], ["checkout"]]) {
        await expectRefused(r, args, EXIT.state);
      }
    }
    await Deno.remove(`${r.dir}/.pvr/json`);
    await Deno.mkdir(`${r.dir}/.pvr/json`);
    for (const args of [["status"], ["commit"], ["checkout"], ["add"]]) {
      await expectRefused(r, args, EXIT.state);
    }
  });
});

Deno.test("a non-string value for a non-JSON key is refused (exit 3) in .pvr/json, a tarball, a source", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const state = JSON.parse(await Deno.readTextFile(`${r.dir}/.pvr/json`));
    const good = JSON.stringify(state);
    for (const value of [{ x: 1 }, 5, null, [E], "not-a-sha"]) {
      await Deno.writeTextFile(`${r.dir}/.pvr/json`, JSON.stringify({ ...state, "a.txt": value }));
      await expectRefused(r, ["status"], EXIT.state);
      await expectRefused(r, ["checkout"], EXIT.state);
    }
    await Deno.writeTextFile(`${r.dir}/.pvr/json`, good);
    await Deno.writeFile(
      `${r.root}/nonstring.tar`,
      nodeTar([{ path: "json", body: stateJson({ "y.bin": { sha: E } }) }]),
    );
    await refuseArchiveEverywhere(r, `${r.root}/nonstring.tar`, EXIT.state);
    await writeFiles(`${r.root}/src`, { json: stateJson({ "y.bin": 42 }) });
    await expectRefused(r, ["get", `${r.root}/src`], EXIT.state);
    await expectRefused(r, ["clone", `${r.root}/src`, "cloned"], EXIT.state, { cwd: r.root });
  });
});

Deno.test("a corrupt .pvr/config is refused (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    for (const content of ["{bad", "[]", '{"ObjectsDir": 5}']) {
      await Deno.writeTextFile(`${r.dir}/.pvr/config`, content);
      for (const args of [["status"], ["commit"], ["checkout"], ["get", "../x"]]) {
        await expectRefused(r, args, EXIT.state);
      }
    }
  });
});

Deno.test("a corrupt .pvr/new is refused (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    for (const content of ["{bad", "[1]", '{"a.txt": 5}']) {
      await Deno.writeTextFile(`${r.dir}/.pvr/new`, content);
      for (const args of [["status"], ["add"], ["commit"], ["checkout"]]) {
        await expectRefused(r, args, EXIT.state);
      }
    }
  });
});

// --- objects -------------------------------------------------------------------------------

Deno.test("checkout of an object whose bytes do not match its name is refused (exit 4)", async () => {
  await withRepo(async (r) => {
    await committed(r, { ...FILES, "z.bin": "zzz" });
    const obj = `${r.objectsDir}/${sha256Hex("zzz")}`;
    const mtime = (await Deno.stat(obj)).mtime!;
    await Deno.chmod(obj, 0o644);
    await Deno.writeTextFile(obj, "ZZZ"); // same size, other bytes
    // A later mtime, as any later write has (one in the commit's clock tick would not).
    await Deno.utime(obj, new Date(), new Date(mtime.getTime() + 5000));
    await Deno.remove(`${r.dir}/z.bin`);
    // The store's bad object stays (fsck reports it); the snapshot covers the rest.
    const before = await intactObjects(r);
    assert.ok(before.has(`corrupt:${sha256Hex("zzz")}`));
    await expectRefused(r, ["checkout"], EXIT.object);
    await expectRefused(r, ["checkout", "--hardlink"], EXIT.object);
    assert.equal(await exists(`${r.dir}/z.bin`), false);
    assert.equal(await exists(`${r.dir}/.pvr/journal`), false);
    // The repository is usable: fsck names the problem.
    const fsck = await r.run(["fsck"]);
    assert.equal(fsck.code, EXIT.object);
    assert.equal(fsck.stdout, `corrupt ${sha256Hex("zzz")} z.bin\n`);
  });
});

Deno.test("get, merge and clone from a source with a bad object are refused (exit 4); no bad bytes are stored", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const good = sha256Hex("good");
    const bad = sha256Hex("bad");
    await writeFiles(`${r.root}/src`, {
      json: stateJson({ "a-good.bin": good, "b-bad.bin": bad }),
      [`objects/${good}`]: "good",
      [`objects/${bad}`]: "BAD!",
    });
    await expectRefused(r, ["get", `${r.root}/src`], EXIT.object, { storeMayGain: true });
    await expectRefused(r, ["merge", `${r.root}/src`], EXIT.object, { storeMayGain: true });
    await expectRefused(r, ["clone", `${r.root}/src`, "cloned"], EXIT.object, {
      cwd: r.root,
      storeMayGain: true,
    });
    assert.equal(await exists(`${r.objectsDir}/${bad}`), false);
    // The same as a tarball: refused before anything reaches the store.
    await Deno.writeFile(
      `${r.root}/bad.tar`,
      nodeTar([
        { path: "json", body: stateJson({ "b-bad.bin": bad }) },
        { path: `objects/${bad}`, body: "BAD!" },
      ]),
    );
    await refuseArchiveEverywhere(r, `${r.root}/bad.tar`, EXIT.object);
  });
});

Deno.test("a source missing an object is refused by get and clone (exit 4)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await writeFiles(`${r.root}/src`, { json: stateJson({ "x.bin": sha256Hex("absent") }) });
    await Deno.mkdir(`${r.root}/src/objects`);
    await expectRefused(r, ["get", `${r.root}/src`], EXIT.object);
    await expectRefused(r, ["clone", `${r.root}/src`, "cloned"], EXIT.object, { cwd: r.root });
    await Deno.writeFile(
      `${r.root}/missing.tar`,
      nodeTar([{ path: "json", body: stateJson({ "x.bin": sha256Hex("absent") }) }]),
    );
    await refuseArchiveEverywhere(r, `${r.root}/missing.tar`, EXIT.object);
  });
});

Deno.test("a missing object is refused by checkout, export and put (exit 4)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.objectsDir}/${sha256Hex("hello\n")}`);
    await Deno.remove(`${r.dir}/a.txt`);
    await expectRefused(r, ["checkout"], EXIT.object);
    await expectRefused(r, ["checkout", "--hardlink"], EXIT.object);
    await expectRefused(r, ["export", "../out.tgz"], EXIT.object);
    await expectRefused(r, ["export", "-"], EXIT.object);
    await expectRefused(r, ["put", "../bare"], EXIT.object);
    // An existing bare repository is left as it was too.
    await writeFiles(`${r.root}/existing`, { json: stateJson({}) });
    await Deno.mkdir(`${r.root}/existing/objects`);
    await expectRefused(r, ["put", "../existing"], EXIT.object);
    // The repository still works.
    assert.equal((await r.run(["status"])).stdout, "D a.txt\n");
  });
});

// --- the working tree ----------------------------------------------------------------------

Deno.test("a tracked file that is a dangling symlink is refused by status, diff, json, commit (exit 3)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await Deno.remove(`${r.dir}/a.txt`);
    await Deno.symlink(`${r.root}/nowhere`, `${r.dir}/a.txt`);
    for (const args of [["status"], ["diff"], ["json"], ["commit"], ["add", "a.txt"]]) {
      const err = await expectRefused(r, args, EXIT.state);
      assert.match(err, /a\.txt/);
    }
  });
});

Deno.test("checkout refuses to write through a parent directory that is a symlink to outside (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r, { ...FILES, "d/f.bin": "F", "z/last.bin": "L" });
    await Deno.mkdir(`${r.root}/outside`);
    await Deno.remove(`${r.dir}/d`, { recursive: true });
    await Deno.symlink(`${r.root}/outside`, `${r.dir}/d`);
    await Deno.remove(`${r.dir}/a.txt`); // would be written first, were nothing checked
    await Deno.remove(`${r.dir}/z/last.bin`);
    for (const args of [["checkout"], ["checkout", "--hardlink"], ["checkout", "-c"]]) {
      const err = await expectRefused(r, args, EXIT.unsafe);
      assert.match(err, /symbolic link/);
    }
    assert.deepEqual([...Deno.readDirSync(`${r.root}/outside`)], []);
    assert.equal(await exists(`${r.dir}/a.txt`), false, "nothing written before the refusal");
    assert.equal(await exists(`${r.dir}/.pvr/journal`), false);
    // Later commands are not stuck on a half-done checkout.
    const st = await r.run(["status"]);
    assert.equal(st.code, 0);
    assert.equal(st.stdout, "D a.txt\nD d/e.bin\nD d/f.bin\nD z/last.bin\n? d\n");
  });
});

Deno.test("checkout refuses a symlinked parent deeper in the path (exit 5)", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a/b/c/file.bin": "deep" });
    await Deno.mkdir(`${r.root}/outside`);
    await Deno.remove(`${r.dir}/a/b`, { recursive: true });
    await Deno.symlink(`${r.root}/outside`, `${r.dir}/a/b`);
    await expectRefused(r, ["checkout"], EXIT.unsafe);
    assert.deepEqual([...Deno.readDirSync(`${r.root}/outside`)], []);
  });
});
