/**
 * Keys and certificates of `pvr sig`, read from PEM files with `node:crypto`:
 *
 * * the signing key: the first PEM block whose type contains `PRIVATE KEY` (PKCS#1,
 *   PKCS#8 or SEC 1), RSA → `RS256`; EC by curve → `ES256` (P-256), `ES384` (P-384),
 *   `ES512` (P-521 — the Go pvr rejects this curve, we do not);
 * * verification keys: every `PUBLIC KEY` or `RSA PUBLIC KEY` block, PKIX or PKCS#1;
 * * certificates: every `CERTIFICATE` block, as DER.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { goString } from "../model/go_json.ts";

/** The JWS algorithms pvr signs and verifies with. */
export type PvsAlgorithm = "RS256" | "ES256" | "ES384" | "ES512";

/** One PEM block. */
export interface PemBlock {
  /** The label, e.g. `PUBLIC KEY`. */
  type: string;
  /** True when the block has RFC 1421 headers (`Proc-Type: …`, encrypted keys). */
  hasHeaders: boolean;
  /** The decoded body. */
  der: Uint8Array;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The PEM blocks of a text, in order (bodies that are not base64 are skipped). */
export function parsePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const lines = m[2].split(/\r?\n/);
    const hasHeaders = lines.some((l) => l.includes(":"));
    const body = lines.filter((l) => !l.includes(":")).join("").replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    out.push({ type: m[1], hasHeaders, der: decodeBase64Std(body) });
  }
  return out;
}

/** Standard base64 (padding optional) to bytes. */
export function decodeBase64Std(s: string): Uint8Array {
  const bin = atob(
    s.replace(/=+$/, "").padEnd(Math.ceil(s.replace(/=+$/, "").length / 4) * 4, "="),
  );
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes to standard base64 with padding (Go's `[]byte` in JSON). */
export function encodeBase64Std(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Bytes to base64url without padding (JWS). */
export function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64Std(bytes).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

/** base64url (padding optional) to bytes; throws on other characters. */
export function decodeBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(s)) throw new Error("illegal base64url data");
  return decodeBase64Std(s.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/"));
}

/** A private key ready to sign. */
export interface SigningKey {
  key: KeyObject;
  alg: PvsAlgorithm;
  /**
   * The public key as go-jose embeds it (`jwk` header): its struct field order, so
   * `{"kty":"EC","crv":…,"x":…,"y":…}` or `{"kty":"RSA","n":…,"e":…}`.
   */
  jwkJson: string;
}

const CURVE_ALG: Readonly<Record<string, PvsAlgorithm>> = {
  "prime256v1": "ES256",
  "P-256": "ES256",
  "secp384r1": "ES384",
  "P-384": "ES384",
  "secp521r1": "ES512",
  "P-521": "ES512",
};

/** The algorithm for a key, or an error message. */
function algorithmOf(key: KeyObject): PvsAlgorithm | string {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    return CURVE_ALG[curve] ?? `Private key with unsupported curve for ESXXXX: ${curve}`;
  }
  return `Not supported priv key of type ${key.asymmetricKeyType}`;
}

/**
 * Reads the signing key from PEM text.
 *
 * @throws {Error} when there is no private key block, it does not parse, or its type
 *   or curve is not supported
 */
export function loadSigningKey(pemText: string, source: string): SigningKey {
  const block = parsePem(pemText).find((b) => b.type.includes("PRIVATE KEY"));
  if (block === undefined) throw new Error(`No valid PEM encoded sign key found in ${source}`);
  if (block.hasHeaders) {
    throw new Error(`the key in ${source} is encrypted; give an unencrypted key`);
  }
  let key: KeyObject;
  try {
    const type = block.type === "RSA PRIVATE KEY"
      ? "pkcs1"
      : block.type === "EC PRIVATE KEY"
      ? "sec1"
      : "pkcs8";
    key = createPrivateKey({ key: Buffer.from(block.der), format: "der", type });
  } catch (err) {
    throw new Error(`Private key cannot be parsed: ${(err as Error).message}`);
  }
  const alg = algorithmOf(key);
  if (alg !== "RS256" && alg !== "ES256" && alg !== "ES384" && alg !== "ES512") {
    throw new Error(alg);
  }
  return { key, alg, jwkJson: jwkJsonOf(createPublicKey(key)) };
}

/**
 * A public key as go-jose embeds it in the `jwk` header: the fields of its
 * `rawJSONWebKey` struct in struct order (`kty`,`crv`,`x`,`y` for EC, `kty`,`n`,`e` for
 * RSA), EC coordinates at the curve's full size, `n` and `e` without leading zeros.
 */
export function jwkJsonOf(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: "jwk" }) as Record<string, string>;
  const fields = jwk.kty === "EC" ? ["kty", "crv", "x", "y"] : ["kty", "n", "e"];
  return "{" + fields.map((f) => `${goString(f)}:${goString(jwk[f])}`).join(",") + "}";
}

/**
 * Reads every `PUBLIC KEY`/`RSA PUBLIC KEY` block (PKCS#1 or PKIX, RSA or EC). Blocks
 * that do not parse, or hold another key type, are reported through `warn` and skipped.
 *
 * @throws {Error} when the text has no public key block at all
 */
export function loadPublicKeys(
  pemText: string,
  source: string,
  warn: (line: string) => void = () => {},
): KeyObject[] {
  const blocks = parsePem(pemText).filter((b) =>
    b.type === "PUBLIC KEY" || b.type === "RSA PUBLIC KEY"
  );
  if (blocks.length === 0) throw new Error(`No valid PEM encoded verify key found ${source}`);
  const keys: KeyObject[] = [];
  for (const b of blocks) {
    let key: KeyObject | undefined;
    for (const type of ["pkcs1", "spki"] as const) {
      try {
        key = createPublicKey({ key: Buffer.from(b.der), format: "der", type });
        break;
      } catch {
        // try the other encoding
      }
    }
    if (key === undefined) {
      warn(`WARNING: Error Parsing Public key from PEM in ${source}`);
      continue;
    }
    if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "ec") {
      warn(`WARNING: public key of type ${key.asymmetricKeyType} in ${source} is not supported`);
      continue;
    }
    keys.push(key);
  }
  return keys;
}

/** The DER certificates of a PEM text (`CERTIFICATE` blocks without headers). */
export function loadCertificateDers(pemText: string): Uint8Array[] {
  return parsePem(pemText).filter((b) => b.type === "CERTIFICATE" && !b.hasHeaders).map((b) =>
    b.der
  );
}

const HASH: Readonly<Record<PvsAlgorithm, string>> = {
  RS256: "sha256",
  ES256: "sha256",
  ES384: "sha384",
  ES512: "sha512",
};

/** Signature size in bytes of raw `r‖s` for each EC algorithm. */
const EC_SIG_SIZE: Readonly<Record<string, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/** Signs `input`: RSASSA-PKCS1-v1_5 or ECDSA with a raw `r‖s` signature (JWS). */
export function signJws(key: SigningKey, input: Uint8Array): Uint8Array {
  const sig = key.alg === "RS256"
    ? sign(HASH[key.alg], input, key.key)
    : sign(HASH[key.alg], input, { key: key.key, dsaEncoding: "ieee-p1363" });
  return new Uint8Array(sig);
}

/**
 * True when `sig` is a valid JWS signature of `input` by `key` under `alg`. A key that
 * does not fit the algorithm (type or curve) never verifies.
 */
export function verifyJws(
  alg: string,
  key: KeyObject,
  input: Uint8Array,
  sig: Uint8Array,
): boolean {
  if (!(alg in HASH)) return false;
  const keyAlg = algorithmOf(key);
  if (keyAlg !== alg) return false;
  try {
    if (alg === "RS256") return verify(HASH[alg as PvsAlgorithm], input, key, sig);
    if (sig.length !== EC_SIG_SIZE[alg]) return false;
    return verify(HASH[alg as PvsAlgorithm], input, { key, dsaEncoding: "ieee-p1363" }, sig);
  } catch {
    return false;
  }
}
