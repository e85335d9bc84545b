import assert from "node:assert/strict";
import { fsyncDir, renameDurable, tempName, writeFileAtomic } from "../../../native/durability.ts";
import { withTempDir } from "../../support/temp.ts";

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("writeFileAtomic() writes a string or bytes and leaves no temp file", async () => {
  await withTempDir(async (dir) => {
    await writeFileAtomic(`${dir}/text`, "héllo");
    await writeFileAtomic(`${dir}/bytes`, new Uint8Array([1, 2, 3]), { fsync: false });
    assert.equal(await Deno.readTextFile(`${dir}/text`), "héllo");
    assert.deepEqual(await Deno.readFile(`${dir}/bytes`), new Uint8Array([1, 2, 3]));
    assert.deepEqual(names(dir), ["bytes", "text"]);
  });
});

Deno.test("writeFileAtomic() gives the file exactly the mode asked for (default 0644)", async () => {
  await withTempDir(async (dir) => {
    await writeFileAtomic(`${dir}/default`, "x");
    await writeFileAtomic(`${dir}/secret`, "token", { mode: 0o600 });
    assert.equal((await Deno.stat(`${dir}/default`)).mode! & 0o777, 0o644);
    assert.equal((await Deno.stat(`${dir}/secret`)).mode! & 0o777, 0o600);
  });
});

Deno.test("writeFileAtomic() replaces an existing file with a new inode", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "old and longer");
    await Deno.link(`${dir}/f`, `${dir}/link`);
    await writeFileAtomic(`${dir}/f`, "new");
    assert.equal(await Deno.readTextFile(`${dir}/f`), "new");
    assert.equal(await Deno.readTextFile(`${dir}/link`), "old and longer");
  });
});

Deno.test("writeFileAtomic() that fails at the rename removes its temp file", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/target/inside`, { recursive: true }); // a non-empty directory
    await assert.rejects(writeFileAtomic(`${dir}/target`, "data"));
    assert.deepEqual(names(dir), ["target"]);
  });
});

Deno.test("writeFileAtomic() into a missing directory throws NotFound", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(writeFileAtomic(`${dir}/no/such/file`, "x"), Deno.errors.NotFound);
    assert.deepEqual(names(dir), []);
  });
});

Deno.test("fsyncDir() succeeds on a directory and throws NotFound on a missing one", async () => {
  await withTempDir(async (dir) => {
    await fsyncDir(dir);
    await assert.rejects(fsyncDir(`${dir}/missing`), Deno.errors.NotFound);
  });
});

Deno.test("renameDurable() moves a file across directories, replacing the target", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    await Deno.writeTextFile(`${dir}/a/f`, "moved");
    await Deno.writeTextFile(`${dir}/b/g`, "replaced");
    await renameDurable(`${dir}/a/f`, `${dir}/b/g`);
    assert.deepEqual(names(`${dir}/a`), []);
    assert.equal(await Deno.readTextFile(`${dir}/b/g`), "moved");
  });
});

Deno.test("tempName() is hidden, ends in .tmp, carries the pid and differs on every call", () => {
  const a = tempName("json");
  const b = tempName("json");
  assert.match(a, new RegExp(`^\\.json\\.${Deno.pid}\\.[0-9a-f]{12}\\.tmp$`));
  assert.notEqual(a, b);
});
