import assert from "node:assert/strict";
import {
  canonicalJson,
  canonicalNumber,
  canonicalString,
  compareCodePoints,
  decimalParts,
  MAX_INTEGER_DIGITS,
  sortedKeys,
} from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { fromPlain, JsonNumber, jsonObject } from "../../../core/model/json_value.ts";

const BAD_JSON = { name: "PvrError", code: "BAD_JSON" };

// Every row of the number table of spec §3.2, plus the examples of the brief.
const NUMBER_TABLE: [string, string][] = [
  ["0", "0"],
  ["-0", "0"],
  ["1.0", "1"],
  ["100.0e-2", "1"],
  ["1e2", "100"],
  ["1E+2", "100"],
  ["1e21", "1000000000000000000000"],
  ["12345678901234567890123", "12345678901234567890123"],
  ["0.5", "5.0E-1"],
  ["0.1", "1.0E-1"],
  ["123.456", "1.23456E2"],
  ["-1.5e-10", "-1.5E-10"],
  ["0.000001", "1.0E-6"],
  ["1.5", "1.5E0"],
];

for (const [input, want] of NUMBER_TABLE) {
  Deno.test(`canonicalNumber() writes ${input} as ${want}`, () => {
    assert.equal(canonicalNumber(input), want);
  });
}

Deno.test("canonicalNumber() keeps integers, negative and huge ones, unchanged", () => {
  for (const t of ["1", "-1", "42", "-9007199254740993", "123456789012345678901234567890"]) {
    assert.equal(canonicalNumber(t), t);
  }
});

Deno.test("canonicalNumber() normalises zeros of every spelling to 0", () => {
  for (const t of ["0.0", "-0.0", "0e5", "0E-5", "-0.000e+10", "0e99999999999999999999"]) {
    assert.equal(canonicalNumber(t), "0");
  }
});

Deno.test("canonicalNumber() writes integer values without exponent", () => {
  assert.equal(canonicalNumber("1.5e1"), "15");
  assert.equal(canonicalNumber("-2.50e2"), "-250");
  assert.equal(canonicalNumber("1000e-3"), "1");
  assert.equal(canonicalNumber("0.0012e4"), "12");
  assert.equal(canonicalNumber("1e0"), "1");
  assert.equal(canonicalNumber("1e-0"), "1");
  assert.equal(canonicalNumber("7E007"), "70000000");
});

Deno.test("canonicalNumber() writes fractions with one leading digit and trimmed zeros", () => {
  assert.equal(canonicalNumber("1.50"), "1.5E0");
  assert.equal(canonicalNumber("1.2300e1"), "1.23E1");
  assert.equal(canonicalNumber("-0.00100"), "-1.0E-3");
  assert.equal(canonicalNumber("15e-1"), "1.5E0");
  assert.equal(canonicalNumber("0.1000000000000000000001"), "1.000000000000000000001E-1");
  assert.equal(canonicalNumber("123456789.5"), "1.234567895E8");
  assert.equal(canonicalNumber("1e-400"), "1.0E-400");
});

Deno.test("canonicalNumber() is a fixed point on its own output", () => {
  for (const [input] of NUMBER_TABLE) {
    const once = canonicalNumber(input);
    assert.equal(canonicalNumber(once), once);
  }
});

Deno.test("canonicalNumber() refuses integers too long to write out", () => {
  assert.throws(() => canonicalNumber("1e999999999"), { ...BAD_JSON, message: /out of range/ });
  assert.throws(() => canonicalNumber(`1e${MAX_INTEGER_DIGITS}`), BAD_JSON);
  assert.equal(canonicalNumber(`1e${MAX_INTEGER_DIGITS - 1}`).length, MAX_INTEGER_DIGITS);
  assert.throws(() => canonicalNumber("1e12345678901234567890"), BAD_JSON);
});

Deno.test("canonicalNumber() rejects text that is not a JSON number", () => {
  for (const t of ["", "-", "01", "1.", ".5", "1e", "+1", "NaN", "Infinity", " 1"]) {
    assert.throws(() => canonicalNumber(t), BAD_JSON, t);
  }
});

Deno.test("decimalParts() gives equal parts for equal values", () => {
  assert.deepEqual(decimalParts("1.50"), decimalParts("15e-1"));
  assert.deepEqual(decimalParts("-0"), { negative: false, digits: "0", exponent: 0 });
  assert.deepEqual(decimalParts("-120.5e3"), { negative: true, digits: "1205", exponent: 2 });
});

Deno.test("canonicalString() escapes only quote, backslash and control characters", () => {
  assert.equal(canonicalString('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(canonicalString("\b\t\n\f\r"), '"\\b\\t\\n\\f\\r"');
  assert.equal(canonicalString("\u0000\u0001\u000b\u001f"), '"\\u0000\\u0001\\u000B\\u001F"');
  assert.equal(canonicalString("\u001a"), '"\\u001A"');
});

Deno.test("canonicalString() writes <>&, /, DEL, U+2028/9 and non-ASCII raw", () => {
  const s = "<a href='x'>&amp;</a>/\u007f\u2028\u2029é中😀";
  assert.equal(canonicalString(s), `"${s}"`);
});

Deno.test("canonicalString() escapes lone surrogates as upper case \\uDXXX", () => {
  assert.equal(canonicalString("\ud800"), '"\\uD800"');
  assert.equal(canonicalString("a\udfffb"), '"a\\uDFFFb"');
  assert.equal(canonicalString("\ude00\ud83d"), '"\\uDE00\\uD83D"'); // reversed pair
  assert.equal(canonicalString("\ud83d\ude00\ud83d"), '"😀\\uD83D"');
});

Deno.test("canonicalJson() writes parsed lone surrogate escapes back as escapes", () => {
  assert.equal(canonicalJson(parseJson('"\\ud800x\\udc00"')), '"\\uD800x\\uDC00"');
});

Deno.test("canonicalJson() writes compact JSON with sorted keys and canonical numbers", () => {
  const v = parseJson(
    '{ "b": [1.50, true, null, {}], "a": "<x>", "#spec": "s@1", "c": {"z": 0, "y": -0} }',
  );
  assert.equal(
    canonicalJson(v),
    '{"#spec":"s@1","a":"<x>","b":[1.5E0,true,null,{}],"c":{"y":0,"z":0}}',
  );
});

Deno.test("canonicalJson() writes scalars at top level", () => {
  assert.equal(canonicalJson(null), "null");
  assert.equal(canonicalJson(true), "true");
  assert.equal(canonicalJson(false), "false");
  assert.equal(canonicalJson("x"), '"x"');
  assert.equal(canonicalJson(new JsonNumber("1E+2")), "100");
  assert.equal(canonicalJson([]), "[]");
  assert.equal(canonicalJson(new Map()), "{}");
});

Deno.test("canonicalJson() sorts keys in the spec's example order", () => {
  const keys = ["ｚ", "é.json", "b.json", "a.txt", "Z", "#spec"];
  const v = jsonObject(keys.map((k) => [k, null] as const));
  assert.equal(
    canonicalJson(v),
    '{"#spec":null,"Z":null,"a.txt":null,"b.json":null,"é.json":null,"ｚ":null}',
  );
});

Deno.test("canonicalJson() sorts astral keys after U+E000–U+FFFF keys (code point order)", () => {
  const v = jsonObject([["😀", 1], ["\uffff", 2], ["ｚ", 3], ["\ue000", 4], ["\ud7ff", 5]].map((
    [k, n],
  ) => [k as string, new JsonNumber(String(n))] as const));
  assert.equal(canonicalJson(v), '{"\ud7ff":5,"\ue000":4,"ｚ":3,"\uffff":2,"😀":1}');
});

Deno.test("canonicalJson() handles __proto__ keys as data", () => {
  const v = parseJson('{"__proto__": {"a": 1}, "constructor": "x"}');
  assert.equal(canonicalJson(v), '{"__proto__":{"a":1},"constructor":"x"}');
});

Deno.test("canonicalJson() refuses values nested deeper than the limit", () => {
  let v = fromPlain([]);
  for (let i = 0; i < 5000; i++) v = [v];
  assert.throws(() => canonicalJson(v), BAD_JSON);
});

Deno.test("compareCodePoints() orders U+FF5A before U+1F600, unlike UTF-16 order", () => {
  assert.ok(compareCodePoints("ｚ", "😀") < 0);
  assert.ok(compareCodePoints("😀", "ｚ") > 0);
  assert.ok("ｚ" > "😀"); // what the default sort would do
});

Deno.test("compareCodePoints() orders astral characters after every BMP character", () => {
  for (const bmp of ["\ue000", "\uf8ff", "\ufeff", "\uffff", "\ud7ff", "a", ""]) {
    for (const astral of ["\u{10000}", "😀", "\u{10FFFF}"]) {
      assert.ok(compareCodePoints(bmp, astral) < 0, `${bmp.codePointAt(0)} < ${astral}`);
      assert.ok(compareCodePoints(astral, bmp) > 0);
      assert.ok(compareCodePoints("x" + bmp + "y", "x" + astral) < 0);
    }
  }
});

Deno.test("compareCodePoints() orders astral characters among themselves", () => {
  assert.ok(compareCodePoints("\u{1F600}", "\u{1F601}") < 0);
  assert.ok(compareCodePoints("\u{10FFFF}", "\u{10000}") > 0);
  assert.ok(compareCodePoints("\u{20000}", "\u{1F600}") > 0);
});

Deno.test("compareCodePoints() ranks lone surrogates by their own value, as WTF-8 bytes do", () => {
  assert.ok(compareCodePoints("\ud800", "\ud7ff") > 0);
  assert.ok(compareCodePoints("\ud800", "\ue000") < 0);
  assert.ok(compareCodePoints("\udfff", "\ue000") < 0);
  assert.ok(compareCodePoints("\ud83d", "😀") < 0);
  assert.ok(compareCodePoints("\ud83dx", "😀") < 0);
  assert.ok(compareCodePoints("😀", "\ud83dx") > 0);
  assert.ok(compareCodePoints("\ud83d\ue000", "😀") < 0);
});

Deno.test("compareCodePoints() agrees with UTF-8 byte order on mixed strings", () => {
  const words = [
    "",
    "a",
    "ab",
    "b",
    "é",
    "\u07ff",
    "\u0800",
    "\ue000",
    "ｚ",
    "\uffff",
    "😀",
    "😁",
    "\u{10000}",
    "a😀",
    "aｚ",
    "#spec",
    "Z",
    "\u{10FFFF}",
  ];
  const enc = new TextEncoder();
  const byBytes = (x: string, y: string): number => {
    const a = enc.encode(x);
    const b = enc.encode(y);
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i] - b[i];
    }
    return a.length - b.length;
  };
  assert.deepEqual([...words].sort(compareCodePoints), [...words].sort(byBytes));
  assert.equal(compareCodePoints("same", "same"), 0);
});

Deno.test("sortedKeys() returns the keys in code point order", () => {
  const obj = jsonObject([["😀", null], ["ｚ", null], ["a", null], ["A", null]]);
  assert.deepEqual(sortedKeys(obj), ["A", "a", "ｚ", "😀"]);
});
