/**
 * Certificate chains for `sig ls --cacerts`: the extended key usage read from DER, and
 * the chain rules (issuer signatures, CA flags, validity, code signing).
 */

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { withTempDir } from "../../support/temp.ts";
import { CODE_SIGNING_OID, extendedKeyUsages } from "../../../core/sig/der.ts";
import { loadCertificateDers } from "../../../core/sig/keys.ts";
import { verifyCodeSigningChain } from "../../../core/sig/x509.ts";
import { makeChain, openssl } from "../../support/pki.ts";

async function cert(dir: string, name: string): Promise<X509Certificate> {
  return new X509Certificate(await Deno.readFile(`${dir}/${name}`));
}

Deno.test("extended key usage from DER: code signing, server auth, none", async () => {
  await withTempDir(async (dir) => {
    await makeChain(dir);
    const der = async (f: string) => loadCertificateDers(await Deno.readTextFile(`${dir}/${f}`))[0];
    assert.deepEqual(extendedKeyUsages(await der("leaf.pem")), [CODE_SIGNING_OID]);
    assert.deepEqual(extendedKeyUsages(await der("bad.pem")), ["2b06010505070301"]);
    assert.equal(extendedKeyUsages(await der("ca.pem")), null);
    assert.throws(() => extendedKeyUsages(new Uint8Array([0x30, 0x05, 0x01])), /DER/);
  });
});

Deno.test("chain: leaf → intermediate → root verifies; wrong usage, root or time does not", async () => {
  await withTempDir(async (dir) => {
    await makeChain(dir);
    const [ca, other, int, leaf, bad] = await Promise.all(
      ["ca.pem", "other-ca.pem", "int.pem", "leaf.pem", "bad.pem"].map((f) => cert(dir, f)),
    );
    const chain = verifyCodeSigningChain(leaf, [int], [ca]);
    assert.deepEqual(chain.map((c) => c.subject), [leaf.subject, int.subject, ca.subject]);
    assert.throws(() => verifyCodeSigningChain(bad, [int], [ca]), /not for code signing/);
    assert.throws(
      () => verifyCodeSigningChain(leaf, [int], [other]),
      /no certificate of the CA pool/,
    );
    assert.throws(() => verifyCodeSigningChain(leaf, [], [ca]), /no certificate of the CA pool/);
    assert.throws(
      () => verifyCodeSigningChain(leaf, [int], [ca], new Date("2100-01-01T00:00:00Z")),
      /not valid now/,
    );
    // A root in the pool is its own chain (the no-x5c case).
    assert.equal(verifyCodeSigningChain(ca, [], [ca, other]).length, 1);
  });
});

Deno.test("chain: an issuer that is a leaf is refused; a leaf without EKU is accepted (as Go)", async () => {
  await withTempDir(async (dir) => {
    await makeChain(dir);
    await Deno.writeTextFile(`${dir}/noca.ext`, "basicConstraints=CA:FALSE\n");
    await Deno.writeTextFile(
      `${dir}/plain.ext`,
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n",
    );
    // A leaf signed by another leaf (not a CA).
    await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "x.key"], dir);
    await openssl(["req", "-new", "-key", "x.key", "-out", "x.csr", "-subj", "/CN=x"], dir);
    await openssl([
      "x509",
      "-req",
      "-in",
      "x.csr",
      "-CA",
      "leaf.pem",
      "-CAkey",
      "leaf.key",
      "-CAcreateserial",
      "-out",
      "x.pem",
      "-days",
      "30",
      "-extfile",
      "noca.ext",
    ], dir);
    // A leaf without an extended key usage extension, issued by the intermediate.
    await openssl([
      "x509",
      "-req",
      "-in",
      "x.csr",
      "-CA",
      "int.pem",
      "-CAkey",
      "int.key",
      "-CAcreateserial",
      "-out",
      "plain.pem",
      "-days",
      "30",
      "-extfile",
      "plain.ext",
    ], dir);
    const [ca, int, leaf, x, plain] = await Promise.all(
      ["ca.pem", "int.pem", "leaf.pem", "x.pem", "plain.pem"].map((f) => cert(dir, f)),
    );
    // (OpenSSL's issuer check already refuses a leaf whose key usage lacks keyCertSign;
    // either way the chain is refused.)
    assert.throws(() => verifyCodeSigningChain(x, [leaf, int], [ca]), /x509: /);
    assert.equal(verifyCodeSigningChain(plain, [int], [ca]).length, 3);
  });
});
