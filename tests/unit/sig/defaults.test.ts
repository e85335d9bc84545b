/** The default developer key tarball: extracted safely, only `pvs/` files. */

import assert from "node:assert/strict";
import { readKeyTarball } from "../../../core/sig/defaults.ts";
import { endOfArchive, fileHeader, paddingFor } from "../../../core/archive/tar.ts";
import { PvrError } from "../../../core/errors.ts";
import { concatBytes } from "../../support/layer_tar.ts";

const enc = new TextEncoder();

/** A USTAR header with any type and link name (checksum recomputed). */
function header(name: string, type: string, size: number, linkname = ""): Uint8Array {
  const h = fileHeader(name, 0o644, size).slice();
  h[156] = type.charCodeAt(0);
  h.set(enc.encode(linkname), 157);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

function tar(entries: { name: string; type?: string; data?: string; link?: string }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = enc.encode(e.data ?? "");
    parts.push(header(e.name, e.type ?? "0", e.type && e.type !== "0" ? 0 : data.length, e.link));
    if (!e.type || e.type === "0") {
      parts.push(data, new Uint8Array(paddingFor(data.length)));
    }
  }
  parts.push(endOfArchive());
  return concatBytes(parts);
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes.slice()]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("key tarball: pvs/ files are taken (gzip or plain), others ignored", async () => {
  const plain = tar([
    { name: "pvs/", type: "5" },
    { name: "pvs/key.default.pem", data: "K" },
    { name: "./pvs/x5c.default.pem", data: "X" },
    { name: "README", data: "r" },
    { name: "pvs/sub/deep.pem", data: "d" },
  ]);
  for (const bytes of [plain, await gzip(plain)]) {
    const files = await readKeyTarball(bytes);
    assert.deepEqual([...files.keys()].sort(), ["key.default.pem", "x5c.default.pem"]);
    assert.equal(new TextDecoder().decode(files.get("key.default.pem")), "K");
  }
});

Deno.test("key tarball: ../ names, absolute names, links and devices are refused", async () => {
  const cases = [
    [{ name: "pvs/../../evil", data: "x" }],
    [{ name: "/etc/evil", data: "x" }],
    [{ name: "pvs/key.default.pem", type: "2", link: "/etc/passwd" }],
    [{ name: "pvs/key.default.pem", type: "1", link: "../../x" }],
    [{ name: "pvs/dev", type: "3" }],
  ];
  for (const entries of cases) {
    await assert.rejects(readKeyTarball(tar(entries)), (err) => {
      assert.ok(err instanceof PvrError);
      assert.equal(err.code, "UNSAFE_PATH", JSON.stringify(entries));
      return true;
    });
  }
});

Deno.test("key tarball: damaged or empty archives are BAD_ARCHIVE", async () => {
  const good = tar([{ name: "pvs/key.default.pem", data: "K" }]);
  for (const bytes of [good.subarray(0, 700), tar([{ name: "README", data: "x" }])]) {
    await assert.rejects(
      readKeyTarball(bytes),
      (err) => err instanceof PvrError && err.code === "BAD_ARCHIVE",
    );
  }
});
