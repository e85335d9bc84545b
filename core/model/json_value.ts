/**
 * Lossless JSON values.
 *
 * pvr must never change a number it did not touch, so numbers keep their decimal text
 * ({@link JsonNumber}); objects are `Map`s so that any key (`__proto__` included) is
 * plain data and so that duplicate keys resolve the way Go's decoder does (last wins).
 *
 * @module
 */

/** A JSON number kept as its exact decimal text (as it appeared in the source). */
export class JsonNumber {
  /** The number's text, valid JSON number grammar (e.g. `-1.50e+3`). */
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  /** The nearest IEEE-754 double (may lose precision). */
  toNumber(): number {
    return Number(this.text);
  }
  toString(): string {
    return this.text;
  }
}

/** A JSON object: insertion-ordered map of keys to values. */
export type JsonObject = Map<string, JsonValue>;

/** Any JSON value. */
export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;

/** True when `v` is a JSON object. */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return v instanceof Map;
}

/** True when `v` is a JSON array. */
export function isJsonArray(v: JsonValue | undefined): v is JsonValue[] {
  return Array.isArray(v);
}

/**
 * Converts a plain JavaScript value (as from `JSON.parse` or an object literal) to a
 * {@link JsonValue}. JS numbers become their shortest round-trip text. `undefined`
 * members are dropped, as `JSON.stringify` does.
 */
export function fromPlain(v: unknown): JsonValue {
  if (v === null) return null;
  switch (typeof v) {
    case "boolean":
    case "string":
      return v;
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`not a JSON number: ${v}`);
      return new JsonNumber(String(v));
    case "bigint":
      return new JsonNumber(v.toString());
    case "object": {
      if (v instanceof JsonNumber || v instanceof Map) return v as JsonValue;
      if (Array.isArray(v)) return v.map((x) => fromPlain(x));
      const m: JsonObject = new Map();
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x !== undefined) m.set(k, fromPlain(x));
      }
      return m;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof v}`);
  }
}

/**
 * Converts a {@link JsonValue} to a plain JavaScript value. Numbers become JS numbers
 * (lossy above 2^53); objects become null-prototype records. For libraries that need
 * plain data (zod, fast-json-patch); never used to write a state.
 */
export function toPlain(v: JsonValue): unknown {
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (v instanceof JsonNumber) return v.toNumber();
  if (Array.isArray(v)) return v.map(toPlain);
  const o: Record<string, unknown> = Object.create(null);
  for (const [k, x] of v) o[k] = toPlain(x);
  return o;
}

/** Builds a {@link JsonObject} from entries or a record. */
export function jsonObject(
  entries?: Iterable<readonly [string, JsonValue]> | Record<string, JsonValue>,
): JsonObject {
  if (entries === undefined) return new Map();
  if (Symbol.iterator in Object(entries)) {
    return new Map(entries as Iterable<readonly [string, JsonValue]>);
  }
  return new Map(Object.entries(entries as Record<string, JsonValue>));
}
