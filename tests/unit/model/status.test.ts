import assert from "node:assert/strict";
import { classifyStatus, formatStatusLines } from "../../../core/model/status.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import type { JsonObject } from "../../../core/model/json_value.ts";

const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

function obj(text: string): JsonObject {
  const v = parseJson(text);
  assert.ok(v instanceof Map);
  return v;
}

Deno.test("classifyStatus() reports nothing for identical states", () => {
  const s = obj(`{"#spec": "s@1", "a.txt": "${SHA_A}", "c.json": {"x": 1.5}}`);
  const w = obj(`{"c.json": {"x": 1.50}, "a.txt": "${SHA_A}", "#spec": "s@1"}`);
  assert.deepEqual(classifyStatus(s, w, []), {
    added: [],
    removed: [],
    changed: [],
    untracked: [],
  });
});

Deno.test("classifyStatus() reports a new key as added, a missing one as removed, a different one as changed", () => {
  const p = obj(
    `{"#spec": "s@1", "gone.txt": "${SHA_A}", "same.txt": "${SHA_A}", "edit.txt": "${SHA_A}"}`,
  );
  const w = obj(
    `{"#spec": "s@1", "new.txt": "${SHA_B}", "same.txt": "${SHA_A}", "edit.txt": "${SHA_B}"}`,
  );
  assert.deepEqual(classifyStatus(p, w, ["u.txt"]), {
    added: ["new.txt"],
    removed: ["gone.txt"],
    changed: ["edit.txt"],
    untracked: ["u.txt"],
  });
});

Deno.test("classifyStatus() reports #spec as added when the pristine state has none", () => {
  const r = classifyStatus(obj("{}"), obj('{"#spec": "pantavisor-service-system@1"}'), []);
  assert.deepEqual(r.added, ["#spec"]);
});

Deno.test("classifyStatus() treats a missing pristine state as empty", () => {
  const r = classifyStatus(null, obj(`{"#spec": "s@1", "a": "${SHA_A}"}`), []);
  assert.deepEqual(r, { added: ["#spec", "a"], removed: [], changed: [], untracked: [] });
});

Deno.test("classifyStatus() reports a changed inline JSON file once, however deep the change", () => {
  const r = classifyStatus(
    obj('{"c.json": {"a": {"b": [1]}}}'),
    obj('{"c.json": {"a": {"b": [2]}}}'),
    [],
  );
  assert.deepEqual(r.changed, ["c.json"]);
});

Deno.test("classifyStatus() sees a .json file whose content is null as present (deliberate fix)", () => {
  const st = obj('{"n.json": null}');
  assert.deepEqual(classifyStatus(st, obj('{"n.json": null}'), []), {
    added: [],
    removed: [],
    changed: [],
    untracked: [],
  });
  assert.deepEqual(classifyStatus(obj("{}"), st, []).added, ["n.json"]);
  assert.deepEqual(classifyStatus(obj('{"n.json": 1}'), st, []).changed, ["n.json"]);
});

Deno.test("classifyStatus() sees a stored null inside a file as unchanged (deliberate fix)", () => {
  const st = obj('{"c.json": {"a": null, "b": [null]}}');
  assert.deepEqual(classifyStatus(st, obj('{"c.json": {"b": [null], "a": null}}'), []).changed, []);
});

Deno.test("classifyStatus() sees number changes beyond float64 precision", () => {
  const r = classifyStatus(
    obj('{"c.json": 12345678901234567890}'),
    obj('{"c.json": 12345678901234567891}'),
    [],
  );
  assert.deepEqual(r.changed, ["c.json"]);
});

Deno.test("classifyStatus() sorts every list by code point", () => {
  const w = obj('{"😀": 1, "ｚ": 1, "b": 1, "a": 1, "B": 1}');
  const r = classifyStatus(obj("{}"), w, ["😀x", "ｚx", "ax"]);
  assert.deepEqual(r.added, ["B", "a", "b", "ｚ", "😀"]);
  assert.deepEqual(r.untracked, ["ax", "ｚx", "😀x"]);
});

Deno.test("classifyStatus() does not change the untracked array it is given", () => {
  const untracked = ["b", "a"];
  classifyStatus(null, obj("{}"), untracked);
  assert.deepEqual(untracked, ["b", "a"]);
});

Deno.test("formatStatusLines() groups lines as A, D, C, ?", () => {
  assert.equal(
    formatStatusLines({
      added: ["newfile.txt"],
      removed: ["deleted.txt"],
      changed: ["some.json", "working.txt"],
      untracked: ["notes/todo.md"],
    }),
    "A newfile.txt\nD deleted.txt\nC some.json\nC working.txt\n? notes/todo.md\n",
  );
});

Deno.test("formatStatusLines() prints nothing for a clean tree", () => {
  assert.equal(formatStatusLines({ added: [], removed: [], changed: [], untracked: [] }), "");
});
