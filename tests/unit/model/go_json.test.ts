import assert from "node:assert/strict";
import {
  goIndent,
  goMarshal,
  goMarshalIndent,
  goNumberText,
  goString,
} from "../../../core/model/go_json.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { createMergePatch } from "../../../core/model/merge_patch.ts";
import { JsonNumber, type JsonObject, jsonObject } from "../../../core/model/json_value.ts";

const FLOAT = { numbers: "float" } as const;
const TEXT = { numbers: "text" } as const;

function n(text: string): string {
  return goNumberText(new JsonNumber(text));
}

Deno.test("goString() escapes quote, backslash and \\n \\r \\t with short forms", () => {
  assert.equal(goString('a"b\\c\nd\re\tf'), '"a\\"b\\\\c\\nd\\re\\tf"');
});

Deno.test("goString() writes other control characters as lower case \\u00xx", () => {
  assert.equal(goString("\b\f\u0000\u001f\u000b"), '"\\u0008\\u000c\\u0000\\u001f\\u000b"');
});

Deno.test("goString() HTML-escapes <, > and &", () => {
  assert.equal(goString("<a>&</a>"), '"\\u003ca\\u003e\\u0026\\u003c/a\\u003e"');
});

Deno.test("goString() escapes U+2028 and U+2029", () => {
  assert.equal(goString("a\u2028b\u2029c"), '"a\\u2028b\\u2029c"');
});

Deno.test("goString() writes lone surrogates as a raw U+FFFD", () => {
  assert.equal(goString("a\ud800b\udfff"), '"a\ufffdb\ufffd"');
  assert.equal(goString("\ud83d\ude00\ud83d"), '"😀\ufffd"');
});

Deno.test("goString() writes non-ASCII, /, ' and DEL raw", () => {
  assert.equal(goString("é中😀/'\u007f\u0080"), '"é中😀/\'\u007f\u0080"');
});

Deno.test("goNumberText() formats as Go formats a float64", () => {
  const cases: [string, string][] = [
    ["0", "0"],
    ["2", "2"],
    ["1.50", "1.5"],
    ["1.5E0", "1.5"],
    ["0.5", "0.5"],
    ["5.0E-1", "0.5"],
    ["100.0e-2", "1"],
    ["1E+2", "100"],
    ["1e20", "100000000000000000000"],
    ["1e21", "1e+21"],
    ["1.5e300", "1.5e+300"],
    ["0.000001", "0.000001"],
    ["0.0000001", "1e-7"],
    ["1.5e-7", "1.5e-7"],
    ["-2.5e-10", "-2.5e-10"],
    ["1e-100", "1e-100"],
    ["123.456", "123.456"],
    ["9007199254740992", "9007199254740992"],
    ["12345678901234567000", "12345678901234567000"],
  ];
  for (const [input, want] of cases) assert.equal(n(input), want, input);
});

Deno.test("goNumberText() writes negative zero as -0, as Go does", () => {
  assert.equal(n("-0"), "-0");
  assert.equal(n("-0.0"), "-0");
});

Deno.test("goNumberText() writes the exact text when float64 would lose precision (deliberate fix)", () => {
  assert.equal(n("12345678901234567891"), "12345678901234567891");
  assert.equal(n("9007199254740993"), "9007199254740993");
  assert.equal(n("0.1000000000000000000001"), "1.000000000000000000001E-1");
  assert.equal(n("1e400"), "1" + "0".repeat(400));
  assert.equal(n("1e-400"), "1.0E-400");
});

Deno.test("goMarshal() sorts keys by code point and writes compact JSON", () => {
  const v = parseJson(
    '{"b": [1, "x", null, true, false, {}, []], "😀": 1, "ｚ": 2, "A": {"d": 1, "c": 2}}',
  );
  assert.equal(
    goMarshal(v, FLOAT),
    '{"A":{"c":2,"d":1},"b":[1,"x",null,true,false,{},[]],"ｚ":2,"😀":1}',
  );
});

Deno.test("goMarshal() escapes keys like strings", () => {
  assert.equal(goMarshal(jsonObject({ "<k>": "&" }), FLOAT), '{"\\u003ck\\u003e":"\\u0026"}');
});

Deno.test("goMarshal() writes numbers as float64 or as canonical text", () => {
  const v = parseJson("[1.50, 1e21, 0.5, 12345678901234567891]");
  assert.equal(goMarshal(v, FLOAT), "[1.5,1e+21,0.5,12345678901234567891]");
  assert.equal(goMarshal(v, TEXT), "[1.5E0,1000000000000000000000,5.0E-1,12345678901234567891]");
});

Deno.test("goIndent() indents like Go json.Indent", () => {
  assert.equal(
    goIndent('{"a":[1,2,{"b":null}],"c":{},"d":[]}', "", "\t"),
    '{\n\t"a": [\n\t\t1,\n\t\t2,\n\t\t{\n\t\t\t"b": null\n\t\t}\n\t],\n\t"c": {},\n\t"d": []\n}',
  );
});

Deno.test("goIndent() writes the prefix after each newline, not on the first line", () => {
  assert.equal(goIndent('{"a":1}', ">", "  "), '{\n>  "a": 1\n>}');
});

Deno.test("goIndent() drops whitespace between tokens but keeps it inside strings", () => {
  assert.equal(
    goIndent('  { "a b" : [ ] , "c" :\n{ } , "d, {e}: [f]" : "x\\" , y" }', "", " "),
    '{\n "a b": [],\n "c": {},\n "d, {e}: [f]": "x\\" , y"\n}',
  );
});

Deno.test("goIndent() keeps trailing whitespace after the top-level value, as Go does", () => {
  assert.equal(goIndent('{"a":1} \n', "", "\t"), '{\n\t"a": 1\n} \n');
  assert.equal(goIndent("1\n", "", "\t"), "1\n");
});

Deno.test("goIndent() leaves scalars as they are", () => {
  assert.equal(goIndent("1.5E0", "", "\t"), "1.5E0");
  assert.equal(goIndent('"x"', "", "\t"), '"x"');
  assert.equal(goIndent("null", "", "\t"), "null");
  assert.equal(goIndent("{}", "", "\t"), "{}");
});

Deno.test("goIndent() of canonical JSON keeps canonical numbers and raw UTF-8", () => {
  const c = canonicalJson(parseJson('{"b":1.50,"a":"<é>\\u2028"}'));
  assert.equal(goIndent(c, "", "\t"), '{\n\t"a": "<é>\u2028",\n\t"b": 1.5E0\n}');
});

Deno.test("goMarshalIndent() equals goIndent of goMarshal", () => {
  const v = parseJson('{"x":[{"y":"<"}],"n":1.0}');
  assert.equal(goMarshalIndent(v, "", "    ", TEXT), goIndent(goMarshal(v, TEXT), "", "    "));
  assert.equal(
    goMarshalIndent(v, "", "    ", TEXT),
    '{\n    "n": 1,\n    "x": [\n        {\n            "y": "\\u003c"\n        }\n    ]\n}',
  );
});

// Appendix B of the spec: `pvr json`, `pvr diff` and checkout of c.json.
const A_TXT = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

function appendixBWorking(): JsonObject {
  return jsonObject([
    ["#spec", "pantavisor-service-system@1"],
    ["a.txt", A_TXT],
    ["c.json", parseJson('{"b": 1.50, "a": "<x>"}\n', "c.json")],
  ]);
}

Deno.test("Appendix B: pvr json prints the tab-indented canonical working state", () => {
  assert.equal(
    goIndent(canonicalJson(appendixBWorking()), "", "\t") + "\n",
    `{
	"#spec": "pantavisor-service-system@1",
	"a.txt": "${A_TXT}",
	"c.json": {
		"a": "<x>",
		"b": 1.5E0
	}
}
`,
  );
});

Deno.test("Appendix B: pvr diff prints the Go-marshalled merge patch", () => {
  const pristine = jsonObject({ "#spec": "pantavisor-service-system@1" });
  const patch = createMergePatch(pristine, appendixBWorking());
  assert.equal(
    goIndent(goMarshal(patch, FLOAT), "", "\t") + "\n",
    `{
	"a.txt": "${A_TXT}",
	"c.json": {
		"a": "\\u003cx\\u003e",
		"b": 1.5
	}
}
`,
  );
});

Deno.test("Appendix B: commit writes canonical .pvr/json", () => {
  assert.equal(
    canonicalJson(appendixBWorking()),
    `{"#spec":"pantavisor-service-system@1","a.txt":"${A_TXT}","c.json":{"a":"<x>","b":1.5E0}}`,
  );
});

Deno.test("Appendix B: checkout writes c.json with 4 spaces, HTML escaping and stored numbers", () => {
  const stored = parseJson(canonicalJson(appendixBWorking())) as JsonObject;
  const cJson = stored.get("c.json");
  assert.ok(cJson !== undefined);
  assert.equal(
    goMarshalIndent(cJson, "", "    ", TEXT),
    '{\n    "a": "\\u003cx\\u003e",\n    "b": 1.5E0\n}',
  );
});

Deno.test("Appendix B: diff of an unchanged tree is {}", () => {
  const w = appendixBWorking();
  assert.equal(goIndent(goMarshal(createMergePatch(w, w), FLOAT), "", "\t") + "\n", "{}\n");
});
