/**
 * Round trips of the real Pantavisor states in the shared fixtures through
 * parseJson → canonicalJson.
 */
import assert from "node:assert/strict";
import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { validateState } from "../../../core/model/state.ts";
import { PANTAVISOR_FIXTURES } from "../../support/temp.ts";

const encoder = new TextEncoder();

function fixtureNames(): string[] {
  return [...Deno.readDirSync(PANTAVISOR_FIXTURES)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
}

function readFixture(name: string): Uint8Array {
  return Deno.readFileSync(PANTAVISOR_FIXTURES + name);
}

/** The bytes without one trailing newline. */
function withoutTrailingNewline(b: Uint8Array): Uint8Array {
  return b.length > 0 && b[b.length - 1] === 0x0a ? b.subarray(0, b.length - 1) : b;
}

function compareUtf8(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/**
 * An independent canonical writer for the fixtures: `JSON.parse`, keys sorted by
 * UTF-8 bytes, `JSON.stringify` strings (same escaping as canonical JSON when there
 * are no control characters), safe integers only.
 */
function referenceCanonical(v: unknown): string {
  if (typeof v === "number") {
    assert.ok(Number.isSafeInteger(v), `fixture number ${v} is not a safe integer`);
    return String(v);
  }
  if (typeof v === "string") {
    for (let i = 0; i < v.length; i++) {
      assert.ok(v.charCodeAt(i) >= 0x20, "fixture string with a control character");
    }
    return JSON.stringify(v);
  }
  if (v === null || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(referenceCanonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort(compareUtf8);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${referenceCanonical(o[k])}`).join(",")}}`;
}

Deno.test("fixtures: the shared Pantavisor state JSONs are present", () => {
  assert.ok(fixtureNames().length >= 7, fixtureNames().join(", "));
});

for (const name of fixtureNames()) {
  Deno.test(`fixtures: canonicalJson of ${name} matches an independent canonical writer`, () => {
    const raw = readFixture(name);
    const canonical = canonicalJson(parseJson(raw, name));
    assert.equal(canonical, referenceCanonical(JSON.parse(new TextDecoder().decode(raw))));
  });

  Deno.test(`fixtures: canonicalJson of ${name} is a fixed point`, () => {
    const once = canonicalJson(parseJson(readFixture(name), name));
    assert.equal(canonicalJson(parseJson(once)), once);
  });

  Deno.test(`fixtures: ${name} is a valid state`, () => {
    assert.doesNotThrow(() => validateState(parseJson(readFixture(name), name), name));
  });
}

Deno.test("fixtures: the already-canonical fixtures round-trip byte for byte", () => {
  const canonicalOnes: string[] = [];
  for (const name of fixtureNames()) {
    const raw = withoutTrailingNewline(readFixture(name));
    const out = encoder.encode(canonicalJson(parseJson(raw, name)));
    if (out.length === raw.length && out.every((b, i) => b === raw[i])) canonicalOnes.push(name);
  }
  // Exactly the compact, sorted fixtures; the pretty-printed ones are not canonical.
  assert.deepEqual(canonicalOnes, ["state_with_spaces.json", "vaultwarden.json"]);
});

Deno.test("fixtures: the json of pvwificonnect.tgz (a real pvr export) round-trips byte for byte", async () => {
  const { code, stdout, stderr } = await new Deno.Command("tar", {
    args: ["xzOf", PANTAVISOR_FIXTURES + "pvwificonnect.tgz", "json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.ok(stdout.length > 1000);
  const out = encoder.encode(canonicalJson(parseJson(stdout, "pvwificonnect.tgz:json")));
  assert.equal(out.length, stdout.length);
  assert.ok(out.every((b, i) => b === stdout[i]), "canonical bytes differ from the export");
});
