import assert from "node:assert/strict";
import { MAX_JSON_DEPTH, parseJson } from "../../../core/model/json_parse.ts";
import { JsonNumber, type JsonValue, toPlain } from "../../../core/model/json_value.ts";

/** The value as ordinary JS data (plain prototypes), for deepEqual. */
function plain(v: JsonValue): unknown {
  return JSON.parse(JSON.stringify(toPlain(v)));
}

const BAD_JSON = { name: "PvrError", code: "BAD_JSON" };

function num(v: JsonValue): string {
  assert.ok(v instanceof JsonNumber);
  return v.text;
}

Deno.test("parseJson() reads every scalar type", () => {
  assert.equal(parseJson("null"), null);
  assert.equal(parseJson("true"), true);
  assert.equal(parseJson("false"), false);
  assert.equal(parseJson('"x"'), "x");
  assert.equal(num(parseJson("42")), "42");
});

Deno.test("parseJson() keeps the exact text of numbers", () => {
  for (
    const t of [
      "0",
      "-0",
      "1.50",
      "-1.5e-10",
      "1E+2",
      "12345678901234567891",
      "0.1000000000000000000001",
      "1e999999999",
    ]
  ) {
    assert.equal(num(parseJson(t)), t);
  }
  assert.equal(num(parseJson(" 1.0 \n")), "1.0");
});

Deno.test("parseJson() makes objects Maps in source order", () => {
  const v = parseJson('{"b": 1, "a": [true, null, "s"], "c": {}}');
  assert.ok(v instanceof Map);
  assert.deepEqual([...v.keys()], ["b", "a", "c"]);
  assert.deepEqual(plain(v), { b: 1, a: [true, null, "s"], c: {} });
});

Deno.test("parseJson() keeps the last value of a duplicate key, like Go", () => {
  const v = parseJson('{"a": 1, "b": 2, "a": {"x": 3}}') as Map<string, JsonValue>;
  assert.equal(v.size, 2);
  assert.deepEqual(plain(v.get("a") as JsonValue), { x: 3 });
});

Deno.test("parseJson() treats __proto__ and constructor as plain keys", () => {
  const v = parseJson('{"__proto__": {"polluted": true}, "constructor": 1}') as Map<
    string,
    JsonValue
  >;
  assert.deepEqual([...v.keys()], ["__proto__", "constructor"]);
  assert.ok(v.get("__proto__") instanceof Map);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseJson() reads empty containers and whitespace around tokens", () => {
  const v = parseJson(' \t\r\n{ "a" : [ ] , "b" : { } , "c" : [ 1 , 2 ] }\n');
  assert.deepEqual(plain(v), { a: [], b: {}, c: [1, 2] });
});

Deno.test("parseJson() decodes all string escapes", () => {
  assert.equal(
    parseJson(String.raw`"\" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u20AC"`),
    '" \\ / \b \f \n \r \t A é €',
  );
});

Deno.test("parseJson() joins surrogate pair escapes into one astral character", () => {
  assert.equal(parseJson(String.raw`"\ud83d\ude00"`), "😀");
  assert.equal(parseJson(String.raw`"\uD83D\uDE00"`), "\u{1F600}");
});

Deno.test("parseJson() keeps lone surrogate escapes as lone code units", () => {
  const v = parseJson(String.raw`["\ud800", "\udc00x", "a\ud83d"]`) as string[];
  assert.deepEqual(v.map((s) => s.length), [1, 2, 2]);
  assert.equal(v[0].charCodeAt(0), 0xd800);
  assert.equal(v[1].charCodeAt(0), 0xdc00);
  assert.equal(v[2].charCodeAt(1), 0xd83d);
});

Deno.test("parseJson() reads raw UTF-8 bytes, astral characters included", () => {
  const bytes = new TextEncoder().encode('{"é😀": "ｚ\u2028"}');
  const v = parseJson(bytes) as Map<string, JsonValue>;
  assert.equal(v.get("é😀"), "ｚ\u2028");
});

Deno.test("parseJson() rejects invalid UTF-8 bytes", () => {
  assert.throws(() => parseJson(new Uint8Array([0x22, 0xff, 0x22]), "x.json"), {
    ...BAD_JSON,
    message: "x.json: invalid UTF-8",
  });
  // An encoded surrogate (WTF-8) is not UTF-8 either.
  assert.throws(() => parseJson(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), BAD_JSON);
});

Deno.test("parseJson() rejects a byte order mark, as Go does", () => {
  assert.throws(() => parseJson(new Uint8Array([0xef, 0xbb, 0xbf, 0x31])), BAD_JSON);
  assert.throws(() => parseJson("\ufeff1"), BAD_JSON);
});

Deno.test("parseJson() rejects trailing garbage after the value", () => {
  for (const t of ["1 2", "{} x", "[]]", '"a""b"', "nullx", "true false", "{}\n,"]) {
    assert.throws(() => parseJson(t), BAD_JSON, t);
  }
});

Deno.test("parseJson() rejects malformed numbers", () => {
  for (
    const t of [
      "-",
      "01",
      "-01",
      "1.",
      ".5",
      "1e",
      "1e+",
      "1E-",
      "+1",
      "0x10",
      "1.e5",
      "-.5",
      "Infinity",
      "NaN",
      "1_000",
      "[01]",
    ]
  ) {
    assert.throws(() => parseJson(t), BAD_JSON, t);
  }
});

Deno.test("parseJson() rejects malformed structure", () => {
  for (
    const t of [
      "",
      "   ",
      "[1,]",
      "[,1]",
      '{"a":1,}',
      '{"a" 1}',
      '{"a":}',
      "{a:1}",
      "{'a':1}",
      "[1 2]",
      '{"a":1 "b":2}',
      "[",
      "{",
      '{"a":',
      "tru",
      "nul",
      "True",
      "undefined",
    ]
  ) {
    assert.throws(() => parseJson(t), BAD_JSON, JSON.stringify(t));
  }
});

Deno.test("parseJson() rejects malformed strings", () => {
  for (
    const t of [
      '"abc',
      '"\\x41"',
      '"\\u12"',
      '"\\u12G4"',
      '"\\',
      '"a\nb"',
      '"a\tb"',
      '"\u0000"',
      '"\u001f"',
    ]
  ) {
    assert.throws(() => parseJson(t), BAD_JSON, JSON.stringify(t));
  }
});

Deno.test("parseJson() accepts DEL and non-ASCII raw in strings", () => {
  assert.equal(parseJson('"\u007f\u0080\u2028"'), "\u007f\u0080\u2028");
});

Deno.test("parseJson() reports source, line and column on one line", () => {
  assert.throws(() => parseJson('{\n  "a": 1,\n  "b": x\n}', "dir/c.json"), {
    ...BAD_JSON,
    message: "dir/c.json: unexpected character 'x' where a value was expected at line 3 column 8",
  });
  assert.throws(() => parseJson("[1,"), {
    ...BAD_JSON,
    message: "JSON: unexpected end of input at line 1 column 4",
  });
});

Deno.test("parseJson() counts columns in code points", () => {
  assert.throws(() => parseJson('["😀", x]'), { ...BAD_JSON, message: /line 1 column 7$/ });
});

Deno.test("parseJson() accepts nesting up to the depth limit", () => {
  const n = MAX_JSON_DEPTH;
  let v = parseJson("[".repeat(n) + "]".repeat(n));
  for (let i = 1; i < n; i++) v = (v as JsonValue[])[0];
  assert.deepEqual(v, []);
  const o = parseJson('{"a":'.repeat(n) + "1" + "}".repeat(n));
  assert.ok(o instanceof Map);
});

Deno.test("parseJson() refuses nesting deeper than the limit with a clear error", () => {
  const n = MAX_JSON_DEPTH + 1;
  assert.throws(() => parseJson("[".repeat(n) + "]".repeat(n)), {
    ...BAD_JSON,
    message: new RegExp(`nesting deeper than ${MAX_JSON_DEPTH} levels`),
  });
  // Far deeper input fails the same way, not with a stack overflow.
  assert.throws(() => parseJson("[".repeat(1_000_000)), BAD_JSON);
  assert.throws(() => parseJson('{"a":'.repeat(100_000)), BAD_JSON);
});

Deno.test("parseJson() reads long strings with and without escapes", () => {
  const long = "x".repeat(100_000);
  assert.equal(parseJson(`"${long}"`), long);
  assert.equal(parseJson(`"${long}\\n${long}"`), `${long}\n${long}`);
});
