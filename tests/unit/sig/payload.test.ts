/** Payload selection of pvs@2 signatures: doublestar globs, excludes win, canonical bytes. */

import assert from "node:assert/strict";
import { parseJson } from "../../../core/model/json_parse.ts";
import type { State } from "../../../core/model/state.ts";
import { payloadBytes, selectPayload } from "../../../core/sig/payload.ts";
import { sigAddMatch } from "../../../core/ops/sig_add.ts";

const STATE = parseJson(JSON.stringify({
  "#spec": "pantavisor-service-system@1",
  "_config/nginx/etc/nginx.conf": "c1",
  "_config/nginxx/x": "c2",
  "_sigs/nginx.json": { "#spec": "pvs@2" },
  "nginx/lxc.container.conf": "a1",
  "nginx/root.squashfs": "a2",
  "nginx/run.json": { "b": 1.5, "a": "<&>" },
  "nginx/src.json": { "x": 1 },
  "nginx/sub/deep.txt": "a3",
  "other/run.json": {},
})) as State;

const opts = { dir: "/nowhere", configDir: "/nowhere" };

Deno.test("part mode: <part>/** and _config/<part>/**, minus src.json and its own signature", () => {
  const { name, match } = sigAddMatch({ ...opts, part: "nginx" });
  assert.equal(name, "nginx");
  assert.deepEqual(match, {
    include: ["nginx/**", "_config/nginx/**"],
    exclude: ["nginx/src.json", "_sigs/nginx.json"],
  });
  const sel = selectPayload(STATE, match);
  assert.deepEqual([...sel.selected.keys()].sort(), [
    "_config/nginx/etc/nginx.conf",
    "nginx/lxc.container.conf",
    "nginx/root.squashfs",
    "nginx/run.json",
    "nginx/sub/deep.txt",
  ]);
  assert.deepEqual(sel.excluded, ["_sigs/nginx.json", "nginx/src.json"]);
  assert.deepEqual(sel.notSeen, ["#spec", "_config/nginxx/x", "other/run.json"]);
});

Deno.test("part mode: --noconfig, custom globs are joined and cleaned like Go's path.Join", () => {
  const { match } = sigAddMatch({
    ...opts,
    part: "nginx",
    noconfig: true,
    include: ["*", "./sub/**"],
    exclude: ["run.json"],
  });
  assert.deepEqual(match, {
    include: ["nginx/*", "nginx/sub/**"],
    exclude: ["nginx/run.json", "_sigs/nginx.json"],
  });
  const sel = selectPayload(STATE, match);
  assert.deepEqual([...sel.selected.keys()].sort(), [
    "nginx/lxc.container.conf",
    "nginx/root.squashfs",
    "nginx/src.json",
    "nginx/sub/deep.txt",
  ]);
});

Deno.test("raw mode: globs as given, and the signature's own file excluded (not _sigs/.json)", () => {
  const { name, match } = sigAddMatch({ ...opts, raw: "all", include: ["**"] });
  assert.equal(name, "all");
  assert.deepEqual(match, { include: ["**"], exclude: ["src.json", "_sigs/all.json"] });
  const m2 = sigAddMatch({ ...opts, raw: "nginx", include: ["**"], exclude: ["**/src.json"] });
  const sel = selectPayload(STATE, m2.match);
  assert.ok(!sel.selected.has("_sigs/nginx.json"));
  assert.ok(!sel.selected.has("nginx/src.json"));
  assert.ok(sel.selected.has("#spec"));
  assert.ok(sel.selected.has("other/run.json"));
});

Deno.test("glob forms: {a,b}, ?, [..], * within a segment", () => {
  const sel = selectPayload(STATE, {
    include: ["nginx/{run,src}.json", "other/ru?.json", "_config/nginx[x]/*"],
    exclude: [],
  });
  assert.deepEqual([...sel.selected.keys()].sort(), [
    "_config/nginxx/x",
    "nginx/run.json",
    "nginx/src.json",
    "other/run.json",
  ]);
  assert.equal(
    selectPayload(STATE, { include: ["nginx/*"], exclude: [] }).selected.has(
      "nginx/sub/deep.txt",
    ),
    false,
  );
});

Deno.test("payload bytes are canonical JSON (sorted keys, canonical numbers, raw <&>)", () => {
  const bytes = payloadBytes(STATE, {
    include: ["nginx/run.json", "nginx/root.squashfs"],
    exclude: [],
  });
  assert.equal(
    new TextDecoder().decode(bytes),
    '{"nginx/root.squashfs":"a2","nginx/run.json":{"a":"<&>","b":1.5E0}}',
  );
});

Deno.test("sig add needs exactly one of part and raw, and a one-segment name", () => {
  assert.throws(() => sigAddMatch(opts), /no part nor raw name provided/);
  assert.throws(
    () => sigAddMatch({ ...opts, part: "a", raw: "b" }),
    /part and raw flag cannot be used at same time/,
  );
  assert.throws(() => sigAddMatch({ ...opts, raw: "../x" }), /one path segment/);
  assert.throws(() => sigAddMatch({ ...opts, part: "a/b" }), /one path segment/);
});
