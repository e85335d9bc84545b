/** The pure parts of post and fastcopy: the envelope and the copied state. */

import assert from "node:assert/strict";
import { postEnvelope } from "../../../core/ops/post.ts";
import { fastcopyState } from "../../../core/ops/fastcopy.ts";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { fromPlain, type JsonObject } from "../../../core/model/json_value.ts";
import { PvrError } from "../../../core/errors.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);
const state = (o: Record<string, unknown>) => fromPlain(o) as JsonObject;

Deno.test("postEnvelope(): --envelope, commit-msg, rev -1 by default, the state under json-key", () => {
  const s = state({ "#spec": "x", "f": A });
  assert.equal(
    canonicalJson(postEnvelope(s, "state", { message: "m", envelope: '{"meta":{"n":1.50}}' })),
    `{"commit-msg":"m","meta":{"n":1.5E0},"rev":-1,"state":{"#spec":"x","f":"${A}"}}`,
  );
  assert.equal(canonicalJson(postEnvelope(s, "", { rev: 0 })), `{"post":{"#spec":"x","f":"${A}"}}`);
  assert.equal(canonicalJson(postEnvelope(s, "state", { rev: 7 })).slice(0, 9), '{"rev":7,');
  for (const envelope of ["[]", "{", '"x"']) {
    assert.throws(
      () => postEnvelope(s, "state", { envelope }),
      (e) => e instanceof PvrError && e.code === "USAGE",
    );
  }
});

Deno.test("fastcopyState(): replace parts, rename by the destination fragments, merge", () => {
  const src = state({
    "#spec": "s",
    "app/a": A,
    "app/b/c": B,
    "bsp/run.json": { x: 1 },
    "other": A,
  });
  const dest = state({ "#spec": "d", "app2/old": B, "keep": B, "bsp/run2.json": 1 });
  assert.deepEqual(
    [...fastcopyState(src, dest, ["app", "bsp/run.json"], ["app2", "bsp/run2.json"], false)].sort(),
    [["#spec", "d"], ["app2/a", A], ["app2/b/c", B], ["bsp/run2.json", state({ x: 1 })], [
      "keep",
      B,
    ]]
      .sort() as never,
  );
  const merged = fastcopyState(src, dest, ["app"], ["app2"], true);
  assert.equal(merged.get("app2/old"), B);
  assert.equal(merged.get("app2/a"), A);
  // Without fragments: the source's state wholesale.
  assert.deepEqual(fastcopyState(src, dest, [], [], false), src);
  // Same fragments on both sides when the destination has none.
  const same = fastcopyState(src, dest, ["app"], [], false);
  assert.equal(same.get("app/b/c"), B);
  assert.equal(same.get("app2/old"), B);
  // A part is a directory or a key: `app` never takes `app2/…` or `apple`.
  const src2 = state({ "apple": A, "app2/x": A, "app": B });
  assert.deepEqual([...fastcopyState(src2, new Map(), ["app"], ["z"], false)], [["z", B]]);
  // A destination fragment that escapes is refused by the state rules.
  assert.throws(
    () => fastcopyState(src, dest, ["app"], ["../x"], false),
    (e) => e instanceof PvrError && e.code === "UNSAFE_PATH",
  );
  assert.throws(
    () => fastcopyState(src, dest, [], ["x"], false),
    (e) => e instanceof PvrError && e.code === "USAGE",
  );
});
