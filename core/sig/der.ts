/**
 * The little DER (ASN.1) reading `pvr sig` needs from X.509 certificates that the
 * runtime's `X509Certificate` does not give: the extended key usage extension.
 * Minimal by design: definite lengths only, no constructed strings.
 *
 * @module
 */

/** One DER element: its tag byte, and where its content lies in the input. */
export interface DerElement {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just after the last content byte. */
  end: number;
}

/** Reads the element at `pos` (which must end at or before `limit`). */
export function readDer(buf: Uint8Array, pos: number, limit = buf.length): DerElement {
  if (pos + 2 > limit) throw new Error("DER: truncated element");
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) throw new Error("DER: multi-byte tags are not supported");
  let len = buf[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error("DER: unsupported length");
    if (start + n > limit) throw new Error("DER: truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error("DER: element longer than its container");
  return { tag, start, end };
}

/** The elements inside a constructed element. */
export function derChildren(buf: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let pos = parent.start; pos < parent.end;) {
    const e = readDer(buf, pos, parent.end);
    out.push(e);
    pos = e.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const OCTET_STRING = 0x04;
const EXTENSIONS_TAG = 0xa3; // [3] EXPLICIT in TBSCertificate

function hex(buf: Uint8Array, e: DerElement): string {
  let s = "";
  for (let i = e.start; i < e.end; i++) s += buf[i].toString(16).padStart(2, "0");
  return s;
}

/** DER content (hex) of the OID 2.5.29.37, extended key usage. */
const EKU_OID = "551d25";
/** DER content (hex) of id-kp-codeSigning, 1.3.6.1.5.5.7.3.3. */
export const CODE_SIGNING_OID = "2b06010505070303";
/** DER content (hex) of anyExtendedKeyUsage, 2.5.29.37.0. */
export const ANY_EKU_OID = "551d2500";

/**
 * The extended key usages of a DER certificate, as hex OID contents, or `null` when
 * the certificate has no such extension.
 *
 * @throws {Error} when the DER is not a certificate
 */
export function extendedKeyUsages(der: Uint8Array): string[] | null {
  const cert = readDer(der, 0);
  if (cert.tag !== SEQUENCE) throw new Error("DER: a certificate is a SEQUENCE");
  const tbs = derChildren(der, cert)[0];
  if (tbs === undefined || tbs.tag !== SEQUENCE) throw new Error("DER: no TBSCertificate");
  const ext = derChildren(der, tbs).find((e) => e.tag === EXTENSIONS_TAG);
  if (ext === undefined) return null;
  const list = derChildren(der, ext)[0];
  if (list === undefined || list.tag !== SEQUENCE) throw new Error("DER: bad extensions");
  for (const one of derChildren(der, list)) {
    const parts = derChildren(der, one);
    if (parts.length < 2 || parts[0].tag !== OID || hex(der, parts[0]) !== EKU_OID) continue;
    const value = parts[parts.length - 1];
    if (value.tag !== OCTET_STRING) throw new Error("DER: bad extension value");
    const seq = readDer(der, value.start, value.end);
    if (seq.tag !== SEQUENCE) throw new Error("DER: bad extended key usage");
    return derChildren(der, seq).filter((e) => e.tag === OID).map((e) => hex(der, e));
  }
  return null;
}
