/**
 * Certificate chains for `pvr sig ls --cacerts`: the `x5c` chain (leaf first) must lead
 * to a certificate of the CA pool, as Go's `x509.Certificate.Verify` with
 * `KeyUsages: [CodeSigning]` demands:
 *
 * * each certificate is signed by the next one and names it as issuer
 *   (`X509Certificate.checkIssued` and `verify` of `node:crypto`);
 * * every certificate is valid now (`validFromDate`/`validToDate`);
 * * every issuer is a CA (basic constraints, `X509Certificate.ca`);
 * * every certificate that has an extended key usage extension lists code signing or
 *   any-usage; one without the extension allows any usage (as Go and pantavisor).
 *
 * The runtime does not expose the extended key usage (its `keyUsage` is the plain key
 * usage), so that one extension is read from the DER (see der.ts).
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { ANY_EKU_OID, CODE_SIGNING_OID, extendedKeyUsages } from "./der.ts";

/** Chains longer than this are not followed. */
const MAX_CHAIN = 10;

/** Parses DER certificates; throws with the index of one that does not parse. */
export function parseCertificates(ders: readonly Uint8Array[], what: string): X509Certificate[] {
  return ders.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw new Error(`${what} certificate ${i} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

/** Why `cert` may not be used for code signing now, or null when it may. */
function usageProblem(cert: X509Certificate, now: Date): string | null {
  if (now < cert.validFromDate || now > cert.validToDate) {
    return `certificate ${
      subjectOf(cert)
    } is not valid now (valid ${cert.validFrom} to ${cert.validTo})`;
  }
  let ekus: string[] | null;
  try {
    ekus = extendedKeyUsages(new Uint8Array(cert.raw));
  } catch (err) {
    return `certificate ${subjectOf(cert)}: ${(err as Error).message}`;
  }
  if (ekus !== null && !ekus.includes(CODE_SIGNING_OID) && !ekus.includes(ANY_EKU_OID)) {
    return `certificate ${subjectOf(cert)} is not for code signing (extended key usage)`;
  }
  return null;
}

function subjectOf(cert: X509Certificate): string {
  return JSON.stringify(cert.subject.replace(/\n/g, ", "));
}

function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a.fingerprint256 === b.fingerprint256;
}

/**
 * Verifies that `leaf` chains through `intermediates` to one of `roots` for code
 * signing, and returns the chain (leaf first, root last).
 *
 * @throws {Error} with the reason when no chain is good
 */
export function verifyCodeSigningChain(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  roots: readonly X509Certificate[],
  now: Date = new Date(),
): X509Certificate[] {
  let lastProblem = "no certificate of the CA pool issued it";
  const walk = (chain: X509Certificate[]): X509Certificate[] | null => {
    const cur = chain[chain.length - 1];
    const problem = usageProblem(cur, now);
    if (problem !== null) {
      lastProblem = problem;
      return null;
    }
    if (roots.some((r) => sameCert(r, cur))) return chain;
    if (chain.length >= MAX_CHAIN) {
      lastProblem = "the chain is too long";
      return null;
    }
    for (const cand of [...roots, ...intermediates]) {
      if (chain.some((c) => sameCert(c, cand))) continue;
      if (!cur.checkIssued(cand)) continue;
      let signed = false;
      try {
        signed = cur.verify(cand.publicKey);
      } catch {
        signed = false;
      }
      if (!signed) {
        lastProblem = `certificate ${subjectOf(cur)} is not signed by ${subjectOf(cand)}`;
        continue;
      }
      if (!cand.ca) {
        lastProblem = `certificate ${subjectOf(cand)} is not a CA`;
        continue;
      }
      const found = walk([...chain, cand]);
      if (found !== null) return found;
    }
    return null;
  };
  const chain = walk([leaf]);
  if (chain === null) throw new Error(`x509: ${lastProblem}`);
  return chain;
}
