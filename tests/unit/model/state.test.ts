import assert from "node:assert/strict";
import {
  DEFAULT_SPEC,
  isInlineJson,
  specOf,
  stateObjects,
  validateState,
} from "../../../core/model/state.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { jsonObject } from "../../../core/model/json_value.ts";

const SHA_A = "a".repeat(64);
const SHA_B = "0123456789abcdef".repeat(4);
const BAD_STATE = { name: "PvrError", code: "BAD_STATE" };
const UNSAFE = { name: "PvrError", code: "UNSAFE_PATH" };

Deno.test("DEFAULT_SPEC is pantavisor-service-system@1", () => {
  assert.equal(DEFAULT_SPEC, "pantavisor-service-system@1");
});

Deno.test("isInlineJson() is true for a .json key whose pristine value is not an object id", () => {
  assert.ok(isInlineJson("c.json", undefined));
  assert.ok(isInlineJson("dir/c.json", parseJson('{"a": 1}')));
  assert.ok(isInlineJson("c.json", "short string"));
  assert.ok(isInlineJson("c.json", null));
  assert.ok(isInlineJson("c.json", parseJson("[1]")));
});

Deno.test("isInlineJson() is false for other extensions, object ids and forced objects", () => {
  assert.ok(!isInlineJson("a.txt", undefined));
  assert.ok(!isInlineJson("c.JSON", undefined));
  assert.ok(!isInlineJson("c.json.bak", undefined));
  assert.ok(!isInlineJson("c.json", SHA_A));
  assert.ok(!isInlineJson("c.json", SHA_A.toUpperCase()));
  assert.ok(!isInlineJson("c.json", undefined, true));
});

Deno.test("validateState() accepts a valid state and returns it", () => {
  const v = parseJson(
    `{"#spec": "s@1", "a.txt": "${SHA_A}", "B.bin": "${SHA_A.toUpperCase()}", "c.json": {"x": null}, "d.json": "${SHA_B}", "e.json": null, "f.json": [1]}`,
  );
  assert.equal(validateState(v, "x"), v);
  assert.doesNotThrow(() => validateState(parseJson("{}"), "x"));
});

Deno.test("validateState() rejects a document that is not an object", () => {
  for (const t of ["[]", "null", '"s"', "1"]) {
    assert.throws(() => validateState(parseJson(t), "remote"), {
      ...BAD_STATE,
      message: /^remote: /,
    });
  }
});

Deno.test("validateState() rejects a #spec that is not a string", () => {
  assert.throws(() => validateState(parseJson('{"#spec": 1}'), "x"), BAD_STATE);
  assert.throws(() => validateState(parseJson('{"#spec": null}'), "x"), BAD_STATE);
});

Deno.test("validateState() rejects a non-.json key whose value is not an object id", () => {
  for (const v of ['"abc"', "{}", "1", "null", `"${SHA_A}0"`, `"${"g".repeat(64)}"`]) {
    assert.throws(() => validateState(parseJson(`{"a.txt": ${v}}`), "x"), {
      ...BAD_STATE,
      path: "a.txt",
    });
  }
});

Deno.test("validateState() rejects unsafe keys with UNSAFE_PATH", () => {
  for (const k of ["../x", "/etc/passwd", "a//b", ".pvr/json", ""]) {
    const st = jsonObject([[k, SHA_A]]);
    assert.throws(() => validateState(st, "remote"), { ...UNSAFE, path: k });
  }
});

Deno.test("stateObjects() maps lower case object ids to their keys", () => {
  const st = parseJson(
    `{"#spec": "${SHA_A}", "b.txt": "${SHA_A}", "a.txt": "${SHA_A.toUpperCase()}", "c.json": "${SHA_B}", "d.json": {"x": "${SHA_A}"}, "e.json": "text"}`,
  );
  assert.ok(st instanceof Map);
  assert.deepEqual(
    stateObjects(st),
    new Map([[SHA_A, ["a.txt", "b.txt"]], [SHA_B, ["c.json"]]]),
  );
});

Deno.test("specOf() gives the state's #spec or the default", () => {
  assert.equal(specOf(jsonObject({ "#spec": "x@1" })), "x@1");
  assert.equal(specOf(jsonObject({})), DEFAULT_SPEC);
  assert.equal(specOf(null), DEFAULT_SPEC);
});
