/** StatCache's object records: when a recorded object is trusted. */

import assert from "node:assert/strict";
import { StatCache } from "../../../core/repo/stat_cache.ts";
import { withTempDir } from "../../support/temp.ts";

const SHA = "ab".repeat(32);

Deno.test("StatCache: a recorded object is trusted while its size, mtime and inode hold, saved or not", async () => {
  await withTempDir(async (dir) => {
    const obj = `${dir}/${SHA}`;
    const cachePath = `${dir}/stat-cache`;
    await Deno.writeTextFile(obj, "bytes");
    const cache = await StatCache.load(cachePath);
    assert.equal(cache.objectTrusted(SHA, await Deno.stat(obj)), false, "nothing recorded yet");
    cache.recordObject(SHA, await Deno.stat(obj));
    assert.equal(cache.objectTrusted(SHA, await Deno.stat(obj)), true);
    await cache.save();
    const reloaded = await StatCache.load(cachePath);
    assert.equal(reloaded.objectTrusted(SHA, await Deno.stat(obj)), true, "after a reload");
    // A hardlink moves only the ctime: still the same object.
    await Deno.link(obj, `${dir}/link`);
    assert.equal(reloaded.objectTrusted(SHA, await Deno.stat(obj)), true, "ctime is not used");
    // Another mtime (a later write) is another file.
    await Deno.utime(obj, new Date(), new Date(Date.now() + 60_000));
    assert.equal(reloaded.objectTrusted(SHA, await Deno.stat(obj)), false, "mtime moved");
    // So is another inode with the same bytes and times (the store replaced it).
    const st = await Deno.stat(obj);
    await Deno.writeTextFile(`${dir}/tmp`, "bytes"); // made while the old inode is in use
    await Deno.utime(`${dir}/tmp`, st.atime!, st.mtime!);
    await Deno.rename(`${dir}/tmp`, obj);
    reloaded.recordObject(SHA, st);
    assert.equal(reloaded.objectTrusted(SHA, await Deno.stat(obj)), false, "inode changed");
  });
});

Deno.test("StatCache: saved records load back the same, whatever their keys", async () => {
  await withTempDir(async (dir) => {
    const cachePath = `${dir}/stat-cache`;
    const keys = ["42", "__proto__", 'q"uote\\back', "ünï/cødé 🎉", "a/b/c.bin", "7/8"];
    const cache = await StatCache.load(cachePath);
    const files = new Map<string, Deno.FileInfo>();
    for (const [i, key] of keys.entries()) {
      const path = `${dir}/f${i}`;
      await Deno.writeTextFile(path, key);
      const old = new Date(Date.now() - 60_000 - i);
      await Deno.utime(path, old, old);
      files.set(key, await Deno.stat(path));
      cache.recordFile(key, files.get(key)!, `${i}`.repeat(64));
    }
    await cache.save();
    const text = new TextDecoder().decode(await Deno.readFile(cachePath));
    const data = JSON.parse(text);
    assert.equal(data.v, 1);
    assert.deepEqual(Object.keys(data.files).sort(), [...keys].sort());
    const reloaded = await StatCache.load(cachePath);
    for (const [i, key] of keys.entries()) {
      assert.equal(reloaded.lookupFile(key, files.get(key)!), `${i}`.repeat(64), key);
    }
    assert.deepEqual([...reloaded.fileKeys()].sort(), [...keys].sort());
  });
});

Deno.test("StatCache: an entry written while racy stays unusable, however much later the cache is saved again", async () => {
  await withTempDir(async (dir) => {
    const cachePath = `${dir}/stat-cache`;
    const f = `${dir}/f`;
    await Deno.writeTextFile(f, "f");
    // The file's mtime is not older than the cache file about to be written: racy.
    const later = new Date(Date.now() + 3_600_000);
    await Deno.utime(f, later, later);
    const first = await StatCache.load(cachePath);
    first.recordFile("f", await Deno.stat(f), "1".repeat(64));
    await first.save();
    // An unrelated record and save, then the cache file dated after the entry's mtime, as
    // a save an hour later would be.
    const second = await StatCache.load(cachePath);
    await Deno.writeTextFile(`${dir}/g`, "g");
    const old = new Date(Date.now() - 60_000);
    await Deno.utime(`${dir}/g`, old, old);
    second.recordFile("g", await Deno.stat(`${dir}/g`), "2".repeat(64));
    await second.save();
    const after = new Date(later.getTime() + 1000);
    await Deno.utime(cachePath, after, after);
    const third = await StatCache.load(cachePath);
    assert.equal(third.lookupFile("f", await Deno.stat(f)), undefined, "hashed again");
    assert.equal(third.lookupFile("g", await Deno.stat(`${dir}/g`)), "2".repeat(64));
  });
});
