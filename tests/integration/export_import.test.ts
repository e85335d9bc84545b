/** `exportRepo()` / `importRepo()`: tarball layout, parts, and the round trip. */

import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { checkout, exportRepo, importRepo, init, status } from "../../mod.ts";
import { StatCache } from "../../core/repo/stat_cache.ts";
import {
  commitFiles,
  exists,
  rejectsWithCode,
  sha256Hex,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

const FILES = {
  "bsp/kernel.img": "kernel",
  "bsp/copy.img": "kernel",
  "bsp2/x.bin": "x",
  "app/run.json": '{"name":"app","big":12345678901234567891}',
  "top.bin": "top",
};

function committed(r: TestRepo, files: Record<string, string> = FILES): Promise<void> {
  return commitFiles(r, files);
}

/** `tar tf` of an archive (GNU tar, independent of the code under test), in order. */
async function tarList(path: string): Promise<string[]> {
  const out = await new Deno.Command("tar", { args: ["tf", path], stdout: "piped" }).output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

/** One entry of an archive, extracted with GNU tar. */
async function tarCat(path: string, entry: string): Promise<string> {
  const out = await new Deno.Command("tar", { args: ["xOf", path, entry], stdout: "piped" })
    .output();
  assert.ok(out.success);
  return new TextDecoder().decode(out.stdout);
}

/** A fresh repository next to `r` (same config dir, so the same store unless told). */
async function freshRepo(r: TestRepo, name: string, objectsDir?: string): Promise<string> {
  const dir = `${r.root}/${name}`;
  await init({ dir, configDir: r.configDir, objectsDir });
  return dir;
}

Deno.test("exportRepo() writes json first, then each object once, gzipped for .tgz", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const res = await exportRepo({ ...r.opts, output: "../out.tgz" });
    const file = `${r.root}/out.tgz`;
    const bytes = await Deno.readFile(file);
    assert.deepEqual([bytes[0], bytes[1]], [0x1f, 0x8b], "gzip");
    assert.equal(res.objects, 3);
    assert.equal(res.bytes, bytes.length);
    const names = await tarList(file);
    assert.equal(names[0], "json");
    assert.deepEqual(
      names.slice(1).sort(),
      ["kernel", "top", "x"].map((c) => `objects/${sha256Hex(c)}`).sort(),
    );
    assert.equal(await tarCat(file, "json"), await Deno.readTextFile(`${r.dir}/.pvr/json`));
    assert.equal(await tarCat(file, `objects/${sha256Hex("kernel")}`), "kernel");
  });
});

Deno.test("exportRepo() to a .tar path writes a plain tar", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/out.tar` });
    const bytes = await Deno.readFile(`${r.root}/out.tar`);
    assert.notDeepEqual([bytes[0], bytes[1]], [0x1f, 0x8b]);
    assert.equal((await tarList(`${r.root}/out.tar`))[0], "json");
  });
});

Deno.test("exportRepo() to a stream writes a plain tar", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const chunks: Uint8Array[] = [];
    await exportRepo({
      ...r.opts,
      output: new WritableStream({ write: (c) => void chunks.push(c.slice()) }),
    });
    const total = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      total.set(c, off);
      off += c.length;
    }
    await Deno.writeFile(`${r.root}/s.tar`, total);
    assert.equal((await tarList(`${r.root}/s.tar`)).length, 4);
  });
});

Deno.test("exportRepo() with parts keeps #spec and only the keys of those parts (bsp, not bsp2)", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const res = await exportRepo({
      ...r.opts,
      output: `${r.root}/p.tar`,
      parts: ["bsp", "app/run.json"],
    });
    assert.equal(res.objects, 1);
    assert.equal(
      await tarCat(`${r.root}/p.tar`, "json"),
      '{"#spec":"pantavisor-service-system@1",' +
        '"app/run.json":{"big":12345678901234567891,"name":"app"},' +
        `"bsp/copy.img":"${sha256Hex("kernel")}","bsp/kernel.img":"${sha256Hex("kernel")}"}`,
    );
    assert.deepEqual(await tarList(`${r.root}/p.tar`), ["json", `objects/${sha256Hex("kernel")}`]);
  });
});

Deno.test("importRepo() of an export makes the same committed state and leaves the tree alone", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/out.tgz` });
    const dir = await freshRepo(r, "other", `${r.root}/other-objects`);
    const res = await importRepo({ dir, configDir: r.configDir, input: `${r.root}/out.tgz` });
    assert.equal(res.objects, 3);
    assert.equal(
      await Deno.readTextFile(`${dir}/.pvr/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
    assert.equal(await exists(`${dir}/top.bin`), false, "import does not check out");
    for (const c of ["kernel", "top", "x"]) {
      assert.equal(await Deno.readTextFile(`${r.root}/other-objects/${sha256Hex(c)}`), c);
    }
    await checkout({ dir, configDir: r.configDir });
    assert.equal(await Deno.readTextFile(`${dir}/bsp/copy.img`), "kernel");
    assert.deepEqual(await status({ dir, configDir: r.configDir }), {
      added: [],
      removed: [],
      changed: [],
      untracked: [],
    });
  });
});

Deno.test("importRepo() replaces the committed state wholesale", async () => {
  await withRepo(async (r) => {
    await committed(r, { "a.bin": "a" });
    await exportRepo({ ...r.opts, output: `${r.root}/a.tar` });
    await committed(r, { "b.bin": "b" });
    await importRepo({ ...r.opts, input: `${r.root}/a.tar` });
    assert.equal(
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
      `{"#spec":"pantavisor-service-system@1","a.bin":"${sha256Hex("a")}"}`,
    );
  });
});

Deno.test("importRepo() detects gzip by content, not by name", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/out.tgz` });
    await Deno.rename(`${r.root}/out.tgz`, `${r.root}/misnamed.tar`);
    const dir = await freshRepo(r, "other");
    await importRepo({ dir, configDir: r.configDir, input: `${r.root}/misnamed.tar` });
    assert.equal(
      await Deno.readTextFile(`${dir}/.pvr/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
  });
});

Deno.test("importRepo() reads a byte stream", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/out.tgz` });
    const dir = await freshRepo(r, "other");
    const file = await Deno.open(`${r.root}/out.tgz`);
    await importRepo({ dir, configDir: r.configDir, input: file.readable });
    assert.equal(
      await Deno.readTextFile(`${dir}/.pvr/json`),
      await Deno.readTextFile(`${r.dir}/.pvr/json`),
    );
  });
});

Deno.test("export, import, export again gives the same archive bytes", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/one.tar` });
    const dir = await freshRepo(r, "other", `${r.root}/other-objects`);
    await importRepo({ dir, configDir: r.configDir, input: `${r.root}/one.tar` });
    await exportRepo({ dir, configDir: r.configDir, output: `${r.root}/two.tar` });
    assert.deepEqual(
      await Deno.readFile(`${r.root}/two.tar`),
      await Deno.readFile(`${r.root}/one.tar`),
    );
  });
});

Deno.test("exportRepo() gzip output decompresses to the plain tar", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/a.tar` });
    await exportRepo({ ...r.opts, output: `${r.root}/a.tar.gz` });
    assert.deepEqual(
      new Uint8Array(gunzipSync(await Deno.readFile(`${r.root}/a.tar.gz`))),
      await Deno.readFile(`${r.root}/a.tar`),
    );
  });
});

Deno.test("exportRepo() and importRepo() outside a repository fail with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(exportRepo({ ...r.opts, output: "x.tar" }), "NOT_A_REPO");
    await rejectsWithCode(importRepo({ ...r.opts, input: "x.tar" }), "NOT_A_REPO");
    assert.equal(await exists(`${r.dir}/x.tar`), false);
  }, { init: false });
});

Deno.test("importRepo() records the objects it verified, so a hardlink checkout links them without hashing again", async () => {
  await withRepo(async (r) => {
    await committed(r);
    await exportRepo({ ...r.opts, output: `${r.root}/out.tar` });
    const objectsDir = `${r.root}/other-objects`;
    const dir = await freshRepo(r, "other", objectsDir);
    const res = await importRepo({ dir, configDir: r.configDir, input: `${r.root}/out.tar` });
    assert.equal(res.objects, 3);
    const cache = await StatCache.load(`${dir}/.pvr/stat-cache`);
    for (const c of ["kernel", "top", "x"]) {
      const sha = sha256Hex(c);
      assert.ok(
        cache.objectTrusted(sha, Deno.statSync(`${objectsDir}/${sha}`)),
        `${c} not trusted`,
      );
    }
    // Trusted objects are linked as they are: damage that keeps size and mtime goes
    // unnoticed by checkout (fsck re-hashes), which shows no hashing happened.
    const top = `${objectsDir}/${sha256Hex("top")}`;
    const st = Deno.statSync(top);
    await Deno.chmod(top, 0o644);
    await Deno.writeTextFile(top, "TOP");
    await Deno.utime(top, st.atime!, st.mtime!);
    await Deno.chmod(top, 0o444);
    const co = await checkout({ dir, configDir: r.configDir, hardlink: true });
    assert.equal(co.written.hardlink, 4);
    assert.equal(await Deno.readTextFile(`${dir}/top.bin`), "TOP");
    assert.equal(Deno.statSync(`${dir}/top.bin`).ino, st.ino);
  });
});

Deno.test("exportRepo() hashes only objects the repository has not verified since they last changed", async () => {
  await withRepo(async (r) => {
    await committed(r); // commit records what it wrote as verified
    const top = `${r.objectsDir}/${sha256Hex("top")}`;
    const st = Deno.statSync(top);
    // Damage that keeps size, mtime and inode: the trusted object is exported as it is,
    // which shows it was not hashed again (fsck re-hashes every object).
    await Deno.chmod(top, 0o644);
    await Deno.writeTextFile(top, "TOP");
    await Deno.utime(top, st.atime!, st.mtime!);
    await Deno.chmod(top, 0o444);
    await exportRepo({ ...r.opts, output: `${r.root}/trusted.tar` });
    assert.equal(await tarCat(`${r.root}/trusted.tar`, `objects/${sha256Hex("top")}`), "TOP");
    // Once its mtime moves, the record no longer holds: the object is hashed and refused,
    // and no archive appears.
    await Deno.utime(top, st.atime!, new Date(st.mtime!.getTime() + 1000));
    await rejectsWithCode(
      exportRepo({ ...r.opts, output: `${r.root}/refused.tar` }),
      "OBJECT_CORRUPT",
    );
    assert.equal(await exists(`${r.root}/refused.tar`), false);
  });
});

Deno.test("pvr export --fsync writes the same archive as pvr export", async () => {
  await withRepo(async (r) => {
    await committed(r);
    const plain = await r.run(["export", `${r.root}/plain.tar`]);
    assert.equal(plain.code, 0, plain.stderr);
    const durable = await r.run(["export", "--fsync", `${r.root}/durable.tar`]);
    assert.equal(durable.code, 0, durable.stderr);
    assert.deepEqual(
      await Deno.readFile(`${r.root}/durable.tar`),
      await Deno.readFile(`${r.root}/plain.tar`),
    );
  });
});
