/** `diff()` on real temp dirs: the RFC 7396 merge patch, and `pvr diff --format json-patch`. */

import assert from "node:assert/strict";
import { add, canonicalJson, diff } from "../../mod.ts";
import {
  commitFiles,
  rejectsWithCode,
  sha256Hex,
  type TestRepo,
  withRepo,
} from "../support/cli.ts";

function committed(r: TestRepo, files: Record<string, string>): Promise<void> {
  return commitFiles(r, files);
}

const BASE = {
  "a.txt": "a",
  "gone.txt": "g",
  "c.json": '{"keep":1,"x":{"y":1,"z":[1,2]},"drop":true}',
  "d/e.bin": "E",
};

Deno.test("diff() of an unchanged tree is the empty patch", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    const d = await diff(r.opts);
    assert.equal(canonicalJson(d.patch), "{}");
    assert.equal(canonicalJson(d.from), canonicalJson(d.to));
  });
});

Deno.test("diff() gives null for a removed file, the sha for a new one, a partial patch for JSON", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    await Deno.remove(`${r.dir}/gone.txt`);
    await r.write({
      "a.txt": "A",
      "n.txt": "new",
      "c.json": '{"keep":1,"x":{"y":2,"z":[1,2,3]},"big":12345678901234567891}',
    });
    await add({ ...r.opts, paths: ["n.txt"] });
    const d = await diff(r.opts);
    assert.equal(
      canonicalJson(d.patch),
      `{"a.txt":"${sha256Hex("A")}",` +
        `"c.json":{"big":12345678901234567891,"drop":null,"x":{"y":2,"z":[1,2,3]}},` +
        `"gone.txt":null,"n.txt":"${sha256Hex("new")}"}`,
    );
    assert.equal(d.from.get("gone.txt"), sha256Hex("g"));
    assert.equal(d.to.has("gone.txt"), false);
  });
});

Deno.test("diff() ignores untracked files", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    await r.write({ "untracked.txt": "u" });
    assert.equal(canonicalJson((await diff(r.opts)).patch), "{}");
  });
});

Deno.test("pvr diff prints the merge patch tab-indented with Go escaping and float formatting", async () => {
  await withRepo(async (r) => {
    await committed(r, { "c.json": '{"a":"x","b":1}' });
    await r.write({ "c.json": '{"a":"<y>&","b":1.50}' });
    const out = await r.run(["diff"]);
    assert.equal(out.code, 0);
    assert.equal(
      out.stdout,
      '{\n\t"c.json": {\n\t\t"a": "\\u003cy\\u003e\\u0026",\n\t\t"b": 1.5\n\t}\n}\n',
    );
    assert.equal(out.stderr, "");
  });
});

Deno.test("pvr diff with no changes prints {}", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    assert.deepEqual(await r.run(["diff"]), { code: 0, stdout: "{}\n", stderr: "" });
  });
});

Deno.test("pvr diff --format json-patch prints RFC 6902 operations that turn old into new", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    await Deno.remove(`${r.dir}/gone.txt`);
    await r.write({ "c.json": '{"keep":1,"x":{"y":2,"z":[1,2]},"drop":true}' });
    const out = await r.run(["diff", "--format", "json-patch"]);
    assert.equal(out.code, 0, out.stderr);
    const ops = JSON.parse(out.stdout);
    assert.deepEqual(
      [...ops].sort((a, b) => a.path < b.path ? -1 : 1),
      [
        { op: "replace", path: "/c.json/x/y", value: 2 },
        { op: "remove", path: "/gone.txt" },
      ],
    );
    assert.match(out.stdout, /^\[\n\t\{\n\t\t"op"/, "tab-indented");
    const compact = await r.run(["diff", "--format", "json-patch", "--json"]);
    assert.deepEqual(JSON.parse(compact.stdout), ops);
    assert.equal(compact.stdout.trimEnd().includes("\n"), false);
  });
});

Deno.test("pvr diff --format json-patch keeps big integers exact and sees their change", async () => {
  await withRepo(async (r) => {
    await committed(r, { "n.json": '{"big":12345678901234567890,"f":1.0}' });
    await r.write({ "n.json": '{"big":12345678901234567891,"f":1}' });
    const out = await r.run(["diff", "--format", "json-patch", "--json"]);
    assert.equal(
      out.stdout,
      '[{"op":"replace","path":"/n.json/big","value":12345678901234567891}]\n',
    );
  });
});

Deno.test("pvr diff --format json-patch escapes / in keys as ~1", async () => {
  await withRepo(async (r) => {
    await committed(r, BASE);
    await r.write({ "d/e.bin": "E2" });
    const out = await r.run(["diff", "--format", "json-patch", "--json"]);
    assert.deepEqual(JSON.parse(out.stdout), [
      { op: "replace", path: "/d~1e.bin", value: sha256Hex("E2") },
    ]);
  });
});

Deno.test("pvr diff --format with an unknown format is a usage error (exit 2)", async () => {
  await withRepo(async (r) => {
    const out = await r.run(["diff", "--format", "yaml"]);
    assert.equal(out.code, 2);
    assert.equal(out.stdout, "");
  });
});

Deno.test("diff() outside a repository fails with NOT_A_REPO", async () => {
  await withRepo(async (r) => {
    await rejectsWithCode(diff(r.opts), "NOT_A_REPO");
  }, { init: false });
});
