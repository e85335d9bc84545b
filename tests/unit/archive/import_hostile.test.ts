/**
 * Hostile and broken archives: each test builds a real tarball on disk, imports it, and
 * checks the error code and that nothing was written outside the staging directory.
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { readExport } from "../../../core/archive/mod.ts";
import { isPvrError, type PvrError, type PvrErrorCode } from "../../../core/errors.ts";
import { withTempDir } from "../../support/temp.ts";
import {
  bytes,
  concat,
  exportEntries,
  gnuTar,
  onlyObjectFiles,
  paxEntry,
  rawEntry,
  rawTar,
  sha256,
  snapshot,
} from "./archive_helpers.ts";

/**
 * Writes `archive` to `<root>/in/x.tar`, imports it into `<root>/work/staging`, and
 * checks the error code, that `<root>` changed only inside the staging dir, and that
 * the staging dir holds nothing but verified-looking object files.
 */
async function expectRefused(
  archive: Uint8Array,
  code: PvrErrorCode,
  extraCheck?: (root: string) => Promise<void>,
): Promise<PvrError> {
  return await withTempDir(async (root) => {
    await Deno.mkdir(`${root}/in`);
    await Deno.mkdir(`${root}/work`);
    await Deno.writeFile(`${root}/in/x.tar`, archive);
    const before = await snapshot(root);
    let caught: unknown;
    try {
      await readExport(`${root}/in/x.tar`, `${root}/work/staging`);
    } catch (err) {
      caught = err;
    }
    assert.ok(isPvrError(caught), `expected a PvrError, got ${caught}`);
    assert.equal(caught.code, code, caught.message);
    assert.ok(!caught.message.includes("\n"), "one-line message");
    assert.deepEqual(await snapshot(root, ["work/staging"]), before);
    assert.ok(await onlyObjectFiles(`${root}/work/staging`));
    await extraCheck?.(root);
    return caught;
  }, "pvr-hostile-");
}

const good = exportEntries({ "app/a.bin": "aaa", "app/b.bin": "bbb" });
const validTar = rawTar(good.json, ...good.objects);

Deno.test("a ../evil entry is refused with UNSAFE_PATH and nothing lands outside staging", async () => {
  await expectRefused(
    rawTar(good.json, rawEntry({ name: "../evil" }, bytes("pwned")), ...good.objects),
    "UNSAFE_PATH",
  );
  await expectRefused(
    rawTar(rawEntry({ name: "objects/../../evil" }, bytes("pwned")), good.json),
    "UNSAFE_PATH",
  );
});

Deno.test("an absolute entry name is refused with UNSAFE_PATH", async () => {
  const target = `/tmp/pvr-abs-evil-${crypto.randomUUID()}`;
  await expectRefused(
    rawTar(good.json, rawEntry({ name: target }, bytes("pwned"))),
    "UNSAFE_PATH",
    async () => {
      assert.ok(!(await Deno.stat(target).then(() => true, () => false)));
    },
  );
});

Deno.test("an absolute entry written by GNU tar -P is refused with UNSAFE_PATH", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/abs`, "pwned");
    await gnuTar(["-cPf", `${dir}/p.tar`, `${dir}/abs`]);
    await expectRefused(await Deno.readFile(`${dir}/p.tar`), "UNSAFE_PATH");
  });
});

Deno.test("a ../ name hidden in a PAX path record is refused with UNSAFE_PATH", async () => {
  await expectRefused(
    rawTar(good.json, paxEntry("PaxHeaders/x", { path: "../evil" }), rawEntry({ name: "x" })),
    "UNSAFE_PATH",
  );
});

Deno.test("a symlink entry objects/x -> /etc/passwd is refused with UNSAFE_PATH", async () => {
  const sha = sha256("irrelevant");
  await expectRefused(
    rawTar(good.json, rawEntry({ name: `objects/${sha}`, type: "2", linkname: "/etc/passwd" })),
    "UNSAFE_PATH",
  );
  await expectRefused(
    rawTar(rawEntry({ name: "objects/x", type: "2", linkname: "/etc/passwd" }), good.json),
    "UNSAFE_PATH",
  );
});

Deno.test("a symlink written by GNU tar is refused with UNSAFE_PATH", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/tree/objects`, { recursive: true });
    await Deno.symlink("/etc/passwd", `${dir}/tree/objects/x`);
    await gnuTar(["-cf", `${dir}/s.tar`, "-C", `${dir}/tree`, "objects/x"]);
    await expectRefused(await Deno.readFile(`${dir}/s.tar`), "UNSAFE_PATH");
  });
});

Deno.test("a hardlink entry is refused with UNSAFE_PATH", async () => {
  const sha = sha256("aaa");
  await expectRefused(
    rawTar(good.json, rawEntry({ name: `objects/${sha}`, type: "1", linkname: "/etc/passwd" })),
    "UNSAFE_PATH",
  );
});

Deno.test("device and fifo entries are refused with UNSAFE_PATH", async () => {
  for (const type of ["3", "4", "6"]) {
    await expectRefused(rawTar(good.json, rawEntry({ name: "json2", type })), "UNSAFE_PATH");
  }
});

Deno.test("an objects/<sha> entry whose bytes do not match fails with OBJECT_CORRUPT naming it", async () => {
  const sha = sha256("expected");
  const err = await expectRefused(
    rawTar(good.json, rawEntry({ name: `objects/${sha}` }, bytes("something else"))),
    "OBJECT_CORRUPT",
  );
  assert.ok(err.message.includes(`objects/${sha}`));
  // The same for an entry large enough to be streamed.
  const big = new Uint8Array(2 << 20).fill(1);
  const sha2 = sha256(new Uint8Array(2 << 20).fill(2));
  await expectRefused(
    rawTar(good.json, rawEntry({ name: `objects/${sha2}` }, big)),
    "OBJECT_CORRUPT",
  );
});

Deno.test("entries other than json, objects/<sha> and directories fail with BAD_ARCHIVE", async () => {
  for (const name of ["config", "objects/ABCDEF", `objects/${"A".repeat(64)}`, "x/json"]) {
    const err = await expectRefused(rawTar(good.json, rawEntry({ name })), "BAD_ARCHIVE");
    assert.ok(err.message.includes(`unexpected entry ${name}`), err.message);
  }
  // Unknown entry types (here a GNU sparse file) too.
  await expectRefused(rawTar(good.json, rawEntry({ name: "json", type: "S" })), "BAD_ARCHIVE");
  // Directory entries are fine.
  const ok = rawTar(
    rawEntry({ name: "objects/", type: "5" }),
    rawEntry({ name: "old-style-dir/", type: "\0" }),
    good.json,
    ...good.objects,
  );
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/x.tar`, ok);
    const r = await readExport(`${dir}/x.tar`, `${dir}/staging`);
    assert.equal(r.objects.size, 2);
  });
});

Deno.test("a tar truncated inside a header, inside data or at an entry boundary fails with BAD_ARCHIVE", async () => {
  const jsonEnd = good.json.length;
  const cuts = [
    1, // inside the first header
    100,
    511,
    512, // right after the json header
    600, // inside json data
    jsonEnd, // at an entry boundary
    jsonEnd + 300, // inside an object header
    jsonEnd + 512 + 1, // inside object data
    validTar.length - 1024, // all entries, no end-of-archive marker
    validTar.length - 100, // inside the second zero block
  ];
  for (const cut of cuts) {
    await expectRefused(validTar.subarray(0, cut), "BAD_ARCHIVE");
  }
});

Deno.test("a truncated gzip stream fails with BAD_ARCHIVE", async () => {
  const gz = gzipSync(validTar);
  for (const cut of [2, 10, 30, Math.floor(gz.length / 2), gz.length - 4, gz.length - 1]) {
    await expectRefused(gz.subarray(0, cut), "BAD_ARCHIVE");
  }
  // A damaged CRC too.
  const damaged = new Uint8Array(gz);
  damaged[gz.length - 8] ^= 0x55;
  await expectRefused(damaged, "BAD_ARCHIVE");
});

Deno.test("a file that is not a tar, or is empty, fails with BAD_ARCHIVE", async () => {
  const random = crypto.getRandomValues(new Uint8Array(4096));
  random[0] = 0; // not the gzip magic
  for (const data of [random, bytes("just some text\n".repeat(100)), new Uint8Array()]) {
    const err = await expectRefused(data, "BAD_ARCHIVE");
    assert.match(err.message, /^truncated or not a pvr export: /);
  }
  // Zero blocks followed by data are not an archive end.
  await expectRefused(concat([new Uint8Array(512), good.json]), "BAD_ARCHIVE");
});

Deno.test("an archive without json fails with BAD_ARCHIVE", async () => {
  await expectRefused(rawTar(...good.objects), "BAD_ARCHIVE");
  await expectRefused(rawTar(), "BAD_ARCHIVE");
});

Deno.test("two json entries fail with BAD_ARCHIVE", async () => {
  await expectRefused(rawTar(good.json, ...good.objects, good.json), "BAD_ARCHIVE");
});

Deno.test("a json entry that is not JSON fails with BAD_ARCHIVE", async () => {
  for (const text of ["{not json", "", "\xff\xfe", '{"a": 1} trailing']) {
    await expectRefused(
      rawTar(rawEntry({ name: "json" }, bytes(text)), ...good.objects),
      "BAD_ARCHIVE",
    );
  }
});

Deno.test("a json entry that is an array fails with BAD_STATE", async () => {
  await expectRefused(rawTar(rawEntry({ name: "json" }, bytes("[1,2]"))), "BAD_STATE");
});

Deno.test("a json entry with a ../x key fails with UNSAFE_PATH", async () => {
  const sha = sha256("aaa");
  await expectRefused(
    rawTar(
      rawEntry({ name: "json" }, bytes(JSON.stringify({ "../x": sha }))),
      good.objects[0],
    ),
    "UNSAFE_PATH",
  );
});
