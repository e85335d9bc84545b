/**
 * JSON writers that match Go 1.20 `encoding/json`, for the outputs where the Go pvr
 * used `json.Marshal`, `json.MarshalIndent` or `json.Indent`:
 *
 * * `pvr diff`: `goIndent(goMarshal(patch, { numbers: "float" }), "", "\t") + "\n"`;
 * * checkout of an inline `.json` file: `goMarshalIndent(v, "", "    ", { numbers: "text" })`;
 * * `pvr json`: `goIndent(canonicalJson(state), "", "\t") + "\n"`.
 *
 * Written by hand because the byte-exact Go escaping (HTML-safe, lower case hex,
 * U+2028/U+2029) and float formatting are not what `JSON.stringify` does.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { JsonNumber, type JsonValue } from "./json_value.ts";
import { MAX_JSON_DEPTH } from "./json_parse.ts";
import { canonicalNumber, compareCodePoints } from "./canonical.ts";

/** Options of {@link goMarshal}. */
export interface GoMarshalOptions {
  /**
   * How numbers are written:
   * * `"float"`: as Go writes a float64 decoded from the number (`1.50` → `1.5`,
   *   `1e21` → `1e+21`), see {@link goNumberText};
   * * `"text"`: as the canonical form of the number's text (what Go writes for a
   *   `json.Number` read from canonical `.pvr/json`, e.g. `1.5E0`).
   */
  numbers: "float" | "text";
}

/**
 * Compact JSON as Go's `json.Marshal` writes a decoded `interface{}` value: object keys
 * sorted (UTF-8 byte order), strings escaped as Go 1.20 does with HTML escaping on
 * (see {@link goString}).
 *
 * @throws {PvrError} `BAD_JSON` for nesting deeper than {@link MAX_JSON_DEPTH} or an
 *   out-of-range number
 * @example
 * ```ts
 * goMarshal(parseJson('{"a":"<x>","b":1.50}'), { numbers: "float" }); // '{"a":"\u003cx\u003e","b":1.5}'
 * ```
 */
export function goMarshal(v: JsonValue, opts: GoMarshalOptions): string {
  const out: string[] = [];
  marshalValue(v, opts.numbers === "float", 0, out);
  return out.join("");
}

function marshalValue(v: JsonValue, float: boolean, depth: number, out: string[]): void {
  if (v === null) out.push("null");
  else if (typeof v === "string") out.push(goString(v));
  else if (typeof v === "boolean") out.push(v ? "true" : "false");
  else if (v instanceof JsonNumber) out.push(float ? goNumberText(v) : canonicalNumber(v.text));
  else {
    if (depth >= MAX_JSON_DEPTH) {
      throw new PvrError("BAD_JSON", `nesting deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(v)) {
      out.push("[");
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out.push(",");
        marshalValue(v[i], float, depth + 1, out);
      }
      out.push("]");
    } else {
      // Go sorts the keys of the decoded map, in which a lone surrogate had become U+FFFD.
      const keys: string[] = [];
      for (const k of v.keys()) keys.push(k.isWellFormed() ? k : k.toWellFormed());
      const values = [...v.values()];
      const order = keys.map((_, i) => i).sort((a, b) => compareCodePoints(keys[a], keys[b]));
      out.push("{");
      for (let i = 0; i < order.length; i++) {
        out.push(i > 0 ? "," : "", goString(keys[order[i]]), ":");
        marshalValue(values[order[i]], float, depth + 1, out);
      }
      out.push("}");
    }
  }
}

// Any character that may need an escape (surrogates too: pairs are checked below).
// deno-lint-ignore no-control-regex
const GO_SPECIAL = /["\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]/;

const GO_HEX = "0123456789abcdef";

/**
 * A string as Go 1.20 `json.Marshal` writes it (HTML escaping on): `"` and `\`
 * backslash-escaped; `\n \r \t` short forms; other characters below U+0020 and
 * `< > &` as `\u00xx` (lower case hex); U+2028 and U+2029 as `\u2028`/`\u2029`; a
 * lone surrogate as a raw U+FFFD (Go decoded it to U+FFFD); everything else raw.
 */
export function goString(s: string): string {
  if (!GO_SPECIAL.test(s)) return '"' + s + '"';
  let out = '"';
  let start = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    let esc: string;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
        continue;
      }
      esc = c === 0x22
        ? '\\"'
        : c === 0x5c
        ? "\\\\"
        : c === 0x0a
        ? "\\n"
        : c === 0x0d
        ? "\\r"
        : c === 0x09
        ? "\\t"
        : "\\u00" + GO_HEX[c >> 4] + GO_HEX[c & 0xf];
    } else if (c === 0x2028 || c === 0x2029) {
      esc = c === 0x2028 ? "\\u2028" : "\\u2029";
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < len) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++; // a well-formed pair: written raw
          continue;
        }
      }
      esc = "\ufffd";
    } else {
      continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return out + s.slice(start) + '"';
}

const SMALL_INTEGER_RE = /^-?[1-9][0-9]{0,14}$|^0$/;

/**
 * A number as Go writes the float64 it decodes to: `'f'` format, or `'e'` format when
 * the absolute value is below 1e-6 or at least 1e21 (exponent cleaned to `1e-7`,
 * `1e+21`), shortest digits that round-trip; `-0` stays `-0`.
 *
 * Deliberate difference from the Go pvr: when the float64 does not denote the same
 * decimal value as the text (`12345678901234567891`, `0.1000000000000000000001`,
 * `1e400`), the exact canonical text ({@link canonicalNumber}) is written instead, so
 * that a diff never shows a value that is not the one in the file.
 */
export function goNumberText(n: JsonNumber): string {
  const text = n.text;
  if (SMALL_INTEGER_RE.test(text)) return text; // exact as a float64, and Go writes it as is
  const f = Number(text);
  const exact = canonicalNumber(text);
  if (!Number.isFinite(f)) return exact;
  // JS `String` uses the same shortest round-trip digits and the same switch to
  // exponent form (below 1e-6, from 1e21 on) with the same exponent spelling.
  const goText = Object.is(f, -0) ? "-0" : String(f);
  return canonicalNumber(goText) === exact ? goText : exact;
}

/**
 * Re-indents a valid JSON text as Go's `json.Indent` does: each element or member on
 * its own line, starting with `prefix` and one `indent` per level (the first line has
 * no prefix); `": "` after keys; empty `{}` and `[]` stay compact; whitespace outside
 * strings is dropped except after the top-level value, which is kept as it is; no
 * newline is added at the end.
 *
 * The text must be valid JSON (as written by {@link goMarshal} or `canonicalJson`);
 * invalid text gives unspecified output.
 */
export function goIndent(json: string, prefix: string, indent: string): string {
  const newlines: string[] = [];
  const newline = (depth: number): string =>
    newlines[depth] ??= "\n" + prefix + indent.repeat(depth);
  // Trailing whitespace after the top-level value is kept, as Go does.
  let end = json.length;
  while (end > 0 && isSpace(json.charCodeAt(end - 1))) end--;
  const out: string[] = [];
  let depth = 0;
  let needIndent = false;
  let i = 0;
  while (i < end) {
    const c = json.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const closing = c === 0x7d || c === 0x5d; // } ]
    if (needIndent && !closing) {
      needIndent = false;
      depth++;
      out.push(newline(depth));
    }
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        needIndent = true; // delayed, so that empty containers stay `{}` and `[]`
        out.push(json[i++]);
        break;
      case 0x7d:
      case 0x5d:
        if (needIndent) {
          needIndent = false;
        } else {
          depth--;
          out.push(newline(depth));
        }
        out.push(json[i++]);
        break;
      case 0x2c: // ,
        out.push(",", newline(depth));
        i++;
        break;
      case 0x3a: // :
        out.push(": ");
        i++;
        break;
      case 0x22: { // a string: copied verbatim
        const j = stringEnd(json, i, end);
        out.push(json.slice(i, j));
        i = j;
        break;
      }
      default: { // a number or literal: copied up to the next delimiter
        let j = i + 1;
        while (j < end && !isDelimiter(json.charCodeAt(j))) j++;
        out.push(json.slice(i, j));
        i = j;
      }
    }
  }
  out.push(json.slice(end));
  return out.join("");
}

/**
 * `goIndent(goMarshal(v, opts), prefix, indent)`: Go's `json.MarshalIndent`.
 *
 * @example
 * ```ts
 * goMarshalIndent(parseJson('{"b":1.5E0,"a":"<x>"}'), "", "    ", { numbers: "text" });
 * // '{\n    "a": "\\u003cx\\u003e",\n    "b": 1.5E0\n}'
 * ```
 */
export function goMarshalIndent(
  v: JsonValue,
  prefix: string,
  indent: string,
  opts: GoMarshalOptions,
): string {
  return goIndent(goMarshal(v, opts), prefix, indent);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDelimiter(c: number): boolean {
  return c === 0x2c || c === 0x7d || c === 0x5d || c === 0x3a || isSpace(c);
}

/** The index just after the string that starts (with its quote) at `i`. */
function stringEnd(json: string, i: number, end: number): number {
  let j = i + 1;
  while (j < end) {
    const c = json.charCodeAt(j);
    if (c === 0x22) return j + 1;
    j += c === 0x5c ? 2 : 1;
  }
  return end;
}
