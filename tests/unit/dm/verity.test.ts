/** The pure parts of the dm-verity helpers: veritysetup output, manifests, run.json. */

import assert from "node:assert/strict";
import {
  checkPlainName,
  dmifyRunJson,
  formatManifest,
  parseManifest,
  parseVerityOutput,
} from "../../../core/dm/verity.ts";
import { isDmManifestKey } from "../../../core/ops/dm_apply.ts";
import { dmArguments } from "../../../core/ops/dm_convert.ts";
import { fromPlain, type JsonObject, toPlain } from "../../../core/model/json_value.ts";
import { isPvrError } from "../../../core/errors.ts";

const plain = (v: JsonObject) => JSON.parse(JSON.stringify(toPlain(v)));

const OUTPUT = `VERITY header information for data.img.hash
UUID:            \taeaf95fb-0492-4bf8-9c0c-064037990fa5
Hash type:       \t1
Data blocks:     \t256
Salt:            \t38d4b271b1547fcd373730d0f7d8034de8927776a476206c09729847e28f542e
Root hash:      \tf1f81f97aea310ede237963aece536aca09e3a83a07d3d31c3403f47dd173793
Hash device size: \t16384 [bytes]
`;

Deno.test("parseVerityOutput reads Root hash, UUID and Salt of veritysetup format", () => {
  assert.deepEqual(parseVerityOutput(OUTPUT), {
    rootHash: "f1f81f97aea310ede237963aece536aca09e3a83a07d3d31c3403f47dd173793",
    uuid: "aeaf95fb-0492-4bf8-9c0c-064037990fa5",
    salt: "38d4b271b1547fcd373730d0f7d8034de8927776a476206c09729847e28f542e",
  });
});

Deno.test("parseVerityOutput names the field that is missing", () => {
  assert.throws(
    () => parseVerityOutput(OUTPUT.replace(/^Root hash:.*$/m, "")),
    (e) => isPvrError(e, "FAILED") && /no root hash found/.test(e.message),
  );
  assert.throws(() => parseVerityOutput(""), /no root hash found/);
});

Deno.test("formatManifest is canonical, sets the six fields and keeps unknown keys", () => {
  const doc = fromPlain({ zz: 1, type: "old" }) as JsonObject;
  const text = formatManifest(doc, {
    dataDevice: "root.squashfs",
    hashDevice: "root.squashfs.hash",
  }, {
    rootHash: "ab",
    salt: "00",
    uuid: "u",
  });
  assert.equal(
    text,
    '{"data_device":"root.squashfs","hash_device":"root.squashfs.hash","root_hash":"ab",' +
      '"salt":"00","type":"dm-verity","uuid":"u","zz":1}',
  );
  const m = parseManifest(text, "m.json");
  assert.deepEqual([m.dataDevice, m.hashDevice, m.rootHash, m.salt, m.uuid], [
    "root.squashfs",
    "root.squashfs.hash",
    "ab",
    "00",
    "u",
  ]);
});

Deno.test("parseManifest refuses devices that are not plain names in the container", () => {
  for (const bad of ["../x", "a/b", "-rf", ""]) {
    assert.throws(
      () => parseManifest(JSON.stringify({ data_device: bad, hash_device: "h" }), "m.json"),
      (e) => isPvrError(e, "UNSAFE_PATH"),
      bad,
    );
  }
  assert.throws(() => parseManifest("[]", "m.json"), (e) => isPvrError(e, "BAD_STATE"));
  assert.throws(() => parseManifest("{}", "m.json"), (e) => isPvrError(e, "BAD_STATE"));
});

Deno.test("dmifyRunJson prefixes the first field naming the volume, once", () => {
  const run = fromPlain({ modules: "modules.squashfs", volumes: ["a.img", "modules.squashfs"] });
  const r = dmifyRunJson(run as JsonObject, "modules.squashfs");
  assert.equal(r.field, "modules");
  assert.deepEqual(plain(r.doc), {
    modules: "dm:modules.squashfs",
    volumes: ["a.img", "modules.squashfs"],
  });
  assert.equal(dmifyRunJson(r.doc, "modules.squashfs").already, true);
  const vol = dmifyRunJson(fromPlain({ volumes: ["a.img", "b.img"] }) as JsonObject, "b.img");
  assert.deepEqual(plain(vol.doc), { volumes: ["a.img", "dm:b.img"] });
  const none = dmifyRunJson(fromPlain({ "root-volume": "x" }) as JsonObject, "y");
  assert.deepEqual([none.field, none.already], [undefined, false]);
});

Deno.test("dm arguments: <c> <v> or <c>/<v>, plain names only", () => {
  assert.deepEqual(dmArguments("nginx", "root.squashfs"), ["nginx", "root.squashfs"]);
  assert.deepEqual(dmArguments("nginx/root.squashfs"), ["nginx", "root.squashfs"]);
  assert.throws(() => dmArguments("nginx"), (e) => isPvrError(e, "USAGE"));
  assert.throws(() => dmArguments("a/b/c"), (e) => isPvrError(e, "USAGE"));
  assert.throws(() => dmArguments("..", "x"), (e) => isPvrError(e, "UNSAFE_PATH"));
  assert.throws(() => checkPlainName(".", "v"), (e) => isPvrError(e, "UNSAFE_PATH"));
});

Deno.test("isDmManifestKey matches <container>/_dm/<volume>.json only", () => {
  assert.equal(isDmManifestKey("nginx/_dm/root.squashfs.json"), true);
  assert.equal(isDmManifestKey("bsp/_dm/rootfs.ext4.json"), true);
  assert.equal(isDmManifestKey("_dm/x.json"), false);
  assert.equal(isDmManifestKey("nginx/_dm/sub/x.json"), false);
  assert.equal(isDmManifestKey("nginx/_dm/x.hash"), false);
});
