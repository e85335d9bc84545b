/**
 * The shared contract suite of the {@link ObjectStore} port: every guarantee written
 * in `core/store/object_store.ts`, run against each implementation (restic's
 * `internal/backend/test`, go-git's `storage/tests`).
 */

import assert from "node:assert/strict";
import { isPvrError } from "../../core/errors.ts";
import type { ObjectStore } from "../../core/store/object_store.ts";
import { sha256Bytes } from "../../core/store/hash.ts";
import { makeTempDir } from "../support/temp.ts";

/** One store under test, made fresh for each test. */
export interface ObjectStoreFixture {
  store: ObjectStore;
  /** Removes whatever the store left (its directory). */
  cleanup(): Promise<void>;
  /** Damages a stored object in place so that its size and its hash change. */
  corrupt(sha: string): Promise<void>;
  /**
   * Every entry of the store's backing storage, temp files included, when there is
   * one to look at (the fs store's directory). Lets the suite check that failed writes
   * leave no temp file behind.
   */
  rawEntries?(): Promise<string[]>;
}

const enc = new TextEncoder();

/** Bytes `n` long with a pattern that depends on `seed`. */
function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

/** A stream of `chunks`, one chunk per pull, then either closing or erroring. */
function streamOf(chunks: Uint8Array[], error?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]);
      else if (error) controller.error(error);
      else controller.close();
    },
  });
}

async function listAll(store: ObjectStore): Promise<string[]> {
  const names: string[] = [];
  for await (const name of store.list()) names.push(name);
  return names.sort();
}

async function rejectsWithCode(p: Promise<unknown>, code: "OBJECT_MISSING" | "OBJECT_CORRUPT") {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isPvrError(err, code), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/**
 * Registers the contract tests for one implementation. `make` is called once per test
 * and must return a fresh, empty store.
 */
export function runObjectStoreContract(
  name: string,
  make: () => Promise<ObjectStoreFixture>,
): void {
  const test = (title: string, fn: (f: ObjectStoreFixture) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const fixture = await make();
      try {
        await fn(fixture);
      } finally {
        await fixture.cleanup();
      }
    });

  test("put() of bytes stores them under their sha256 and reports stored", async ({ store }) => {
    const data = enc.encode("hello world");
    const res = await store.put(data);
    assert.deepEqual(res, { sha: sha256Bytes(data), size: 11, stored: true });
    assert.equal(await store.has(res.sha), true);
    assert.equal(await store.size(res.sha), 11);
    assert.deepEqual(await store.read(res.sha), data);
    assert.equal(await store.verify(res.sha), "ok");
  });

  test("put() of a chunked stream stores the concatenated bytes", async ({ store }) => {
    const whole = bytesOf(300_000);
    const chunks = [whole.subarray(0, 1), whole.subarray(1, 70_000), whole.subarray(70_000)];
    const res = await store.put(streamOf(chunks));
    assert.equal(res.sha, sha256Bytes(whole));
    assert.equal(res.size, whole.length);
    assert.deepEqual(await store.read(res.sha), whole);
  });

  test("put() of zero bytes stores the empty object", async ({ store }) => {
    const res = await store.put(new Uint8Array());
    assert.equal(res.sha, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(res.size, 0);
    assert.deepEqual(await store.read(res.sha), new Uint8Array());
  });

  test("put() with the right expected sha stores the object", async ({ store }) => {
    const data = bytesOf(1000);
    const res = await store.put(data, sha256Bytes(data));
    assert.equal(res.stored, true);
    assert.equal(await store.verify(res.sha), "ok");
  });

  test("put() accepts an upper-case expected sha and reports it in lower case", async ({ store }) => {
    const data = bytesOf(10);
    const sha = sha256Bytes(data);
    const res = await store.put(data, sha.toUpperCase());
    assert.equal(res.sha, sha);
    assert.equal(await store.has(sha.toUpperCase()), true);
  });

  test("put() with a wrong expected sha stores nothing", async (f) => {
    const { store } = f;
    const data = enc.encode("data");
    const wrong = sha256Bytes(enc.encode("something else"));
    await rejectsWithCode(store.put(data, wrong), "OBJECT_CORRUPT");
    await rejectsWithCode(
      store.put(streamOf([data.subarray(0, 2), data.subarray(2)]), wrong),
      "OBJECT_CORRUPT",
    );
    assert.deepEqual(await listAll(store), []);
    assert.equal(await store.has(wrong), false);
    assert.equal(await store.has(sha256Bytes(data)), false);
    if (f.rawEntries) assert.deepEqual(await f.rawEntries(), []);
  });

  test("putFile() with a wrong expected sha stores nothing", async (f) => {
    const { store } = f;
    const { dir, cleanup } = await makeTempDir();
    try {
      await Deno.writeFile(`${dir}/in`, bytesOf(5000));
      const wrong = sha256Bytes(bytesOf(5000, 2));
      await rejectsWithCode(store.putFile(`${dir}/in`, wrong), "OBJECT_CORRUPT");
      assert.deepEqual(await listAll(store), []);
      if (f.rawEntries) assert.deepEqual(await f.rawEntries(), []);
    } finally {
      await cleanup();
    }
  });

  test("putFile() with a wrong expected sha throws even when that object is present", async ({ store }) => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const present = await store.put(bytesOf(5000, 1));
      await Deno.writeFile(`${dir}/in`, bytesOf(5000, 2)); // same size, other bytes
      await rejectsWithCode(store.putFile(`${dir}/in`, present.sha), "OBJECT_CORRUPT");
      assert.equal(await store.verify(present.sha), "ok");
    } finally {
      await cleanup();
    }
  });

  test("put() with an expected sha that is not an object id fails with FAILED", async ({ store }) => {
    await assert.rejects(store.put(enc.encode("x"), "../etc/passwd"), (err: unknown) => {
      assert.ok(isPvrError(err, "FAILED"));
      return true;
    });
    assert.deepEqual(await listAll(store), []);
  });

  test("putFile() stores a file's bytes under their sha256", async ({ store }) => {
    const { dir, cleanup } = await makeTempDir();
    try {
      const data = bytesOf(3 * 1024 * 1024 + 17); // more than one 1 MiB read
      await Deno.writeFile(`${dir}/in`, data);
      const res = await store.putFile(`${dir}/in`);
      assert.deepEqual(res, { sha: sha256Bytes(data), size: data.length, stored: true });
      assert.equal(await store.verify(res.sha), "ok");
      const again = await store.putFile(`${dir}/in`, res.sha);
      assert.deepEqual(again, { ...res, stored: false });
    } finally {
      await cleanup();
    }
  });

  test("put() of an object already present stores nothing and reports stored: false", async ({ store }) => {
    const data = bytesOf(2048);
    const first = await store.put(data);
    const second = await store.put(data);
    const third = await store.put(streamOf([data]), first.sha);
    assert.equal(first.stored, true);
    assert.deepEqual(second, { ...first, stored: false });
    assert.deepEqual(third, { ...first, stored: false });
    assert.deepEqual(await listAll(store), [first.sha]);
  });

  test("put() replaces a present object whose size is wrong with the verified bytes", async (f) => {
    const { store } = f;
    const data = bytesOf(4096);
    const { sha } = await store.put(data);
    await f.corrupt(sha);
    assert.notEqual(await store.size(sha), data.length);
    assert.equal(await store.verify(sha), "corrupt");
    const res = await store.put(data, sha);
    assert.deepEqual(res, { sha, size: data.length, stored: true });
    assert.equal(await store.verify(sha), "ok");
    assert.deepEqual(await store.read(sha), data);
    assert.deepEqual(await listAll(store), [sha]);
  });

  test("a missing object: has() false, size() null, verify() missing", async ({ store }) => {
    const sha = sha256Bytes(enc.encode("never stored"));
    assert.equal(await store.has(sha), false);
    assert.equal(await store.size(sha), null);
    assert.equal(await store.verify(sha), "missing");
    assert.equal(await store.has("not-a-sha"), false);
    assert.equal(await store.verify("not-a-sha"), "missing");
  });

  test("read() and copyTo() of a missing object throw OBJECT_MISSING and write no dest", async ({ store }) => {
    const sha = sha256Bytes(enc.encode("never stored"));
    await rejectsWithCode(store.read(sha), "OBJECT_MISSING");
    await rejectsWithCode(store.read("../../etc/passwd"), "OBJECT_MISSING");
    const { dir, cleanup } = await makeTempDir();
    try {
      await rejectsWithCode(store.copyTo(sha, `${dir}/out`), "OBJECT_MISSING");
      assert.deepEqual(await entriesOf(dir), []);
    } finally {
      await cleanup();
    }
  });

  test("read() of a corrupt object throws OBJECT_CORRUPT naming the sha", async (f) => {
    const { sha } = await f.store.put(bytesOf(777));
    await f.corrupt(sha);
    await assert.rejects(f.store.read(sha), (err: unknown) => {
      assert.ok(isPvrError(err, "OBJECT_CORRUPT"));
      assert.ok(err.message.includes(sha));
      assert.ok(!err.message.includes("\n"));
      return true;
    });
    assert.equal(await f.store.verify(sha), "corrupt");
  });

  test("copyTo() writes the object with mode 0644 by default and returns its size", async ({ store }) => {
    const data = bytesOf(2 * 1024 * 1024 + 5);
    const { sha } = await store.put(data);
    const { dir, cleanup } = await makeTempDir();
    try {
      assert.equal(await store.copyTo(sha, `${dir}/out`), data.length);
      assert.deepEqual(await Deno.readFile(`${dir}/out`), data);
      assert.equal((await Deno.stat(`${dir}/out`)).mode! & 0o777, 0o644);
      assert.equal(await store.copyTo(sha, `${dir}/exec`, 0o755), data.length);
      assert.equal((await Deno.stat(`${dir}/exec`)).mode! & 0o777, 0o755);
    } finally {
      await cleanup();
    }
  });

  test("copyTo() replaces an existing dest without writing through it", async ({ store }) => {
    const data = bytesOf(100);
    const { sha } = await store.put(data);
    const { dir, cleanup } = await makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/other`,
        "keep me, I am a longer file than the object itself".repeat(3),
      );
      await Deno.link(`${dir}/other`, `${dir}/out`); // dest shares its inode with another file
      await store.copyTo(sha, `${dir}/out`);
      assert.deepEqual(await Deno.readFile(`${dir}/out`), data);
      assert.ok((await Deno.readTextFile(`${dir}/other`)).startsWith("keep me"));
    } finally {
      await cleanup();
    }
  });

  test("copyTo() of a corrupt object throws OBJECT_CORRUPT and leaves no dest", async (f) => {
    const { sha } = await f.store.put(bytesOf(3 * 1024 * 1024));
    await f.corrupt(sha);
    const { dir, cleanup } = await makeTempDir();
    try {
      await rejectsWithCode(f.store.copyTo(sha, `${dir}/out`), "OBJECT_CORRUPT");
      await Deno.writeTextFile(`${dir}/old`, "old content");
      await rejectsWithCode(f.store.copyTo(sha, `${dir}/old`), "OBJECT_CORRUPT");
      assert.deepEqual(await entriesOf(dir), []);
    } finally {
      await cleanup();
    }
  });

  test("list() yields every stored object once", async ({ store }) => {
    const shas: string[] = [];
    for (let i = 0; i < 5; i++) shas.push((await store.put(bytesOf(100 + i, i))).sha);
    await store.put(bytesOf(100, 0)); // duplicate
    assert.deepEqual(await listAll(store), [...shas].sort());
  });

  test("list() does not show an object whose write is still in progress", async (f) => {
    const { store } = f;
    const done = await store.put(enc.encode("finished"));
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    const pending = store.put(stream);
    controller.enqueue(bytesOf(64 * 1024));
    await new Promise((r) => setTimeout(r, 20)); // let the store write the first chunk
    assert.deepEqual(await listAll(store), [done.sha]);
    // The fs store has its temp file beside the objects at this point.
    if (f.rawEntries) assert.equal((await f.rawEntries()).length, 2);
    controller.enqueue(bytesOf(10));
    controller.close();
    const res = await pending;
    assert.deepEqual(await listAll(store), [done.sha, res.sha].sort());
  });

  test("concurrent puts of the same object both succeed and leave one intact object", async (f) => {
    const { store } = f;
    const data = bytesOf(2 * 1024 * 1024 + 3, 9);
    const sha = sha256Bytes(data);
    const chunked = () =>
      streamOf([
        data.subarray(0, 1 << 20),
        data.subarray(1 << 20, 3 << 19),
        data.subarray(3 << 19),
      ]);
    const results = await Promise.all([
      store.put(chunked(), sha),
      store.put(chunked()),
      store.put(data, sha),
      store.put(chunked(), sha),
    ]);
    for (const r of results) assert.equal(r.sha, sha);
    assert.ok(results.some((r) => r.stored));
    assert.deepEqual(await listAll(store), [sha]);
    assert.equal(await store.verify(sha), "ok");
    if (f.rawEntries) assert.deepEqual(await f.rawEntries(), [sha]);
  });

  test("a stream that errors mid-way leaves no object and no temp file", async (f) => {
    const { store } = f;
    const boom = new Error("network went away");
    await assert.rejects(store.put(streamOf([bytesOf(200_000), bytesOf(10)], boom)), (err) => {
      assert.equal(err, boom);
      return true;
    });
    assert.deepEqual(await listAll(store), []);
    if (f.rawEntries) assert.deepEqual(await f.rawEntries(), []);
  });
}

async function entriesOf(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}
