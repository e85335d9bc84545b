import assert from "node:assert/strict";
import { isPvrError } from "../../../core/errors.ts";
import { FsObjectStore } from "../../../core/store/fs_store.ts";
import { sha256Bytes, sha256File } from "../../../core/store/hash.ts";
import { withTempDir } from "../../support/temp.ts";

const enc = new TextEncoder();

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function listAll(store: FsObjectStore): Promise<string[]> {
  const out: string[] = [];
  for await (const n of store.list()) out.push(n);
  return out.sort();
}

async function newStore(dir: string): Promise<FsObjectStore> {
  return await FsObjectStore.open(`${dir}/objects`, { create: true });
}

Deno.test("FsObjectStore stores an object as <dir>/<sha> with mode 0444", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const { sha } = await store.put(enc.encode("immutable"));
    assert.equal(store.pathOf(sha), `${dir}/objects/${sha}`);
    assert.deepEqual(await names(`${dir}/objects`), [sha]);
    assert.equal((await Deno.stat(store.pathOf(sha))).mode! & 0o777, 0o444);
  });
});

Deno.test("FsObjectStore.open() with create makes the directory 0755 with its parents", async () => {
  await withTempDir(async (dir) => {
    const store = await FsObjectStore.open(`${dir}/a/b/objects`, { create: true });
    assert.equal(store.location, `${dir}/a/b/objects`);
    const info = await Deno.stat(`${dir}/a/b/objects`);
    assert.ok(info.isDirectory);
    assert.equal(info.mode! & 0o777, 0o755 & ~Deno.umask());
  });
});

Deno.test("FsObjectStore.open() of a missing directory without create fails with FAILED", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(FsObjectStore.open(`${dir}/missing`), (err: unknown) => {
      assert.ok(isPvrError(err, "FAILED"));
      return true;
    });
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(FsObjectStore.open(`${dir}/file`), (err: unknown) => {
      assert.ok(isPvrError(err, "FAILED"));
      return true;
    });
  });
});

Deno.test("FsObjectStore writes through a unique temp file .<sha>.<pid>.<random>.tmp", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const data = enc.encode("streamed slowly");
    const sha = sha256Bytes(data);
    const seen: string[] = [];
    for (const expected of [sha, undefined]) {
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const pending = store.put(
        new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) }),
        expected,
      );
      controller.enqueue(data.subarray(0, 4));
      await new Promise((r) => setTimeout(r, 20));
      const temps = (await names(store.location)).filter((n) => n.endsWith(".tmp"));
      assert.equal(temps.length, 1);
      seen.push(temps[0]);
      controller.enqueue(data.subarray(4));
      controller.close();
      await pending;
    }
    assert.match(seen[0], new RegExp(`^\\.${sha}\\.${Deno.pid}\\.[0-9a-f]+\\.tmp$`));
    assert.match(seen[1], new RegExp(`^\\.[0-9a-f]+\\.${Deno.pid}\\.[0-9a-f]+\\.tmp$`));
    assert.deepEqual(await names(store.location), [sha]);
  });
});

Deno.test("FsObjectStore ignores the Go pvr's <sha>.new leftovers and other non-object names", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const data = enc.encode("object");
    const sha = sha256Bytes(data);
    await Deno.writeTextFile(`${store.location}/${sha}.new`, "half-written by Go pvr");
    await Deno.writeTextFile(`${store.location}/${sha.toUpperCase()}`, "not lowercase");
    await Deno.writeTextFile(`${store.location}/README`, "x");
    await Deno.mkdir(`${store.location}/${"a".repeat(64)}`);
    assert.deepEqual(await listAll(store), []);
    assert.equal(await store.has(sha), false);
    assert.equal(await store.has("a".repeat(64)), false);
    const res = await store.put(data, sha);
    assert.equal(res.stored, true);
    assert.deepEqual(await listAll(store), [sha]);
    assert.equal(await Deno.readTextFile(`${store.location}/${sha}.new`), "half-written by Go pvr");
  });
});

Deno.test("FsObjectStore.list() of a directory that does not exist yields nothing", async () => {
  await withTempDir(async (dir) => {
    assert.deepEqual(await listAll(new FsObjectStore(`${dir}/none`)), []);
  });
});

Deno.test("FsObjectStore.read() of an object with one flipped byte throws OBJECT_CORRUPT", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const data = enc.encode("bit rot happens");
    const { sha } = await store.put(data);
    const path = store.pathOf(sha);
    await Deno.chmod(path, 0o644);
    const damaged = data.slice();
    damaged[3] ^= 1;
    await Deno.writeFile(path, damaged);
    await assert.rejects(store.read(sha), (err: unknown) => isPvrError(err, "OBJECT_CORRUPT"));
    assert.equal(await store.verify(sha), "corrupt");
    // A put of the good bytes repairs it (an intact object is never replaced).
    assert.equal((await store.put(data, sha)).stored, true);
    assert.equal(await store.verify(sha), "ok");
    assert.equal((await store.put(data, sha)).stored, false);
  });
});

Deno.test("FsObjectStore.putFile() with the sha of a present object only hashes the file", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    await Deno.writeTextFile(`${dir}/in`, "same content");
    const first = await store.putFile(`${dir}/in`);
    const before = await Deno.stat(store.pathOf(first.sha));
    const again = await store.putFile(`${dir}/in`, first.sha);
    assert.deepEqual(again, { ...first, stored: false });
    const after = await Deno.stat(store.pathOf(first.sha));
    assert.equal(after.ino, before.ino);
    assert.deepEqual(await names(store.location), [first.sha]);
  });
});

Deno.test("FsObjectStore.pathOf() refuses a name that is not an object id", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    assert.throws(
      () => store.pathOf("../../etc/passwd"),
      (err: unknown) => isPvrError(err, "FAILED"),
    );
    assert.equal(store.pathOf("A".repeat(64)), `${store.location}/${"a".repeat(64)}`);
  });
});

Deno.test("FsObjectStore.sweepTemps() removes only its own temp files older than the cutoff", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const { sha } = await store.put(enc.encode("kept"));
    const loc = store.location;
    const oldTemp = `.${sha}.4242.00aa11bb22cc.tmp`;
    const youngTemp = `.0123456789abcdef.4242.00aa11bb22cd.tmp`;
    await Deno.writeTextFile(`${loc}/${oldTemp}`, "old");
    await Deno.writeTextFile(`${loc}/${youngTemp}`, "young");
    await Deno.writeTextFile(`${loc}/${sha}.new`, "Go leftover");
    await Deno.writeTextFile(`${loc}/notes.tmp`, "not ours");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const n of [oldTemp, `${sha}.new`, "notes.tmp"]) {
      await Deno.utime(`${loc}/${n}`, twoHoursAgo, twoHoursAgo);
    }
    assert.equal(await FsObjectStore.sweepTemps(loc), 1);
    assert.deepEqual(await names(loc), [youngTemp, sha, `${sha}.new`, "notes.tmp"].sort());
    assert.equal(
      await FsObjectStore.sweepTemps(loc, { olderThanMs: 0, now: Date.now() + 1000 }),
      1,
    );
    assert.deepEqual(await names(loc), [sha, `${sha}.new`, "notes.tmp"].sort());
  });
});

Deno.test("FsObjectStore streams a 64 MiB file in and out with the right sha", async () => {
  await withTempDir(async (dir) => {
    const store = await newStore(dir);
    const big = `${dir}/big.img`;
    {
      // Mostly holes, with data at a few places (including across a 1 MiB read boundary).
      using f = await Deno.open(big, { write: true, create: true });
      await f.truncate(64 * 1024 * 1024);
      for (const at of [0, (1 << 20) - 3, 33 * 1024 * 1024 + 7, 64 * 1024 * 1024 - 5]) {
        await f.seek(at, Deno.SeekMode.Start);
        await f.write(enc.encode("pvr!!"));
      }
    }
    const expected = await sha256File(big);
    const res = await store.putFile(big);
    assert.deepEqual(res, { ...expected, stored: true });
    assert.equal(await store.verify(res.sha), "ok");
    assert.equal(await store.copyTo(res.sha, `${dir}/out.img`), 64 * 1024 * 1024);
    assert.deepEqual(await sha256File(`${dir}/out.img`), expected);
    assert.deepEqual((await store.put((await Deno.open(big)).readable, res.sha)).stored, false);
  });
});
