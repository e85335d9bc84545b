/**
 * Deep equality of lossless JSON values.
 *
 * @module
 */

import { JsonNumber, type JsonValue } from "./json_value.ts";
import { decimalParts } from "./canonical.ts";

/**
 * True when `a` and `b` are the same JSON value:
 *
 * * numbers by exact decimal value (`1.50` equals `1.5E0` and `15e-1`; `-0` equals
 *   `0`; `12345678901234567891` does not equal `12345678901234567890`), never through
 *   float64;
 * * objects by key set and member values, whatever the key order;
 * * arrays element by element;
 * * strings, booleans and `null` by identity.
 *
 * @throws {PvrError} `BAD_JSON` only for a number whose text is not valid JSON, or
 *   whose exponent is absurdly long (see {@link decimalParts})
 */
export function jsonEquals(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof JsonNumber) return b instanceof JsonNumber && numbersEqual(a.text, b.text);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (!jsonEquals(a[i], b[i])) return false;
    }
    return true;
  }
  if (!(b instanceof Map) || a.size !== b.size) return false;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (y === undefined || !jsonEquals(x, y)) return false;
  }
  return true;
}

/** True when two JSON number texts denote the same decimal value. */
export function numbersEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const x = decimalParts(a);
  const y = decimalParts(b);
  return x.digits === y.digits && x.exponent === y.exponent && x.negative === y.negative;
}
