import assert from "node:assert/strict";
import {
  applyMerge,
  applyReplace,
  filterByParts,
  keyInPart,
  parseParts,
} from "../../../core/model/parts.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import type { JsonObject } from "../../../core/model/json_value.ts";

function obj(text: string): JsonObject {
  const v = parseJson(text);
  assert.ok(v instanceof Map);
  return v;
}

function keys(o: JsonObject): string[] {
  return [...o.keys()].sort();
}

const LOCAL = obj(`{
  "#spec": "local@1",
  "bsp/kernel.img": "l1",
  "bsp/run.json": {"a": 1, "keep": true},
  "bsp2/x": "l2",
  "bspfoo.json": {"l": 1},
  "os/root.squashfs": "l3",
  "other.txt": "l4"
}`);

const REMOTE = obj(`{
  "#spec": "remote@1",
  "bsp/kernel.img": "r1",
  "bsp/run.json": {"a": 2, "b": null},
  "bsp/new.txt": "r5",
  "bsp2/x": "r2",
  "os/root.squashfs": "r3",
  "app/x": "r6"
}`);

Deno.test("parseParts() splits select and unselect parts", () => {
  assert.deepEqual(parseParts("bsp/,os,-_config/os"), {
    select: ["bsp", "os"],
    unselect: ["_config/os"],
  });
});

Deno.test("parseParts() trims trailing slashes and ignores empty items", () => {
  assert.deepEqual(parseParts(""), { select: [], unselect: [] });
  assert.deepEqual(parseParts(",a//,,-,-b/,/"), { select: ["a"], unselect: ["b"] });
  assert.deepEqual(parseParts("#spec,-x"), { select: ["#spec"], unselect: ["x"] });
});

Deno.test("keyInPart() matches the part itself and keys under it only", () => {
  assert.ok(keyInPart("bsp", "bsp"));
  assert.ok(keyInPart("bsp/kernel.img", "bsp"));
  assert.ok(keyInPart("bsp/a/b", "bsp/a"));
  assert.ok(!keyInPart("bsp2/x", "bsp"));
  assert.ok(!keyInPart("bspfoo.json", "bsp"));
  assert.ok(!keyInPart("bs", "bsp"));
  assert.ok(!keyInPart("x/bsp", "bsp"));
});

Deno.test("keyInPart() with the empty part matches every key", () => {
  assert.ok(keyInPart("anything/at/all", ""));
  assert.ok(keyInPart("#spec", ""));
});

Deno.test("filterByParts() keeps everything, #spec included, when no part is selected", () => {
  assert.deepEqual(keys(filterByParts(REMOTE, [])), keys(REMOTE));
});

Deno.test("filterByParts() keeps the selected parts and drops #spec unless selected", () => {
  assert.deepEqual(keys(filterByParts(REMOTE, ["bsp"])), [
    "bsp/kernel.img",
    "bsp/new.txt",
    "bsp/run.json",
  ]);
  assert.deepEqual(keys(filterByParts(REMOTE, ["os", "#spec"])), ["#spec", "os/root.squashfs"]);
});

Deno.test("applyReplace() without parts takes the whole remote state", () => {
  const out = applyReplace(LOCAL, REMOTE, parseParts(""));
  assert.equal(canonicalJson(out), canonicalJson(REMOTE));
});

Deno.test("applyReplace() with a part replaces only that part, bsp never touching bsp2 (deliberate fix)", () => {
  const out = applyReplace(LOCAL, REMOTE, parseParts("bsp"));
  assert.equal(
    canonicalJson(out),
    canonicalJson(obj(`{
      "#spec": "local@1",
      "bsp/kernel.img": "r1",
      "bsp/run.json": {"a": 2, "b": null},
      "bsp/new.txt": "r5",
      "bsp2/x": "l2",
      "bspfoo.json": {"l": 1},
      "os/root.squashfs": "l3",
      "other.txt": "l4"
    }`)),
  );
});

Deno.test("applyReplace() removes local keys of a part the remote does not have", () => {
  const out = applyReplace(LOCAL, REMOTE, parseParts("other.txt"));
  assert.ok(!out.has("other.txt"));
  assert.equal(out.get("#spec"), "local@1");
});

Deno.test("applyReplace() removes unselected parts after copying", () => {
  const out = applyReplace(LOCAL, REMOTE, parseParts("-bsp"));
  assert.deepEqual(keys(out), ["#spec", "app/x", "bsp2/x", "os/root.squashfs"]);
  assert.equal(out.get("#spec"), "remote@1");
  const out2 = applyReplace(LOCAL, REMOTE, parseParts("os,-other.txt"));
  assert.deepEqual(keys(out2), [
    "#spec",
    "bsp/kernel.img",
    "bsp/run.json",
    "bsp2/x",
    "bspfoo.json",
    "os/root.squashfs",
  ]);
  assert.equal(out2.get("os/root.squashfs"), "r3");
});

Deno.test("applyReplace() takes the remote #spec when #spec is a selected part", () => {
  assert.equal(applyReplace(LOCAL, REMOTE, parseParts("os,#spec")).get("#spec"), "remote@1");
});

Deno.test("applyReplace() keeps no #spec when the chosen side has none", () => {
  const noSpec = obj('{"a": "x"}');
  assert.ok(!applyReplace(LOCAL, noSpec, parseParts("")).has("#spec"));
  assert.ok(!applyReplace(noSpec, REMOTE, parseParts("os")).has("#spec"));
});

Deno.test("applyMerge() deep-merges inline JSON and keeps remote nulls (deliberate fix)", () => {
  const out = applyMerge(LOCAL, REMOTE, parseParts("bsp"));
  assert.deepEqual(
    out.get("bsp/run.json") && canonicalJson(out.get("bsp/run.json")!),
    '{"a":2,"b":null,"keep":true}',
  );
  assert.equal(out.get("bsp/kernel.img"), "r1");
  assert.equal(out.get("bsp/new.txt"), "r5");
  assert.equal(out.get("bsp2/x"), "l2");
  assert.equal(out.get("#spec"), "local@1");
});

Deno.test("applyMerge() without parts merges the whole remote state, #spec included", () => {
  const out = applyMerge(LOCAL, REMOTE, parseParts(""));
  assert.equal(out.get("#spec"), "remote@1");
  assert.equal(out.get("other.txt"), "l4");
  assert.equal(out.get("app/x"), "r6");
  assert.equal(canonicalJson(out.get("bsp/run.json")!), '{"a":2,"b":null,"keep":true}');
});

Deno.test("applyMerge() stores a remote .json file whose content is null", () => {
  const out = applyMerge(
    obj('{"n.json": {"a": 1}}'),
    obj('{"n.json": null, "m.json": null}'),
    parseParts(""),
  );
  assert.equal(canonicalJson(out), '{"m.json":null,"n.json":null}');
});

Deno.test("applyMerge() removes the unselected local parts first", () => {
  const out = applyMerge(LOCAL, obj('{"x": "1"}'), parseParts("-bsp,-other.txt"));
  assert.deepEqual(keys(out), ["#spec", "bsp2/x", "bspfoo.json", "os/root.squashfs", "x"]);
});

Deno.test("applyReplace() and applyMerge() do not change their inputs", () => {
  const before = canonicalJson(LOCAL) + canonicalJson(REMOTE);
  applyReplace(LOCAL, REMOTE, parseParts("bsp,-os"));
  applyMerge(LOCAL, REMOTE, parseParts("bsp,-os"));
  applyMerge(LOCAL, REMOTE, parseParts(""));
  assert.equal(canonicalJson(LOCAL) + canonicalJson(REMOTE), before);
});
