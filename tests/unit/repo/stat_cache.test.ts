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
