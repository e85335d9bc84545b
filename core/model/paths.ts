/**
 * Rules for state keys: a key is a slash-separated path relative to the repo root
 * (or the special `#spec`). Keys come from remote states and tarballs, so every key
 * is checked before it is used as a path.
 *
 * @module
 */

import { PvrError } from "../errors.ts";

/** The key that names the state format; not a file. */
export const SPEC_KEY = "#spec";

/** The longest key accepted, in UTF-8 bytes (Linux `PATH_MAX`). */
export const MAX_KEY_BYTES = 4096;

/** True for the special `#spec` key. */
export function isSpecKey(key: string): boolean {
  return key === SPEC_KEY;
}

/**
 * Throws unless `key` is `#spec` or a safe relative file path:
 *
 * * not empty, no leading `/`, no NUL, at most {@link MAX_KEY_BYTES} UTF-8 bytes;
 * * no empty segment (`a//b`, trailing `/`), no `.` or `..` segment;
 * * first segment not `.pvr` or `.pv` (exact segment: `.pvrignore` is fine);
 * * valid Unicode (no lone surrogate: it cannot be a UTF-8 file name).
 *
 * A backslash is allowed: it is an ordinary file name character on Linux.
 *
 * @throws {PvrError} `UNSAFE_PATH` (with `path` set to the key)
 */
export function validateStateKey(key: string): void {
  const problem = stateKeyProblem(key);
  if (problem !== undefined) {
    throw new PvrError("UNSAFE_PATH", `unsafe state key ${JSON.stringify(key)}: ${problem}`, {
      path: key,
    });
  }
}

/** Why `key` is not a valid state key, or `undefined` when it is. */
export function stateKeyProblem(key: string): string | undefined {
  // Every key of a state is checked when the state is read: one scan, no allocation, for
  // the common case (ASCII and valid). Anything else takes the rules below in order, so
  // a key with several faults reports the first of them.
  if (plainValidKey(key)) return undefined;
  return keyProblemInOrder(key);
}

/**
 * True when `key` is ASCII, at most {@link MAX_KEY_BYTES} long, and valid: no NUL, no
 * leading `/`, no empty, `.` or `..` segment, first segment not `.pvr` or `.pv`. False
 * says nothing (the full rules decide).
 */
function plainValidKey(key: string): boolean {
  const n = key.length;
  if (n === 0 || n > MAX_KEY_BYTES) return false;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? key.charCodeAt(i) : 0x2f;
    if (c !== 0x2f) {
      if (c === 0 || c >= 0x80) return false;
      continue;
    }
    const len = i - start;
    if (len === 0) return false; // empty segment (or a leading slash)
    if (key.charCodeAt(start) === 0x2e) { // ".", "..", ".pv", ".pvr"
      if (len === 1 || (len === 2 && key.charCodeAt(start + 1) === 0x2e)) return false;
      if (start === 0 && isReservedTop(key.slice(0, i))) return false;
    }
    start = i + 1;
  }
  return true;
}

/** The full rules, in order (exported for the tests that hold the fast scan to them). */
export function keyProblemInOrder(key: string): string | undefined {
  if (key === SPEC_KEY) return undefined;
  if (key === "") return "empty";
  if (key.charCodeAt(0) === 0x2f) return "absolute path";
  if (key.includes("\0")) return "contains NUL";
  if (key.length * 3 > MAX_KEY_BYTES && utf8Length(key) > MAX_KEY_BYTES) {
    return `longer than ${MAX_KEY_BYTES} bytes`;
  }
  if (!key.isWellFormed()) return "not valid Unicode";
  const segments = key.split("/");
  for (const seg of segments) {
    if (seg === "") return "empty path segment";
    if (seg === "." || seg === "..") return `"${seg}" path segment`;
  }
  if (isReservedTop(segments[0])) return `inside ${segments[0]}/`;
  return undefined;
}

/**
 * True for a walk path (relative, slash-separated) that the working-state walk skips:
 * `.pvr` and `.pv` and everything under them. Exact segment match, so `.pvrignore`
 * and `.pvfoo` are ordinary files (deliberate difference from the Go pvr, which used
 * a string prefix).
 */
export function isIgnoredWalkPath(rel: string): boolean {
  const slash = rel.indexOf("/");
  return isReservedTop(slash < 0 ? rel : rel.slice(0, slash));
}

function isReservedTop(segment: string): boolean {
  return segment === ".pvr" || segment === ".pv";
}

/**
 * Joins path segments with `/`, dropping empty segments and stray slashes:
 * `joinKey("a/", "/b", "", "c")` is `"a/b/c"`. Does not validate.
 */
export function joinKey(...segments: string[]): string {
  const parts: string[] = [];
  for (const seg of segments) {
    for (const p of seg.split("/")) {
      if (p !== "") parts.push(p);
    }
  }
  return parts.join("/");
}

/** The directory part of a key: `parentKey("a/b/c")` is `"a/b"`, `parentKey("a")` is `""`. */
export function parentKey(key: string): string {
  const slash = key.lastIndexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

/** The length of `s` in UTF-8 bytes. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
