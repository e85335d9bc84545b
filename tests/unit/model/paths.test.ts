import assert from "node:assert/strict";
import {
  isIgnoredWalkPath,
  isSpecKey,
  joinKey,
  keyProblemInOrder,
  MAX_KEY_BYTES,
  parentKey,
  stateKeyProblem,
  validateStateKey,
} from "../../../core/model/paths.ts";

const UNSAFE = { name: "PvrError", code: "UNSAFE_PATH" };

Deno.test("validateStateKey() accepts ordinary relative paths", () => {
  for (
    const k of [
      "a",
      "a.txt",
      "dir/sub/file.json",
      "_config/container/name with spaces.txt",
      "#spec",
      "#other",
      "..a",
      "a..",
      "a/.hidden",
      ".git/config",
      ".pvrignore",
      ".pvfoo/x",
      "x/.pvr/y",
      "x/.pv",
      "back\\slash",
      "..\\..\\x",
      "é/中/😀",
      "a/...",
    ]
  ) {
    assert.doesNotThrow(() => validateStateKey(k), k);
    assert.equal(stateKeyProblem(k), undefined);
  }
});

Deno.test("validateStateKey() rejects unsafe keys with UNSAFE_PATH", () => {
  for (
    const k of [
      "",
      "/etc/passwd",
      "/",
      "a\0b",
      "a//b",
      "a/",
      "a/b/",
      ".",
      "..",
      "./a",
      "a/./b",
      "../a",
      "a/../../b",
      "a/..",
      ".pvr",
      ".pvr/json",
      ".pv",
      ".pv/x",
      "a\ud800",
    ]
  ) {
    assert.throws(() => validateStateKey(k), { ...UNSAFE, path: k }, JSON.stringify(k));
  }
});

Deno.test("validateStateKey() limits keys to 4096 UTF-8 bytes", () => {
  assert.doesNotThrow(() => validateStateKey("a".repeat(MAX_KEY_BYTES)));
  assert.throws(() => validateStateKey("a".repeat(MAX_KEY_BYTES + 1)), UNSAFE);
  // 2048 two-byte characters are 4096 bytes; one more is too long.
  assert.doesNotThrow(() => validateStateKey("é".repeat(2048)));
  assert.throws(() => validateStateKey("é".repeat(2049)), UNSAFE);
  assert.throws(() => validateStateKey("😀".repeat(1025)), UNSAFE);
});

Deno.test("isSpecKey() is true only for #spec", () => {
  assert.ok(isSpecKey("#spec"));
  assert.ok(!isSpecKey("#spec/x"));
  assert.ok(!isSpecKey("spec"));
});

Deno.test("isIgnoredWalkPath() skips .pvr and .pv segments exactly (deliberate fix)", () => {
  for (const p of [".pvr", ".pvr/json", ".pvr/objects/abc", ".pv", ".pv/x"]) {
    assert.ok(isIgnoredWalkPath(p), p);
  }
  for (const p of [".pvrignore", ".pvfoo", ".pvr2/x", "a/.pvr", "x/.pv/y", ".git/HEAD", "pvr"]) {
    assert.ok(!isIgnoredWalkPath(p), p);
  }
});

Deno.test("joinKey() joins segments with single slashes", () => {
  assert.equal(joinKey("a", "b", "c.json"), "a/b/c.json");
  assert.equal(joinKey("a/", "/b", "", "c"), "a/b/c");
  assert.equal(joinKey("a/b", "c/d"), "a/b/c/d");
  assert.equal(joinKey(), "");
  assert.equal(joinKey("", "x"), "x");
});

Deno.test("parentKey() gives the directory part of a key", () => {
  assert.equal(parentKey("a/b/c"), "a/b");
  assert.equal(parentKey("a"), "");
  assert.equal(parentKey("#spec"), "");
});

Deno.test("stateKeyProblem(): the one-scan fast path agrees with the full rules on every key", () => {
  // Keys built from the pieces that matter to the rules, in every order: separators,
  // dots, the reserved names, NUL, non-ASCII and lone surrogates, the length limit.
  const pieces = [
    "a",
    "/",
    ".",
    "..",
    ".pv",
    ".pvr",
    ".pvrx",
    "#spec",
    "\0",
    "é",
    "𝄞",
    "\ud800",
    "b.json",
    "\\",
    " ",
  ];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const keys = ["", "#spec", "a".repeat(MAX_KEY_BYTES), "a".repeat(MAX_KEY_BYTES + 1)];
  keys.push(
    `${"a/".repeat(MAX_KEY_BYTES / 2 - 1)}ab`,
    `${"é".repeat(2048)}`,
    `${"é".repeat(2049)}`,
  );
  for (const a of pieces) {
    for (const b of pieces) {
      keys.push(a + b);
      for (const c of pieces) keys.push(a + b + c);
    }
  }
  for (let i = 0; i < 20000; i++) {
    let k = "";
    const len = 1 + Math.floor(next() * 8);
    for (let j = 0; j < len; j++) k += pieces[Math.floor(next() * pieces.length)];
    keys.push(k);
  }
  let valid = 0;
  for (const k of keys) {
    const want = keyProblemInOrder(k);
    assert.equal(stateKeyProblem(k), want, JSON.stringify(k));
    if (want === undefined) valid++;
  }
  assert.ok(valid > 1000 && valid < keys.length - 1000, `${valid} of ${keys.length} valid`);
});
