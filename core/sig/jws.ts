/**
 * pvs@2 signature files (spec §10.2): a JWS in flattened JSON serialisation (RFC 7515
 * §7.2.2) with a detached payload, plus `"#spec":"pvs@2"`, written as canonical JSON.
 *
 * The protected header must be byte-compatible with the Go pvr, which signs with
 * go-jose: go-jose serialises the header map with its copy of Go's `encoding/json`
 * (`json.Marshal` of a map): keys sorted (`alg`, `jwk`, `pvs`, `typ`, `x5c`), strings
 * HTML-escaped (`<`, `>`, `&` as `\u003c`…), no spaces. The `jwk` and `pvs` values are
 * Go structs, so their fields keep the struct order (`kty`,`crv`,`x`,`y` / `kty`,`n`,`e`;
 * `include`,`exclude`). `x5c` holds standard base64 DER (Go's `[]byte`). Here every
 * string goes through {@link goString} (core/model/go_json.ts), Go's string encoder.
 *
 * @module
 */

import { canonicalJson } from "../model/canonical.ts";
import { goString } from "../model/go_json.ts";
import { parseJson } from "../model/json_parse.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json_value.ts";
import type { State } from "../model/state.ts";
import {
  decodeBase64Std,
  decodeBase64Url,
  encodeBase64Std,
  encodeBase64Url,
  type SigningKey,
  signJws,
} from "./keys.ts";
import { payloadBytes, type PvsMatch } from "./payload.ts";

/** The `#spec` of a signature file. */
export const PVS_SPEC = "pvs@2";

const encoder = new TextEncoder();

/** A Go `[]string` in JSON (a nil slice is `null`). */
function goStrings(list: readonly string[] | null): string {
  return list === null ? "null" : "[" + list.map(goString).join(",") + "]";
}

/**
 * The protected header JSON text, byte for byte as go-jose writes it for the Go pvr
 * (see the module doc). `x5c` null or empty: no `x5c` member.
 */
export function protectedHeaderJson(
  alg: string,
  jwkJson: string,
  match: PvsMatch,
  x5c: readonly Uint8Array[] | null,
): string {
  const parts = [
    `"alg":${goString(alg)}`,
    `"jwk":${jwkJson}`,
    `"pvs":{"include":${goStrings(match.include)},"exclude":${goStrings(match.exclude)}}`,
    `"typ":"PVS"`,
  ];
  if (x5c !== null && x5c.length > 0) {
    parts.push(`"x5c":[${x5c.map((d) => goString(encodeBase64Std(d))).join(",")}]`);
  }
  return "{" + parts.join(",") + "}";
}

/** A freshly made signature. */
export interface SignedPvs {
  /** The signature file's bytes (canonical JSON, no trailing newline). */
  file: Uint8Array;
  /** The payload that was signed. */
  payload: Uint8Array;
  /** The JWS signing input: `base64url(protected) "." base64url(payload)`. */
  signingInput: Uint8Array;
  /** The raw signature (RSA: PKCS#1 v1.5; EC: `r‖s`). */
  signature: Uint8Array;
}

/**
 * Signs the part of `state` that `match` selects and returns the signature file: the
 * payload is kept in it (base64url) only when `withPayload` is set.
 */
export function createPvs(
  state: State,
  match: PvsMatch,
  key: SigningKey,
  x5c: readonly Uint8Array[] | null,
  withPayload: boolean,
): SignedPvs {
  const payload = payloadBytes(state, match);
  const protectedB64 = encodeBase64Url(
    encoder.encode(protectedHeaderJson(key.alg, key.jwkJson, match, x5c)),
  );
  const payloadB64 = encodeBase64Url(payload);
  const signingInput = encoder.encode(`${protectedB64}.${payloadB64}`);
  const signature = signJws(key, signingInput);
  const obj: JsonObject = new Map<string, JsonValue>([
    ["#spec", PVS_SPEC],
    ["protected", protectedB64],
    ["signature", encodeBase64Url(signature)],
  ]);
  if (withPayload) obj.set("payload", payloadB64);
  return { file: encoder.encode(canonicalJson(obj)), payload, signingInput, signature };
}

/** A signature file, read. */
export interface ParsedPvs {
  /** The `protected` member exactly as stored (it is part of the signing input). */
  protectedB64: string;
  /** The `alg` header. */
  alg: string;
  /** The `pvs` match rule (a missing list is empty). */
  match: PvsMatch;
  /** The `x5c` chain (DER, leaf first), or null when there is none. */
  x5c: Uint8Array[] | null;
  /** The decoded signature. */
  signature: Uint8Array;
}

function stringList(v: JsonValue | undefined, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw new Error(`the pvs header's ${what} is not a list of strings`);
  }
  return v as string[];
}

/**
 * Reads a signature file (as the Go pvr: `#spec` checked first, then the JWS).
 *
 * @throws {Error} with the Go pvr's message for a missing or wrong `#spec`, or what
 *   else is wrong with the file
 */
export function parsePvs(bytes: Uint8Array, source: string): ParsedPvs {
  const doc = parseJson(bytes, source);
  if (!isJsonObject(doc)) throw new Error(`${source} is not a JSON object`);
  if (!doc.has("#spec")) throw new Error("pvs signature does not have a #spec element");
  if (doc.get("#spec") !== PVS_SPEC) throw new Error("pvs signature must be of #spec pvs@2");
  const protectedB64 = doc.get("protected");
  const sig = doc.get("signature");
  if (typeof protectedB64 !== "string" || typeof sig !== "string") {
    throw new Error(`${source}: a JWS needs "protected" and "signature" strings`);
  }
  let header: JsonValue;
  try {
    header = parseJson(decodeBase64Url(protectedB64), "protected header");
  } catch (err) {
    throw new Error(`${source}: bad protected header: ${(err as Error).message}`);
  }
  if (!isJsonObject(header)) throw new Error(`${source}: the protected header is not an object`);
  const alg = header.get("alg");
  if (typeof alg !== "string") throw new Error(`${source}: the protected header has no alg`);
  const pvs = header.get("pvs");
  if (!isJsonObject(pvs)) throw new Error(`${source}: the protected header has no pvs match`);
  const match = {
    include: stringList(pvs.get("include"), "include"),
    exclude: stringList(pvs.get("exclude"), "exclude"),
  };
  const x5cValue = header.get("x5c");
  let x5c: Uint8Array[] | null = null;
  if (x5cValue !== undefined && x5cValue !== null) {
    const list = stringList(x5cValue, "x5c");
    try {
      x5c = list.map(decodeBase64Std);
    } catch {
      throw new Error(`${source}: the x5c header is not base64`);
    }
  }
  let signature: Uint8Array;
  try {
    signature = decodeBase64Url(sig);
  } catch {
    throw new Error(`${source}: the signature is not base64url`);
  }
  return { protectedB64, alg, match, x5c, signature };
}

/** The signing input of a parsed signature over `payload`. */
export function signingInputOf(parsed: ParsedPvs, payload: Uint8Array): Uint8Array {
  return encoder.encode(`${parsed.protectedB64}.${encodeBase64Url(payload)}`);
}
