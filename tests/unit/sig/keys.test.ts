/**
 * Signing keys, JWS signatures checked by an independent implementation (the openssl
 * tool), and the protected header's Go encoding.
 */

import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { withTempDir } from "../../support/temp.ts";
import {
  decodeBase64Url,
  loadPublicKeys,
  loadSigningKey,
  verifyJws,
} from "../../../core/sig/keys.ts";
import { createPvs, parsePvs, protectedHeaderJson } from "../../../core/sig/jws.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import type { State } from "../../../core/model/state.ts";
import { KEY_KINDS, KIND_ALG, makeKeys, openssl } from "../../support/pki.ts";

const HASH: Record<string, string> = {
  RS256: "sha256",
  ES256: "sha256",
  ES384: "sha384",
  ES512: "sha512",
};

/** DER length bytes. */
function derLen(n: number): number[] {
  return n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
}

/** Raw `r‖s` to a DER ECDSA-Sig-Value (what openssl verifies). */
function rawToDer(sig: Uint8Array): Uint8Array {
  const half = sig.length / 2;
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    let v = [...b.subarray(i)];
    if (v[0] & 0x80) v = [0, ...v];
    return [0x02, ...derLen(v.length), ...v];
  };
  const body = [...int(sig.subarray(0, half)), ...int(sig.subarray(half))];
  return new Uint8Array([0x30, ...derLen(body.length), ...body]);
}

const STATE = parseJson(
  '{"#spec":"pantavisor-service-system@1","a/x":"1","a/run.json":{"k":"<v>"}}',
) as State;

Deno.test("signatures of every key kind verify with openssl over the JWS signing input", async () => {
  await withTempDir(async (dir) => {
    await makeKeys(dir);
    for (const kind of KEY_KINDS) {
      const key = loadSigningKey(await Deno.readTextFile(`${dir}/${kind}.pem`), kind);
      assert.equal(key.alg, KIND_ALG[kind], kind);
      const signed = createPvs(STATE, { include: ["a/**"], exclude: [] }, key, null, true);
      // The signing input rebuilt from the file alone: protected "." payload.
      const file = parseJson(signed.file) as Map<string, string>;
      const input = `${file.get("protected")}.${file.get("payload")}`;
      assert.equal(input, new TextDecoder().decode(signed.signingInput));
      assert.equal(
        new TextDecoder().decode(decodeBase64Url(file.get("payload")!)),
        '{"a/run.json":{"k":"<v>"},"a/x":"1"}',
      );
      const sig = decodeBase64Url(file.get("signature")!);
      if (kind !== "rsa") {
        assert.equal(sig.length, { p256: 64, p384: 96, p521: 132 }[kind], `${kind} raw r‖s`);
      }
      await Deno.writeTextFile(`${dir}/input`, input);
      await Deno.writeFile(`${dir}/sig`, kind === "rsa" ? sig : rawToDer(sig));
      const out = await openssl([
        "dgst",
        `-${HASH[key.alg]}`,
        "-verify",
        `${kind}.pub.pem`,
        "-signature",
        "sig",
        "input",
      ], dir);
      assert.match(new TextDecoder().decode(out), /Verified OK/, kind);
      // And a changed input does not verify.
      await Deno.writeTextFile(`${dir}/input`, input + "x");
      await assert.rejects(
        openssl([
          "dgst",
          `-${HASH[key.alg]}`,
          "-verify",
          `${kind}.pub.pem`,
          "-signature",
          "sig",
          "input",
        ], dir),
      );
    }
  });
});

Deno.test("openssl-made signatures verify with verifyJws (both directions)", async () => {
  await withTempDir(async (dir) => {
    await makeKeys(dir);
    await Deno.writeTextFile(`${dir}/input`, "eyJhbGciOiJSUzI1NiJ9.e30");
    await openssl(["dgst", "-sha256", "-sign", "rsa.pem", "-out", "sig", "input"], dir);
    const keys = loadPublicKeys(await Deno.readTextFile(`${dir}/rsa.pub1.pem`), "rsa.pub1.pem");
    const input = await Deno.readFile(`${dir}/input`);
    const sig = await Deno.readFile(`${dir}/sig`);
    assert.equal(verifyJws("RS256", keys[0], input, sig), true);
    assert.equal(verifyJws("RS256", keys[0], input, sig.map((b, i) => i === 5 ? b ^ 1 : b)), false);
    // A key that does not fit the algorithm never verifies.
    const ec = loadPublicKeys(await Deno.readTextFile(`${dir}/p256.pub.pem`), "p256")[0];
    assert.equal(verifyJws("RS256", ec, input, sig), false);
    assert.equal(verifyJws("ES384", ec, input, new Uint8Array(96)), false);
  });
});

Deno.test("public key files: several blocks, PKIX and PKCS#1; no block is an error", async () => {
  await withTempDir(async (dir) => {
    await makeKeys(dir);
    const text = (await Deno.readTextFile(`${dir}/rsa.pub1.pem`)) +
      (await Deno.readTextFile(`${dir}/p384.pub.pem`)) +
      (await Deno.readTextFile(`${dir}/p521.pub.pem`));
    const keys = loadPublicKeys(text, "bundle");
    assert.deepEqual(keys.map((k) => k.asymmetricKeyType), ["rsa", "ec", "ec"]);
    assert.throws(() => loadPublicKeys("nothing here", "x"), /No valid PEM encoded verify key/);
  });
});

Deno.test("unsupported signing keys are refused with a clear message", () => {
  const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" });
  assert.throws(() => loadSigningKey(ed as string, "ed"), /Not supported priv key of type ed25519/);
  assert.throws(() => loadSigningKey("", "empty.pem"), /No valid PEM encoded sign key found/);
  const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  });
  assert.throws(() => loadSigningKey(k1 as string, "k1"), /unsupported curve/);
});

Deno.test("protected header: Go map order, struct order inside, HTML-escaped strings", () => {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as Record<string, string>;
  const jwkJson = `{"kty":"EC","crv":"P-256","x":"${jwk.x}","y":"${jwk.y}"}`;
  const text = protectedHeaderJson("ES256", jwkJson, { include: ["a<b>&c/**"], exclude: [] }, [
    new Uint8Array([0xfb, 0xff]),
  ]);
  assert.equal(
    text,
    `{"alg":"ES256","jwk":${jwkJson},"pvs":{"include":["a\\u003cb\\u003e\\u0026c/**"],"exclude":[]},"typ":"PVS","x5c":["+/8="]}`,
  );
});

Deno.test("signature files: #spec checks as the Go pvr", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.throws(
    () => parsePvs(enc('{"protected":"e30","signature":""}'), "f"),
    /does not have a #spec/,
  );
  assert.throws(() => parsePvs(enc('{"#spec":"pvs@1"}'), "f"), /must be of #spec pvs@2/);
  assert.throws(
    () => parsePvs(enc('{"#spec":"pvs@2","protected":"e30","signature":""}'), "f"),
    /no alg/,
  );
});
