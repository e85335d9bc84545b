import assert from "node:assert/strict";
import {
  createSha256,
  READ_CHUNK_SIZE,
  sha256Bytes,
  sha256File,
} from "../../../core/store/hash.ts";
import { withTempDir } from "../../support/temp.ts";

const enc = new TextEncoder();
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

function patterned(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + (i >> 8)) & 0xff;
  return out;
}

Deno.test("sha256Bytes() gives the FIPS 180-2 digests of the empty string and 'abc'", () => {
  assert.equal(sha256Bytes(new Uint8Array()), EMPTY);
  assert.equal(sha256Bytes(enc.encode("abc")), ABC);
});

Deno.test("createSha256() fed in pieces gives the same digest as sha256Bytes() of the whole", () => {
  const data = patterned(100_003);
  const h = createSha256();
  for (let off = 0; off < data.length; off += 9_999) h.update(data.subarray(off, off + 9_999));
  assert.equal(h.digest(), sha256Bytes(data));
});

Deno.test("createSha256() does not keep the buffers it was given (they may be reused)", () => {
  const buf = enc.encode("abc");
  const h = createSha256();
  h.update(buf);
  buf.fill(0);
  assert.equal(h.digest(), ABC);
});

Deno.test("sha256File() of a file longer than one read returns its digest and size", async () => {
  await withTempDir(async (dir) => {
    const data = patterned(2 * READ_CHUNK_SIZE + 12_345);
    await Deno.writeFile(`${dir}/f`, data);
    assert.deepEqual(await sha256File(`${dir}/f`), { sha: sha256Bytes(data), size: data.length });
  });
});

Deno.test("sha256File() of an empty file returns the empty digest and size 0", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/empty`, new Uint8Array());
    assert.deepEqual(await sha256File(`${dir}/empty`), { sha: EMPTY, size: 0 });
  });
});

Deno.test("sha256File() of a missing file throws Deno.errors.NotFound", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(sha256File(`${dir}/nope`), Deno.errors.NotFound);
  });
});

Deno.test("a first hash through a synchronous function loads node:crypto by itself (fresh process)", async () => {
  // In a process of its own: nothing has loaded node:crypto yet, and loadSha256() is
  // never called.
  const url = new URL("../../../core/store/hash.ts", import.meta.url).href;
  const code = `import { createSha256, sha256Bytes } from ${JSON.stringify(url)};
const h = createSha256();
h.update(new TextEncoder().encode("hello "));
h.update(new TextEncoder().encode("world"));
console.log(sha256Bytes(new Uint8Array()), h.digest());`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 " +
      "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
  );
});
