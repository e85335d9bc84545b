/** src.json: parse and the byte-exact Go MarshalIndent(v, " ", " ") writer. */

import assert from "node:assert/strict";
import {
  BUILTIN_TEMPLATE,
  formatSrcJson,
  parseSrcJson,
  sourceTypeOf,
  SRC_SPEC,
} from "../../../core/app/src_json.ts";
import { fromPlain, type JsonObject } from "../../../core/model/json_value.ts";
import { PvrError } from "../../../core/errors.ts";

const obj = (v: unknown) => fromPlain(v) as JsonObject;

Deno.test("formatSrcJson() writes the minimal document with one-space prefix and indent, no newline", () => {
  assert.equal(
    formatSrcJson({ "#spec": SRC_SPEC, template: BUILTIN_TEMPLATE }),
    '{\n  "#spec": "service-manifest-src@1",\n  "template": "builtin-lxc-docker"\n }',
  );
});

Deno.test("formatSrcJson() writes fields in the Go struct order, maps sorted, empties omitted", () => {
  const text = formatSrcJson({
    persistence: obj({ "/data": "permanent" }),
    docker_config: obj({ Env: ["A=<1>"], Cmd: ["nginx"] }),
    docker_source: "remote,local",
    docker_digest: "nginx@sha256:ab",
    docker_tag: "latest",
    docker_name: "nginx",
    args: obj({ PV_RESTART_POLICY: "system", PV_GROUP: "app" }),
    template: BUILTIN_TEMPLATE,
    "#spec": SRC_SPEC,
    base: "",
    logs: [],
    dm_enabled: new Map(),
    format_options: "-comp xz",
    pvr_digest: false,
  });
  assert.equal(
    text,
    [
      "{",
      '  "#spec": "service-manifest-src@1",',
      '  "template": "builtin-lxc-docker",',
      '  "args": {',
      '   "PV_GROUP": "app",',
      '   "PV_RESTART_POLICY": "system"',
      "  },",
      '  "docker_name": "nginx",',
      '  "docker_tag": "latest",',
      '  "docker_digest": "nginx@sha256:ab",',
      '  "docker_source": "remote,local",',
      '  "docker_config": {',
      '   "Cmd": [',
      '    "nginx"',
      "   ],",
      '   "Env": [',
      '    "A=\\u003c1\\u003e"',
      "   ]",
      "  },",
      '  "format_options": "-comp xz",',
      '  "persistence": {',
      '   "/data": "permanent"',
      "  }",
      " }",
    ].join("\n"),
  );
});

Deno.test("formatSrcJson() puts base and name first and writes pvr_digest only when true", () => {
  const text = formatSrcJson({
    "#spec": SRC_SPEC,
    template: BUILTIN_TEMPLATE,
    base: "b",
    name: "n",
    pvr_digest: true,
    dm_enabled: obj({ "root.squashfs": true }),
  });
  assert.equal(
    text,
    '{\n  "base": "b",\n  "name": "n",\n  "#spec": "service-manifest-src@1",\n' +
      '  "template": "builtin-lxc-docker",\n  "dm_enabled": {\n   "root.squashfs": true\n  },\n' +
      '  "pvr_digest": true\n }',
  );
});

Deno.test("parseSrcJson() round-trips the Go bytes and keeps unknown fields after the known ones", () => {
  const go = formatSrcJson({
    "#spec": SRC_SPEC,
    template: BUILTIN_TEMPLATE,
    args: obj({ A: "1" }),
    docker_name: "nginx",
  });
  assert.equal(formatSrcJson(parseSrcJson(go)), go);
  const withExtra = parseSrcJson('{"zz":1,"#spec":"service-manifest-src@1","aa":[true]}');
  assert.equal(
    formatSrcJson(withExtra),
    '{\n  "#spec": "service-manifest-src@1",\n  "template": "",\n  "aa": [\n   true\n  ],\n  "zz": 1\n }',
  );
});

Deno.test("parseSrcJson() reads null as absent and refuses wrong types", () => {
  const src = parseSrcJson('{"#spec":"service-manifest-src@1","base":null,"args":null}');
  assert.equal(src.base, undefined);
  assert.equal(src.args, undefined);
  for (const bad of ['{"docker_name":1}', '{"args":[]}', "[]", '{"exports":[1]}', "{"]) {
    assert.throws(
      () => parseSrcJson(bad),
      (e) => e instanceof PvrError && e.code === "BAD_JSON",
      bad,
    );
  }
});

Deno.test("sourceTypeOf() is pvr, then rootfs, else docker", () => {
  const base = { "#spec": SRC_SPEC, template: BUILTIN_TEMPLATE };
  assert.equal(sourceTypeOf({ ...base, pvr: "x", rootfs_url: "y" }), "pvr");
  assert.equal(sourceTypeOf({ ...base, rootfs_url: "y" }), "rootfs");
  assert.equal(sourceTypeOf(base), "docker");
});
