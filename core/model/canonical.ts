/**
 * Canonical JSON as written to `.pvr/json` and posted to remotes (spec §3.2): the
 * gibson042 canonical JSON of canonicaljson-go v1.0.3.
 *
 * Written by hand because no package keeps number text exact: numbers are normalised
 * with decimal arithmetic on their digit string, never through a float64.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { JsonNumber, type JsonObject, type JsonValue } from "./json_value.ts";
import { MAX_JSON_DEPTH } from "./json_parse.ts";

/**
 * The most digits an integer may have when written without an exponent. Protects
 * against texts such as `1e999999999` that would otherwise need a billion zeros.
 */
export const MAX_INTEGER_DIGITS = 10_000;

/**
 * Serialises a value as canonical JSON: no whitespace, keys sorted by code point,
 * minimal string escaping, numbers in canonical form (see {@link canonicalNumber}).
 *
 * @throws {PvrError} `BAD_JSON` for a number out of range or nesting deeper than
 *   {@link MAX_JSON_DEPTH}
 * @example
 * ```ts
 * canonicalJson(parseJson('{"b": 1.50, "a": "<x>"}')); // '{"a":"<x>","b":1.5E0}'
 * ```
 */
export function canonicalJson(v: JsonValue): string {
  // Pushing chunks and joining once is about twice as fast as `+=` on big states.
  const out: string[] = [];
  writeValue(v, 0, out);
  return out.join("");
}

function writeValue(v: JsonValue, depth: number, out: string[]): void {
  if (v === null) out.push("null");
  else if (typeof v === "string") out.push(canonicalString(v));
  else if (typeof v === "boolean") out.push(v ? "true" : "false");
  else if (v instanceof JsonNumber) out.push(canonicalNumber(v.text));
  else {
    if (depth >= MAX_JSON_DEPTH) {
      throw new PvrError("BAD_JSON", `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(v)) {
      out.push("[");
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out.push(",");
        writeValue(v[i], depth + 1, out);
      }
      out.push("]");
    } else {
      out.push("{");
      const keys = sortedKeys(v);
      for (let i = 0; i < keys.length; i++) {
        out.push(i > 0 ? "," : "", canonicalString(keys[i]), ":");
        writeValue(v.get(keys[i]) as JsonValue, depth + 1, out);
      }
      out.push("}");
    }
  }
}

// Any character that may need an escape (surrogates too: pairs are checked below).
// deno-lint-ignore no-control-regex
const CANONICAL_SPECIAL = /["\\\x00-\x1f\ud800-\udfff]/;

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
  0x22: '\\"',
  0x5c: "\\\\",
};

/**
 * A string as canonical JSON (with the quotes): only `"`, `\` and U+0000–U+001F are
 * escaped (`\b \t \n \f \r` short forms, else `\u00XX` in upper case hex); lone
 * surrogates are escaped as `\uDXXX`; everything else is written raw.
 */
export function canonicalString(s: string): string {
  if (!CANONICAL_SPECIAL.test(s)) return '"' + s + '"';
  let out = '"';
  let start = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff)) continue;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a well-formed pair: written raw
        continue;
      }
    }
    out += s.slice(start, i) + (SHORT_ESCAPES[c] ?? unicodeEscape(c));
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

/** `\uXXXX` with upper case hex digits. */
function unicodeEscape(c: number): string {
  return "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
}

/** A JSON number split into sign, significant digits and a power of ten. */
export interface DecimalParts {
  /** True for a negative non-zero value. */
  readonly negative: boolean;
  /** Significant digits, no leading or trailing zeros; `"0"` for zero. */
  readonly digits: string;
  /** The value is `digits × 10^exponent` (0 for zero). */
  readonly exponent: number;
}

const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const PLAIN_INTEGER_RE = /^(?:0|-?[1-9][0-9]*)$/;
const ZERO_PARTS: DecimalParts = { negative: false, digits: "0", exponent: 0 };

/**
 * Splits a JSON number text into its exact decimal value (no float arithmetic), so
 * that two texts denote the same number iff their parts are equal.
 *
 * @throws {PvrError} `BAD_JSON` for text that is not a JSON number, or an exponent
 *   with more than 15 digits on a non-zero value ("number out of range")
 */
export function decimalParts(text: string): DecimalParts {
  if (!NUMBER_RE.test(text)) throw new PvrError("BAD_JSON", `invalid number ${quote(text)}`);
  const negative = text.charCodeAt(0) === 0x2d;
  let e = text.indexOf("e");
  if (e < 0) e = text.indexOf("E");
  const mantissa = e < 0 ? text : text.slice(0, e);
  const dot = mantissa.indexOf(".");
  const intPart = mantissa.slice(negative ? 1 : 0, dot < 0 ? undefined : dot);
  const frac = dot < 0 ? "" : mantissa.slice(dot + 1);
  const all = intPart + frac;

  let first = 0;
  while (first < all.length && all.charCodeAt(first) === 0x30) first++;
  if (first === all.length) return ZERO_PARTS;
  let last = all.length - 1;
  while (all.charCodeAt(last) === 0x30) last--;

  let exp = 0;
  if (e >= 0) {
    const expText = text.slice(e + 1).replace(/^[+-]?0*/, "");
    if (expText.length > 15) throw outOfRange(text);
    exp = Number(expText);
    if (text.charCodeAt(e + 1) === 0x2d) exp = -exp;
  }
  return {
    negative,
    digits: all.slice(first, last + 1),
    exponent: exp - frac.length + (all.length - 1 - last),
  };
}

/**
 * The canonical form of a JSON number text (spec §3.2), computed exactly:
 *
 * * an integer value is written as its digits without exponent (`1e2` → `100`,
 *   `1.0` → `1`, `-0` → `0`), however large;
 * * any other value as one non-zero digit, `.`, at least one more digit, `E` and the
 *   exponent without `+` or leading zeros (`0.5` → `5.0E-1`, `123.456` → `1.23456E2`).
 *
 * @throws {PvrError} `BAD_JSON` for invalid text or an integer of more than
 *   {@link MAX_INTEGER_DIGITS} digits ("number out of range")
 */
export function canonicalNumber(text: string): string {
  if (PLAIN_INTEGER_RE.test(text)) return text;
  const { negative, digits, exponent } = decimalParts(text);
  if (digits === "0") return "0";
  const sign = negative ? "-" : "";
  if (exponent >= 0) {
    if (digits.length + exponent > MAX_INTEGER_DIGITS) throw outOfRange(text);
    return sign + digits + "0".repeat(exponent);
  }
  const rest = digits.length > 1 ? digits.slice(1) : "0";
  return `${sign}${digits[0]}.${rest}E${digits.length - 1 + exponent}`;
}

function outOfRange(text: string): PvrError {
  return new PvrError("BAD_JSON", `number out of range: ${quote(text)}`);
}

/** Quotes a number text for an error message, shortened when very long. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? text.slice(0, 37) + "..." : text);
}

/**
 * Compares two strings by Unicode code point (the order of their UTF-8 bytes), not
 * by UTF-16 code unit as `<` and `Array.prototype.sort` do: U+FF5A sorts before
 * U+1F600 although its code unit is larger than the surrogate 0xD83D. A lone
 * surrogate counts as its own value (as in WTF-8).
 *
 * @returns a negative number, zero or a positive number
 */
export function compareCodePoints(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0xd800 && y < 0xd800) return x - y;
      return compareCodePointsAt(a, b, i);
    }
  }
  return a.length - b.length;
}

/** Slow path of {@link compareCodePoints}: `a` and `b` first differ at `i`. */
function compareCodePointsAt(a: string, b: string, i: number): number {
  // When the difference is in the low half of a pair, compare whole code points from
  // the (equal) high half on.
  if (i > 0 && isHigh(a.charCodeAt(i - 1)) && (isLow(a.charCodeAt(i)) || isLow(b.charCodeAt(i)))) {
    i--;
  }
  return (a.codePointAt(i) as number) - (b.codePointAt(i) as number);
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The keys of an object sorted by code point (see {@link compareCodePoints}). */
export function sortedKeys(obj: JsonObject): string[] {
  return [...obj.keys()].sort(compareCodePoints);
}
