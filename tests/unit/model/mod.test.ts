import assert from "node:assert/strict";
import * as model from "../../../core/model/mod.ts";

Deno.test("core/model/mod.ts re-exports the model's functions and constants", () => {
  const names = Object.keys(model).sort();
  for (
    const name of [
      "applyMerge",
      "applyMergePatch",
      "applyReplace",
      "canonicalJson",
      "canonicalNumber",
      "classifyStatus",
      "compareCodePoints",
      "createMergePatch",
      "DEFAULT_SPEC",
      "filterByParts",
      "formatStatusLines",
      "goIndent",
      "goMarshal",
      "goMarshalIndent",
      "goNumberText",
      "isIgnoredWalkPath",
      "isInlineJson",
      "isSpecKey",
      "joinKey",
      "jsonEquals",
      "JsonNumber",
      "keyInPart",
      "parentKey",
      "parseJson",
      "parseParts",
      "sortedKeys",
      "specOf",
      "stateObjects",
      "validateState",
      "validateStateKey",
    ]
  ) {
    assert.ok(names.includes(name), name);
  }
});

Deno.test("core/model/mod.ts runs a parse → patch → canonical round trip", () => {
  const pristine = model.parseJson('{"#spec":"pantavisor-service-system@1"}') as model.State;
  const working = model.parseJson('{"#spec":"pantavisor-service-system@1","c.json":{"b":1.50}}');
  const state = model.validateState(working, "working");
  const patch = model.createMergePatch(pristine, state);
  const committed = model.applyMergePatch(pristine, patch);
  assert.equal(
    model.canonicalJson(committed),
    '{"#spec":"pantavisor-service-system@1","c.json":{"b":1.5E0}}',
  );
  assert.equal(model.formatStatusLines(model.classifyStatus(pristine, state, [])), "A c.json\n");
});
