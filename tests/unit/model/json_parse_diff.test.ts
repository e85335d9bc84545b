/**
 * Differential test of `parseJson` against the reference parser it replaced
 * (`tests/support/json_parse_reference.ts`): for every input, the same value (same
 * types, number texts, key order) or the same error (same code and message).
 *
 * Inputs: the Pantavisor fixture states, the benchmark workload's state when present,
 * the inputs of `json_parse.test.ts`, and a few thousand generated documents, valid
 * and corrupted, from a fixed seed (a failure prints the input to replay).
 */
import assert from "node:assert/strict";
import { MAX_JSON_DEPTH, parseJson } from "../../../core/model/json_parse.ts";
import { JsonNumber, type JsonValue } from "../../../core/model/json_value.ts";
import { PvrError } from "../../../core/errors.ts";
import {
  parseJsonReference,
  REFERENCE_MAX_JSON_DEPTH,
} from "../../support/json_parse_reference.ts";
import { PANTAVISOR_FIXTURES } from "../../support/temp.ts";

/** The benchmark workload's state (large, realistic); its test is skipped when absent. */
const W1_STATE = "/tmp/pvrb/w1/.pvr/json";

const encoder = new TextEncoder();

type Outcome =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: string };

function outcome(parse: () => JsonValue): Outcome {
  try {
    return { ok: true, value: parse() };
  } catch (err) {
    if (err instanceof PvrError) return { ok: false, error: `${err.code}: ${err.message}` };
    // Anything else (a TypeError, a RangeError …) is a difference in itself.
    return { ok: false, error: `unexpected ${String(err)}` };
  }
}

/** Where `a` and `b` first differ (types, number texts, key order), or undefined. */
function difference(a: JsonValue, b: JsonValue, path = "$"): string | undefined {
  if (a === null || typeof a === "boolean" || typeof a === "string") {
    return a === b ? undefined : `${path}: ${JSON.stringify(a)} vs ${describe(b)}`;
  }
  if (a instanceof JsonNumber) {
    if (!(b instanceof JsonNumber) || Object.getPrototypeOf(b) !== JsonNumber.prototype) {
      return `${path}: number ${a.text} vs ${describe(b)}`;
    }
    return a.text === b.text ? undefined : `${path}: number ${a.text} vs ${b.text}`;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || Object.getPrototypeOf(b) !== Array.prototype) {
      return `${path}: array vs ${describe(b)}`;
    }
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} elements`;
    for (let i = 0; i < a.length; i++) {
      const d = difference(a[i], b[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (!(b instanceof Map) || Object.getPrototypeOf(b) !== Map.prototype) {
    return `${path}: object vs ${describe(b)}`;
  }
  const ka = [...a.keys()];
  const kb = [...b.keys()];
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    return `${path}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
  }
  for (const k of ka) {
    const d = difference(a.get(k) as JsonValue, b.get(k) as JsonValue, `${path}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

function describe(v: JsonValue): string {
  if (v instanceof JsonNumber) return `number ${v.text}`;
  if (v instanceof Map) return "object";
  if (Array.isArray(v)) return "array";
  return JSON.stringify(v);
}

/** Why the two parsers disagree on `input`, or undefined when they agree. */
function disagreement(input: string | Uint8Array, source?: string): string | undefined {
  const expected = outcome(() => parseJsonReference(input, source));
  const actual = outcome(() => parseJson(input, source));
  if (expected.ok && actual.ok) return difference(expected.value, actual.value);
  if (!expected.ok && !actual.ok) {
    return expected.error === actual.error ? undefined : `${expected.error} vs ${actual.error}`;
  }
  return expected.ok
    ? `reference parsed it, new one threw ${(actual as { error: string }).error}`
    : `reference threw ${expected.error}, new one parsed it`;
}

/** Asserts agreement on `text`, given as a string and as its UTF-8 bytes. */
function assertSame(text: string, source?: string): void {
  const d = disagreement(text, source);
  if (d !== undefined) assert.fail(`on ${JSON.stringify(text.slice(0, 2000))}: ${d}`);
  const bytes = encoder.encode(text);
  const e = disagreement(bytes, source);
  if (e !== undefined) assert.fail(`on the bytes of ${JSON.stringify(text.slice(0, 2000))}: ${e}`);
}

/** Counts of valid and invalid inputs seen, so a degenerate generator is noticed. */
function tally(texts: readonly string[]): { valid: number; invalid: number } {
  let valid = 0;
  for (const t of texts) if (outcome(() => parseJsonReference(t)).ok) valid++;
  return { valid, invalid: texts.length - valid };
}

// ---------------------------------------------------------------------------
// Generated documents.

/** A small deterministic PRNG (mulberry32), so that every run sees the same inputs. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Generator {
  readonly #random: () => number;
  constructor(seed: number) {
    this.#random = prng(seed);
  }

  int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  chance(p: number): boolean {
    return this.#random() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** JSON whitespace, usually none. */
  space(): string {
    if (!this.chance(0.3)) return "";
    let s = "";
    const n = 1 + this.int(4);
    for (let i = 0; i < n; i++) s += this.pick([" ", " ", "\n", "\t", "\r", "\r\n", "  "]);
    return s;
  }

  hex4(code: number): string {
    const h = code.toString(16).padStart(4, "0");
    return "\\u" + (this.chance(0.5) ? h : h.toUpperCase());
  }

  /** The body of a string literal (without quotes), often with escapes. */
  stringBody(): string {
    if (this.chance(0.35)) {
      // The common case in states: plain ASCII, paths and digests.
      const n = this.int(40);
      let s = "";
      for (let i = 0; i < n; i++) s += this.pick([..."abcxyz019/._-#@ :,{}[]"]);
      return s;
    }
    let s = "";
    const n = this.int(12);
    for (let i = 0; i < n; i++) {
      switch (this.int(12)) {
        case 0:
          s += this.pick(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]);
          break;
        case 1:
          s += this.hex4(this.int(0x10000)); // any code unit, lone surrogates included
          break;
        case 2: {
          // An escaped surrogate pair, or a lone half of one.
          const cp = 0x10000 + this.int(0x100000);
          const hi = 0xd800 + ((cp - 0x10000) >> 10);
          const lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
          s += this.pick([this.hex4(hi) + this.hex4(lo), this.hex4(hi), this.hex4(lo)]);
          break;
        }
        case 3:
          s += this.pick(["é", "ｚ", "€", "\u2028", "\u2029", "\u007f", "\u0080", "\ufeff"]);
          break;
        case 4:
          s += String.fromCodePoint(0x10000 + this.int(0x100000)); // raw astral
          break;
        case 5:
          s += this.hex4(this.int(0x20)); // escaped control character
          break;
        default:
          s += this.pick([..."abc xyz 09 _-/.:,"]);
      }
    }
    return s;
  }

  string(): string {
    return '"' + this.stringBody() + '"';
  }

  /** A key from a small pool (so that objects get duplicate keys), or a fresh one. */
  key(): string {
    if (this.chance(0.5)) {
      return '"' + this.pick([
        "a",
        "b",
        "c",
        "__proto__",
        "constructor",
        "toString",
        "0",
        "1",
        "2",
        "10",
        "42",
        "01",
        "-1",
        "1.5",
        "4294967294",
        "4294967295",
        "9007199254740993",
        "",
        "#spec",
        "é",
        "\\u0061",
        "\\ud800",
      ]) + '"';
    }
    return this.string();
  }

  number(): string {
    let s = this.chance(0.3) ? "-" : "";
    if (this.chance(0.2)) {
      s += "0";
    } else {
      s += String(1 + this.int(9));
      const n = this.pick([0, 0, 1, 2, 5, 18, 30]);
      for (let i = 0; i < n; i++) s += String(this.int(10));
    }
    if (this.chance(0.3)) {
      s += ".";
      const n = 1 + this.int(this.chance(0.1) ? 25 : 4);
      for (let i = 0; i < n; i++) s += String(this.int(10));
    }
    if (this.chance(0.2)) {
      s += this.pick(["e", "E"]) + this.pick(["", "+", "-"]);
      s += String(this.pick([0, 1, 10, 308, 309, 324, 400, 999999999]));
    }
    return s;
  }

  value(depth: number): string {
    const r = this.int(depth > 6 ? 6 : 10);
    switch (r) {
      case 0:
        return this.pick(["true", "false", "null"]);
      case 1:
      case 2:
        return this.number();
      case 3:
      case 4:
      case 5:
        return this.string();
      case 6:
      case 7: {
        const n = this.int(6);
        const items: string[] = [];
        for (let i = 0; i < n; i++) items.push(this.space() + this.value(depth + 1) + this.space());
        return "[" + (n === 0 ? this.space() : items.join(",")) + "]";
      }
      default: {
        const n = this.int(7);
        const members: string[] = [];
        for (let i = 0; i < n; i++) {
          members.push(
            this.space() + this.key() + this.space() + ":" + this.space() +
              this.value(depth + 1) + this.space(),
          );
        }
        return "{" + (n === 0 ? this.space() : members.join(",")) + "}";
      }
    }
  }

  document(): string {
    return this.space() + this.value(0) + this.space();
  }

  /** `text` with one corruption that usually (not always) makes it invalid. */
  corrupt(text: string): string {
    const at = this.int(text.length + 1);
    const before = text.slice(0, at);
    const after = text.slice(at);
    switch (this.int(9)) {
      case 0: // truncation
        return before;
      case 1: // a deleted character
        return before + after.slice(1);
      case 2: // an inserted character
        return before + this.pick(this.#junk) + after;
      case 3: // a replaced character
        return before + this.pick(this.#junk) + after.slice(1);
      case 4: { // a trailing comma before a closer
        const close = text.search(/[\]}]/);
        return close < 0 ? text + "," : text.slice(0, close) + "," + text.slice(close);
      }
      case 5: // a bad escape
        return before + this.pick(["\\x", "\\u12", "\\u12G4", "\\U0041", "\\", "\\'"]) + after;
      case 6: // a raw control character or a BOM
        return before + this.pick(["\u0000", "\u0001", "\u001f", "\n", "\t", "\ufeff"]) +
          after;
      case 7: // a second value after the first
        return text + this.pick([" 1", "{}", ",", "]", "}", " x", '"'] as const);
      default: // a raw lone surrogate
        return before + this.pick(["\ud800", "\udc00", "\udbff"]) + after;
    }
  }

  readonly #junk = [...'{}[],:"\\0123456789-+.eEtfnulx #\u00e9'];
}

// ---------------------------------------------------------------------------
// The comparison itself must be able to see a difference.

Deno.test("the differential comparison notices differing values and errors", () => {
  const num = (t: string) => new JsonNumber(t);
  const map = (...e: [string, JsonValue][]) => new Map(e);
  assert.equal(difference(map(["a", 1 as unknown as JsonValue]), map()), '$: keys ["a"] vs []');
  assert.ok(difference(map(["a", null], ["b", null]), map(["b", null], ["a", null])));
  assert.ok(difference(num("1.0"), num("1")));
  assert.ok(difference(num("1"), "1"));
  assert.ok(difference([null], [null, null]));
  assert.ok(difference(map(["x", [num("2")]]), map(["x", [num("2.0")]])));
  assert.ok(difference("\ud800", "\ufffd"));
  assert.ok(difference(map(), []));
  assert.equal(
    difference(map(["a", [num("1"), "s", true]]), map(["a", [num("1"), "s", true]])),
    undefined,
  );
  // Errors are compared by code and full message.
  assert.equal(disagreement("[1,", "x.json"), undefined);
  assert.equal(outcome(() => parseJson("[1,", "x.json")).ok, false);
  assert.notEqual(
    outcome(() => parseJson("[1,", "a.json")),
    outcome(() => parseJson("[1,", "b.json")),
  );
  assert.equal(REFERENCE_MAX_JSON_DEPTH, MAX_JSON_DEPTH);
});

// ---------------------------------------------------------------------------
// Real states.

Deno.test("parseJson() matches the reference on every Pantavisor fixture", () => {
  const names = [...Deno.readDirSync(PANTAVISOR_FIXTURES)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
  assert.ok(names.length > 0, "no fixture found");
  for (const name of names) {
    const bytes = Deno.readFileSync(PANTAVISOR_FIXTURES + name);
    const d = disagreement(bytes, name);
    if (d !== undefined) assert.fail(`${name}: ${d}`);
    assertSame(new TextDecoder().decode(bytes), name);
    // Pretty-printed, as the inline JSON files of a working tree are.
    assertSame(JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 4), name);
  }
});

Deno.test({
  name: "parseJson() matches the reference on the benchmark workload's state",
  ignore: (() => {
    try {
      return !Deno.statSync(W1_STATE).isFile;
    } catch {
      return true;
    }
  })(),
  fn() {
    const bytes = Deno.readFileSync(W1_STATE);
    const d = disagreement(bytes, ".pvr/json");
    if (d !== undefined) assert.fail(d);
  },
});

// ---------------------------------------------------------------------------
// The inputs of json_parse.test.ts.

const UNIT_TEST_INPUTS: readonly string[] = [
  "null",
  "true",
  "false",
  '"x"',
  "42",
  "0",
  "-0",
  "1.50",
  "-1.5e-10",
  "1E+2",
  "12345678901234567891",
  "0.1000000000000000000001",
  "1e999999999",
  " 1.0 \n",
  '{"b": 1, "a": [true, null, "s"], "c": {}}',
  '{"a": 1, "b": 2, "a": {"x": 3}}',
  '{"__proto__": {"polluted": true}, "constructor": 1}',
  ' \t\r\n{ "a" : [ ] , "b" : { } , "c" : [ 1 , 2 ] }\n',
  String.raw`"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC"`,
  String.raw`"\ud83d\ude00"`,
  String.raw`"\uD83D\uDE00"`,
  String.raw`["\ud800", "\udc00x", "a\ud83d"]`,
  '{"é😀": "ｚ\u2028"}',
  "\ufeff1",
  ...["1 2", "{} x", "[]]", '"a""b"', "nullx", "true false", "{}\n,"],
  ...["-", "01", "-01", "1.", ".5", "1e", "1e+", "1E-", "+1", "0x10", "1.e5", "-.5"],
  ...["Infinity", "NaN", "1_000", "[01]"],
  ...["", "   ", "[1,]", "[,1]", '{"a":1,}', '{"a" 1}', '{"a":}', "{a:1}", "{'a':1}"],
  ...["[1 2]", '{"a":1 "b":2}', "[", "{", '{"a":', "tru", "nul", "True", "undefined"],
  ...['"abc', '"\\x41"', '"\\u12"', '"\\u12G4"', '"\\', '"a\nb"', '"a\tb"', '"\u0000"'],
  '"\u001f"',
  '"\u007f\u0080\u2028"',
  '{\n  "a": 1,\n  "b": x\n}',
  "[1,",
  '["😀", x]',
  "[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH),
  '{"a":'.repeat(MAX_JSON_DEPTH) + "1" + "}".repeat(MAX_JSON_DEPTH),
  "[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1),
  "[".repeat(1_000_000),
  '{"a":'.repeat(100_000),
  `"${"x".repeat(100_000)}"`,
  `"${"x".repeat(100_000)}\\n${"x".repeat(100_000)}"`,
];

Deno.test("parseJson() matches the reference on the unit tests' inputs", () => {
  for (const t of UNIT_TEST_INPUTS) assertSame(t, "dir/c.json");
  // Bytes that are not UTF-8, and a BOM as bytes.
  for (
    const b of [[0x22, 0xff, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0xef, 0xbb, 0xbf, 0x31]]
  ) {
    const d = disagreement(new Uint8Array(b), "x.json");
    if (d !== undefined) assert.fail(`on bytes ${b}: ${d}`);
  }
});

// ---------------------------------------------------------------------------
// Edge cases chosen by hand.

Deno.test("parseJson() matches the reference on hand-picked edge cases", () => {
  const cases = [
    '{"b":1,"2":2,"a":3,"1":4}',
    '{"__proto__":1,"__proto__":{"x":2.50}}',
    '{"a":1,"b":2.0,"a":3.00}',
    '{"a":"x","b":2,"a":3}',
    '{"a":[1],"b":2,"a":[3]}',
    '{"":0,"":""}',
    '{"4294967295":1,"4294967294":2,"01":3,"0":4}',
    '"\\u0000\\u001F\\uFFFF\\uD800\\uDBFF\\uDC00\\uDFFF"',
    '"a\\"b\\\\c\\/d"',
    '"\\u00"',
    '"\\u00e"',
    '"\\uD800\\u"',
    '"\\ud800\\udc00\\udc00"',
    '"\ud800"',
    '["\udc00\ud800"]',
    "[-0,-0.0,0e0,0E+0,0e-0,1e+999999999999,-1.0e-999999999999]",
    "[0.1e1, 10E-1, 123456789012345678901234567890]",
    "[1,\n2,\r\n3,\t4 ,5]",
    " \n\r\t[\n\r\t]\n\r\t ",
    "{\n}",
    "[[[[[]]]],[[{}]],{}]",
    '{"a" :1, "b" : 2 ,"c":3}',
    '{"a":"\\n"  ,  "b":"\\t"}',
    "[true,false,null,tru]",
    "[t]",
    "[fals]",
    "[nulL]",
    "[1.5e]",
    "[1.5e+]",
    "[-]",
    "[-a]",
    "[00]",
    "[0.]",
    "[1.2.3]",
    "[1e5e5]",
    "[1,2,]",
    "{,}",
    '{"a":1,,"b":2}',
    '{"a"}',
    '{"a":1}}',
    "[1]]",
    '["a"\u0000]',
    "\u00a0[]",
    "\u2028[]",
    "[\ufeff]",
    '{"a":1}\u0000',
    '"\u001f',
    '"\\',
    '"\\u',
    '{"a":"b',
    '{"a',
    '{"',
    "[",
    "",
  ];
  for (const t of cases) assertSame(t, "edge.json");
});

// ---------------------------------------------------------------------------
// Generated documents.

Deno.test("parseJson() matches the reference on 3,000 generated documents", () => {
  const g = new Generator(0x5eed_0001);
  const texts: string[] = [];
  for (let i = 0; i < 3000; i++) texts.push(g.document());
  for (const t of texts) assertSame(t, "gen.json");
  const { valid, invalid } = tally(texts);
  // The generator writes valid JSON only.
  assert.equal(invalid, 0);
  assert.equal(valid, texts.length);
});

Deno.test("parseJson() matches the reference on deep and wide generated documents", () => {
  const g = new Generator(0x5eed_0002);
  for (const depth of [1, 2, 50, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 5000]) {
    for (let k = 0; k < 4; k++) {
      let open = "";
      let close = "";
      for (let i = 0; i < depth; i++) {
        if (g.chance(0.5)) {
          open += "[" + g.space() + (g.chance(0.3) ? g.value(5) + "," : "");
          close = g.space() + "]" + close;
        } else {
          open += "{" + g.space() + g.key() + ":" + g.space();
          close = g.space() + (g.chance(0.3) ? "," + g.key() + ":" + g.number() : "") + "}" +
            close;
        }
      }
      assertSame(open + g.value(5) + close, "deep.json");
    }
  }
  // Wide: one object with many members, as a state is.
  const members: string[] = [];
  for (let i = 0; i < 5000; i++) members.push(`${g.key()}:${g.value(3)}`);
  assertSame("{" + members.join(",") + "}", "wide.json");
});

Deno.test("parseJson() matches the reference on 4,000 corrupted documents", () => {
  const g = new Generator(0x5eed_0003);
  const texts: string[] = [];
  for (let i = 0; i < 4000; i++) {
    let t = g.document();
    const n = 1 + (g.chance(0.2) ? g.int(3) : 0);
    for (let k = 0; k < n; k++) t = g.corrupt(t);
    texts.push(t);
  }
  for (const t of texts) assertSame(t, "bad.json");
  const { valid, invalid } = tally(texts);
  // Most corruptions break the document; some (a deleted space …) do not.
  assert.ok(invalid > texts.length / 2, `only ${invalid} invalid of ${texts.length}`);
  assert.ok(valid > 0);
});

Deno.test("parseJson() matches the reference on corrupted UTF-8 bytes", () => {
  const g = new Generator(0x5eed_0004);
  for (let i = 0; i < 500; i++) {
    const bytes = encoder.encode(g.document());
    const at = g.int(bytes.length + 1);
    const junk = g.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf], [0xe2, 0x82]]);
    const corrupted = new Uint8Array([...bytes.subarray(0, at), ...junk, ...bytes.subarray(at)]);
    const d = disagreement(corrupted, "bytes.json");
    if (d !== undefined) assert.fail(`on bytes ${[...corrupted]}: ${d}`);
  }
});
