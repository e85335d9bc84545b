import assert from "node:assert/strict";
import { applyMergePatch, createMergePatch, pruneNulls } from "../../../core/model/merge_patch.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import type { JsonObject, JsonValue } from "../../../core/model/json_value.ts";

function obj(text: string): JsonObject {
  const v = parseJson(text);
  assert.ok(v instanceof Map);
  return v;
}

function create(from: string, to: string): string {
  return canonicalJson(createMergePatch(obj(from), obj(to)));
}

function apply(target: string, patch: string, opts = {}): string {
  return canonicalJson(applyMergePatch(parseJson(target), parseJson(patch), opts));
}

Deno.test("createMergePatch() of equal documents is empty", () => {
  assert.equal(create('{"a": 1, "b": {"c": [1]}}', '{"b": {"c": [1.0]}, "a": 1}'), "{}");
  assert.equal(create("{}", "{}"), "{}");
});

Deno.test("createMergePatch() adds a new key with its whole value", () => {
  assert.equal(create("{}", '{"a": {"b": {"c": 1}}}'), '{"a":{"b":{"c":1}}}');
});

Deno.test("createMergePatch() sets a removed key to null", () => {
  assert.equal(create('{"a": 1, "b": {"x": 1}}', '{"b": {"x": 1}}'), '{"a":null}');
});

Deno.test("createMergePatch() replaces a value of another type whole", () => {
  assert.equal(create('{"a": {"x": 1}}', '{"a": [1]}'), '{"a":[1]}');
  assert.equal(create('{"a": [1]}', '{"a": {"x": 1}}'), '{"a":{"x":1}}');
  assert.equal(create('{"a": "1"}', '{"a": 1}'), '{"a":1}');
  assert.equal(create('{"a": 1}', '{"a": "1"}'), '{"a":"1"}');
  assert.equal(create('{"a": true}', '{"a": 1}'), '{"a":1}');
});

Deno.test("createMergePatch() recurses into objects and keeps only changes", () => {
  assert.equal(
    create(
      '{"a": {"x": 1, "y": 2, "z": {"k": 1}}}',
      '{"a": {"x": 1, "y": 3, "z": {"k": 1}, "w": 4}}',
    ),
    '{"a":{"w":4,"y":3}}',
  );
  assert.equal(create('{"a": {"x": 1, "y": 2}}', '{"a": {"x": 1}}'), '{"a":{"y":null}}');
});

Deno.test("createMergePatch() leaves out objects whose sub-patch is empty", () => {
  assert.equal(create('{"a": {"x": 1}, "b": 1}', '{"a": {"x": 1.0}, "b": 2}'), '{"b":2}');
});

Deno.test("createMergePatch() replaces a changed array whole", () => {
  assert.equal(create('{"a": [1, 2, 3]}', '{"a": [1, 2, 4]}'), '{"a":[1,2,4]}');
  assert.equal(create('{"a": [{"x": 1}]}', '{"a": [{"x": 1}, 2]}'), '{"a":[{"x":1},2]}');
  assert.equal(create('{"a": [1, 2]}', '{"a": [1.0, 2e0]}'), "{}");
});

Deno.test("createMergePatch() gives the new scalar when it differs", () => {
  assert.equal(create('{"a": "x", "b": true}', '{"a": "y", "b": false}'), '{"a":"y","b":false}');
  assert.equal(create('{"a": 1}', '{"a": 1.0}'), "{}");
});

Deno.test("createMergePatch() sees number changes beyond float64 precision (deliberate fix)", () => {
  assert.equal(
    create('{"a": 12345678901234567890}', '{"a": 12345678901234567891}'),
    '{"a":12345678901234567891}',
  );
});

Deno.test("createMergePatch() turns a value that became null into a null member", () => {
  assert.equal(create('{"a": 1}', '{"a": null}'), '{"a":null}');
  assert.equal(create('{"a": null}', '{"a": null}'), "{}");
  assert.equal(create('{"a": null}', '{"a": 1}'), '{"a":1}');
});

Deno.test("createMergePatch() does not change its inputs", () => {
  const from = obj('{"a": {"x": 1}, "b": 2}');
  const to = obj('{"a": {"x": 2}, "c": 3}');
  const before = canonicalJson(from) + canonicalJson(to);
  createMergePatch(from, to);
  assert.equal(canonicalJson(from) + canonicalJson(to), before);
});

Deno.test("applyMergePatch() follows the RFC 7396 examples", () => {
  // RFC 7396 Appendix A.
  const cases: [string, string, string][] = [
    ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
    ['{"a":"b"}', '{"a":null}', "{}"],
    ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
    ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
    ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
    ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
    ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
    ['["a","b"]', '["c","d"]', '["c","d"]'],
    ['{"a":"b"}', '["c"]', '["c"]'],
    ['{"a":"foo"}', "null", "null"],
    ['{"a":"foo"}', '"bar"', '"bar"'],
    ['{"e":null}', '{"a":1}', '{"a":1,"e":null}'],
    ["[1,2]", '{"a":"b","c":null}', '{"a":"b"}'],
    ["{}", '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
  ];
  for (const [target, patch, want] of cases) {
    assert.equal(apply(target, patch), want, `${target} + ${patch}`);
  }
});

Deno.test("applyMergePatch() prunes nulls inside inserted values by default, as Go does", () => {
  assert.equal(apply("{}", '{"a": [null, {"b": null}]}'), '{"a":[{}]}');
  assert.equal(apply('{"a": 1}', '{"a": {"x": null, "y": [1, null]}}'), '{"a":{"y":[1]}}');
  assert.equal(apply('{"a": {"x": 1}}', '{"a": {"y": {"z": null}}}'), '{"a":{"x":1,"y":{}}}');
});

Deno.test("applyMergePatch() with pruneNulls false inserts values verbatim", () => {
  const opts = { pruneNulls: false };
  assert.equal(apply("{}", '{"a": [null, {"b": null}]}', opts), '{"a":[null,{"b":null}]}');
  assert.equal(apply('{"a": 1}', '{"a": {"x": null}}', opts), '{"a":{"x":null}}');
  // Top-level null members still delete.
  assert.equal(apply('{"a": 1, "b": 2}', '{"a": null}', opts), '{"b":2}');
});

Deno.test("applyMergePatch() with nullMeansDelete false stores null members", () => {
  const opts = { nullMeansDelete: false, pruneNulls: false };
  assert.equal(apply('{"a": 1, "b": 2}', '{"a": null}', opts), '{"a":null,"b":2}');
  assert.equal(
    apply('{"a": {"x": 1, "y": 2}}', '{"a": {"x": null}}', opts),
    '{"a":{"x":null,"y":2}}',
  );
  assert.equal(apply("{}", '{"n": null}', opts), '{"n":null}');
});

Deno.test("applyMergePatch() merges objects deeply and replaces everything else", () => {
  assert.equal(
    apply(
      '{"a": {"x": 1, "y": {"p": 1}}, "b": [1], "c": 1}',
      '{"a": {"y": {"q": 2}}, "b": [2], "d": 4}',
    ),
    '{"a":{"x":1,"y":{"p":1,"q":2}},"b":[2],"c":1,"d":4}',
  );
});

Deno.test("applyMergePatch() does not change its inputs", () => {
  const target = parseJson('{"a": {"x": 1}, "b": 2, "c": [null]}');
  const patch = parseJson('{"a": {"x": null, "y": 1}, "b": null, "d": [null]}');
  const before = canonicalJson(target) + canonicalJson(patch);
  const result = applyMergePatch(target, patch);
  assert.equal(canonicalJson(result), '{"a":{"y":1},"c":[null],"d":[]}');
  assert.equal(canonicalJson(target) + canonicalJson(patch), before);
});

Deno.test("applying createMergePatch(from, to) to from gives to when to has no nulls", () => {
  const pairs: [string, string][] = [
    [
      '{"a": 1, "b": {"c": 2, "d": [1, 2]}, "e": "x"}',
      '{"b": {"c": 3, "d": [1]}, "e": "x", "f": {"g": {}}}',
    ],
    ['{"#spec": "s@1", "x.json": {"a": {"b": 1}}}', '{"#spec": "s@2", "x.json": {"a": {"c": 1}}}'],
    ["{}", '{"a": 12345678901234567891}'],
  ];
  for (const [from, to] of pairs) {
    const patch = createMergePatch(obj(from), obj(to));
    assert.equal(canonicalJson(applyMergePatch(obj(from), patch)), canonicalJson(obj(to)));
  }
});

Deno.test("pruneNulls() removes nulls at every depth and returns unchanged values as they are", () => {
  const v = parseJson('[null, 1, {"a": null, "b": [null, {"c": null}]}]');
  assert.equal(canonicalJson(pruneNulls(v)), '[1,{"b":[{}]}]');
  const clean: JsonValue = parseJson('{"a": [1, {"b": 2}]}');
  assert.equal(pruneNulls(clean), clean);
  assert.equal(pruneNulls(null), null);
});
