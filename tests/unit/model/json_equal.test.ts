import assert from "node:assert/strict";
import { jsonEquals, numbersEqual } from "../../../core/model/json_equal.ts";
import { parseJson } from "../../../core/model/json_parse.ts";

function eq(a: string, b: string): boolean {
  return jsonEquals(parseJson(a), parseJson(b));
}

Deno.test("jsonEquals() compares numbers by exact decimal value", () => {
  assert.ok(eq("1.50", "1.5E0"));
  assert.ok(eq("15e-1", "1.5"));
  assert.ok(eq("100", "1e2"));
  assert.ok(eq("-0", "0"));
  assert.ok(eq("0.0e10", "0"));
  assert.ok(!eq("1", "-1"));
  assert.ok(!eq("0.1", "0.10000000000000001"));
});

Deno.test("jsonEquals() tells apart integers that float64 cannot", () => {
  assert.ok(!eq("12345678901234567891", "12345678901234567890"));
  assert.ok(!eq("9007199254740993", "9007199254740992"));
});

Deno.test("jsonEquals() compares huge exponents without expanding them", () => {
  assert.ok(eq("1e999999999", "10e999999998"));
  assert.ok(!eq("1e999999999", "1e999999998"));
});

Deno.test("jsonEquals() ignores object key order", () => {
  assert.ok(eq('{"a": 1, "b": {"c": [1, 2]}}', '{"b": {"c": [1, 2.0]}, "a": 1}'));
});

Deno.test("jsonEquals() compares key sets and values of objects", () => {
  assert.ok(!eq('{"a": 1}', '{"a": 1, "b": 2}'));
  assert.ok(!eq('{"a": 1, "b": 2}', '{"a": 1}'));
  assert.ok(!eq('{"a": 1}', '{"b": 1}'));
  assert.ok(!eq('{"a": null}', '{"b": null}'));
  assert.ok(!eq('{"a": null}', "{}"));
  assert.ok(eq('{"a": null}', '{"a": null}'));
});

Deno.test("jsonEquals() compares arrays element by element, in order", () => {
  assert.ok(eq("[1, [2, {}]]", "[1.0, [2, {}]]"));
  assert.ok(!eq("[1, 2]", "[2, 1]"));
  assert.ok(!eq("[1]", "[1, 1]"));
  assert.ok(!eq("[null]", "[]"));
});

Deno.test("jsonEquals() never equates values of different types", () => {
  const values = ["null", "true", "false", "0", '"0"', '""', "[]", "{}", '["a"]', '{"0": 0}'];
  for (const a of values) {
    for (const b of values) assert.equal(eq(a, b), a === b, `${a} vs ${b}`);
  }
});

Deno.test("jsonEquals() compares strings by code units", () => {
  assert.ok(eq('"é"', '"\\u00e9"'));
  assert.ok(!eq('"é"', '"e\\u0301"'));
});

Deno.test("numbersEqual() compares number texts exactly", () => {
  assert.ok(numbersEqual("1.0", "1"));
  assert.ok(!numbersEqual("1.0000000000000000000001", "1"));
});
