/**
 * A strict RFC 8259 JSON parser that keeps numbers as their exact text.
 *
 * Written by hand because `JSON.parse` turns every number into a float64 (so
 * `12345678901234567891` and `1.50` lose their text) and turns objects into records
 * (where `__proto__` is special and integer-like keys are moved to the front). Here
 * numbers become {@link JsonNumber} with the source text and objects become `Map`s
 * in source order; a duplicate key keeps the last value, as Go's decoder does.
 *
 * The parser is iterative (an explicit stack, no recursion) and makes a single pass
 * over the text. States are mostly long strings, so string bodies are matched by
 * sticky regular expressions (native code from the first call, where a `charCodeAt`
 * loop would run in the interpreter until the JIT warms up): a string without escapes
 * is sliced directly, a well-formed string with escapes is decoded by `JSON.parse` of
 * its literal. A string the expressions do not accept is read again one character at
 * a time, which finds and reports its first bad character. The reference parser this
 * one replaced (`tests/support/json_parse_reference.ts`) is the oracle of a
 * differential test: same values and same errors for every input.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { JsonNumber, type JsonObject, type JsonValue } from "./json_value.ts";

/**
 * The deepest nesting of arrays and objects accepted by {@link parseJson}.
 *
 * Lower than Go's 10,000 on purpose: every other model function (canonical writer,
 * merge patch, equality) recurses once per level, and 1,000 levels keep them far
 * from the JavaScript stack limit. Real states nest fewer than 20 levels.
 */
export const MAX_JSON_DEPTH = 1000;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const PLUS = 0x2b;
const COMMA = 0x2c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const COLON = 0x3a;
const UPPER_E = 0x45;
const LBRACKET = 0x5b;
const BACKSLASH = 0x5c;
const RBRACKET = 0x5d;
const LOWER_E = 0x65;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

/**
 * The rest of a string that has no escapes, closing quote included (from just after
 * the opening quote). Without the `u` flag a lone surrogate is an ordinary code unit.
 */
// deno-lint-ignore no-control-regex
const PLAIN_STRING_TAIL = /[^"\\\x00-\x1f]*"/y;

/**
 * The rest of a well-formed string with escapes, closing quote included. Written as
 * "plain run, then (escape, plain run)*" so that every text has one way to match: a
 * failed match backtracks in linear time.
 */
const ESCAPED_STRING_TAIL =
  // deno-lint-ignore no-control-regex
  /[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})[^"\\\x00-\x1f]*)*"/y;

/**
 * Parses a JSON text into a lossless {@link JsonValue}.
 *
 * * `Uint8Array` input must be valid UTF-8; a byte order mark is rejected (as Go does).
 * * Numbers keep their exact source text; objects are `Map`s (duplicate key: last wins).
 * * String escapes are all decoded; a lone surrogate escape such as `\ud800` stays a
 *   lone UTF-16 code unit.
 * * Only whitespace may follow the value; nesting deeper than {@link MAX_JSON_DEPTH}
 *   is refused.
 *
 * @param text the JSON text or its UTF-8 bytes
 * @param source what the text is (a path), used in error messages
 * @throws {PvrError} `BAD_JSON` with `<source>: <what> at line L column C`
 * @example
 * ```ts
 * const v = parseJson('{"b": 1.50}', "c.json"); // Map { "b" => JsonNumber("1.50") }
 * ```
 */
export function parseJson(text: string | Uint8Array, source = "JSON"): JsonValue {
  let src: string;
  if (typeof text === "string") {
    src = text;
  } else {
    try {
      src = utf8.decode(text);
    } catch (err) {
      throw new PvrError("BAD_JSON", `${source}: invalid UTF-8`, { cause: err });
    }
  }
  return parseDocument(src, source);
}

/**
 * The index just after the string or number read by the last {@link readString} or
 * {@link readNumber} call (a second return value that costs no allocation).
 */
let tokenEnd = 0;

/**
 * The parser proper. Written as one loop with the common cases inline (a string
 * without escapes, a compact `"key":`) because a state is tens of thousands of short
 * tokens and the first parse of a command runs before the JIT has optimised anything:
 * fewer calls and fewer bytecodes per token is what makes that first parse fast.
 */
function parseDocument(src: string, source: string): JsonValue {
  // The innermost open container is `current` (null at the top level); the ones
  // around it are on `outer`, with the key each was waiting on in `outerKeys`.
  const outer: (JsonValue[] | JsonObject)[] = [];
  const outerKeys: string[] = [];
  let current: JsonValue[] | JsonObject | null = null;
  let inArray = false;
  let key = "";
  let wantKey = false;
  let pos = 0;
  let value: JsonValue;
  // Each turn of the outer loop parses one value (preceded by its key inside an
  // object), then the inner loop attaches it to the open containers, closing as many
  // as the text closes.
  for (;;) {
    let c = src.charCodeAt(pos);
    if (c <= SPACE) c = src.charCodeAt(pos = skipSpace(src, pos));
    if (wantKey) {
      wantKey = false;
      if (c !== QUOTE) throw unexpected(src, pos, source, "where a key was expected");
      PLAIN_STRING_TAIL.lastIndex = pos + 1;
      if (PLAIN_STRING_TAIL.test(src)) {
        const end = PLAIN_STRING_TAIL.lastIndex;
        key = src.slice(pos + 1, end - 1);
        pos = end;
      } else {
        key = readString(src, pos, source);
        pos = tokenEnd;
      }
      c = src.charCodeAt(pos);
      if (c <= SPACE) c = src.charCodeAt(pos = skipSpace(src, pos));
      if (c !== COLON) throw unexpected(src, pos, source, "after an object key");
      c = src.charCodeAt(++pos);
      if (c <= SPACE) c = src.charCodeAt(pos = skipSpace(src, pos));
    }
    if (c === QUOTE) {
      PLAIN_STRING_TAIL.lastIndex = pos + 1;
      if (PLAIN_STRING_TAIL.test(src)) {
        const end = PLAIN_STRING_TAIL.lastIndex;
        value = src.slice(pos + 1, end - 1);
        pos = end;
      } else {
        value = readString(src, pos, source);
        pos = tokenEnd;
      }
    } else if (c === LBRACE || c === LBRACKET) {
      if (outer.length + (current === null ? 0 : 1) >= MAX_JSON_DEPTH) {
        throw fail(src, pos, source, `nesting deeper than ${MAX_JSON_DEPTH} levels`);
      }
      pos = skipSpace(src, pos + 1);
      const d = src.charCodeAt(pos);
      if (c === LBRACE && d === RBRACE) {
        pos++;
        value = new Map();
      } else if (c === LBRACKET && d === RBRACKET) {
        pos++;
        value = [];
      } else {
        if (current !== null) {
          outer.push(current);
          outerKeys.push(key);
        }
        inArray = c === LBRACKET;
        current = inArray ? [] : new Map();
        wantKey = !inArray;
        continue;
      }
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      value = readNumber(src, pos, source);
      pos = tokenEnd;
    } else if (c === 0x74) {
      pos = readLiteral(src, pos, source, "true");
      value = true;
    } else if (c === 0x66) {
      pos = readLiteral(src, pos, source, "false");
      value = false;
    } else if (c === 0x6e) {
      pos = readLiteral(src, pos, source, "null");
      value = null;
    } else {
      throw unexpected(src, pos, source, "where a value was expected");
    }
    // Attach `value` to the innermost open container; close containers as needed.
    for (;;) {
      if (current === null) {
        pos = skipSpace(src, pos);
        if (pos < src.length) throw unexpected(src, pos, source, "after the top-level value");
        return value;
      }
      let d = src.charCodeAt(pos);
      if (d <= SPACE) d = src.charCodeAt(pos = skipSpace(src, pos));
      if (inArray) {
        (current as JsonValue[]).push(value);
        if (d === COMMA) {
          pos++;
          break;
        }
        if (d !== RBRACKET) throw unexpected(src, pos, source, "after an array element");
      } else {
        (current as JsonObject).set(key, value);
        if (d === COMMA) {
          pos++;
          wantKey = true;
          break;
        }
        if (d !== RBRACE) throw unexpected(src, pos, source, "after an object member");
      }
      // Close the current container: it is the value to attach to the one around it.
      pos++;
      value = current;
      current = outer.pop() ?? null;
      key = outerKeys.pop() ?? "";
      inArray = Array.isArray(current);
    }
  }
}

/** The index of the first non-whitespace character at or after `pos`. */
function skipSpace(src: string, pos: number): number {
  let c = src.charCodeAt(pos);
  while (c === SPACE || c === LF || c === CR || c === TAB) c = src.charCodeAt(++pos);
  return pos;
}

/**
 * Reads the string at `pos` (the opening quote) that {@link PLAIN_STRING_TAIL} did not
 * match (it has escapes, or it is malformed); sets {@link tokenEnd}.
 */
function readString(src: string, pos: number, source: string): string {
  ESCAPED_STRING_TAIL.lastIndex = pos + 1;
  if (ESCAPED_STRING_TAIL.test(src)) {
    const end = ESCAPED_STRING_TAIL.lastIndex;
    tokenEnd = end;
    // A well-formed literal: `JSON.parse` decodes its escapes exactly as JSON defines
    // them, lone surrogate escapes included.
    return JSON.parse(src.slice(pos, end));
  }
  return readStringSlowly(src, pos, source);
}

/**
 * Reads the string at `pos` one character at a time: the path of malformed strings,
 * which throws the error for the first bad character.
 */
function readStringSlowly(src: string, pos: number, source: string): string {
  const len = src.length;
  let i = pos + 1;
  let start = i;
  let out = "";
  for (;;) {
    if (i >= len) throw fail(src, i, source, "unterminated string");
    const c = src.charCodeAt(i);
    if (c === QUOTE) {
      tokenEnd = i + 1;
      return out + src.slice(start, i);
    }
    if (c === BACKSLASH) {
      out += src.slice(start, i) + readEscape(src, i, source);
      i += src.charCodeAt(i + 1) === 0x75 ? 6 : 2;
      start = i;
      continue;
    }
    if (c < SPACE) {
      throw unexpected(src, i, source, "in string (control characters must be escaped)");
    }
    i++;
  }
}

/** Decodes the escape at `i` (a backslash): 2 characters long, or 6 for `\uXXXX`. */
function readEscape(src: string, i: number, source: string): string {
  const c = src.charCodeAt(i + 1);
  switch (c) {
    case QUOTE:
      return '"';
    case BACKSLASH:
      return "\\";
    case 0x2f: // '/'
      return "/";
    case 0x62: // 'b'
      return "\b";
    case 0x66: // 'f'
      return "\f";
    case 0x6e: // 'n'
      return "\n";
    case 0x72: // 'r'
      return "\r";
    case 0x74: // 't'
      return "\t";
    case 0x75: { // 'u'
      let code = 0;
      for (let k = i + 2; k < i + 6; k++) {
        const h = hexValue(src.charCodeAt(k));
        if (h < 0) throw unexpected(src, k, source, "in \\u escape (hex digit expected)");
        code = code * 16 + h;
      }
      // Surrogate pairs written as two escapes join naturally in a UTF-16 string;
      // a lone surrogate stays a lone code unit.
      return String.fromCharCode(code);
    }
    default:
      throw unexpected(src, i + 1, source, "in string escape");
  }
}

/** Reads the number at `pos` (a minus sign or a digit); sets {@link tokenEnd}. */
function readNumber(src: string, pos: number, source: string): JsonNumber {
  let i = pos;
  if (src.charCodeAt(i) === MINUS) i++;
  let c = src.charCodeAt(i);
  if (c === ZERO) {
    i++;
    c = src.charCodeAt(i);
    if (c >= ZERO && c <= NINE) throw fail(src, i, source, "leading zero in number");
  } else if (c >= ZERO && c <= NINE) {
    i = skipDigits(src, i + 1);
  } else {
    throw unexpected(src, i, source, "in number (digit expected)");
  }
  if (src.charCodeAt(i) === DOT) {
    const j = skipDigits(src, i + 1);
    if (j === i + 1) throw unexpected(src, j, source, "in number (digit expected after '.')");
    i = j;
  }
  c = src.charCodeAt(i);
  if (c === LOWER_E || c === UPPER_E) {
    i++;
    c = src.charCodeAt(i);
    if (c === PLUS || c === MINUS) i++;
    const j = skipDigits(src, i);
    if (j === i) throw unexpected(src, j, source, "in number (digit expected in exponent)");
    i = j;
  }
  tokenEnd = i;
  return new JsonNumber(src.slice(pos, i));
}

/** The index of the first non-digit at or after `i`. */
function skipDigits(src: string, i: number): number {
  for (;;) {
    const c = src.charCodeAt(i);
    if (c < ZERO || c > NINE || c !== c) return i; // `c !== c`: NaN at the end
    i++;
  }
}

/** Reads `word` (true, false or null) at `pos`; returns the index after it. */
function readLiteral(src: string, pos: number, source: string, word: string): number {
  if (!src.startsWith(word, pos)) {
    // Point at the first character that differs.
    let i = 1;
    while (src.charCodeAt(pos + i) === word.charCodeAt(i)) i++;
    throw unexpected(src, pos + i, source, `in literal ${word}`);
  }
  return pos + word.length;
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const l = c | 0x20; // lower case
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** An error about the character at `pos` (or the end of input). */
function unexpected(src: string, pos: number, source: string, where: string): PvrError {
  if (pos >= src.length) return fail(src, pos, source, "unexpected end of input");
  const cp = src.codePointAt(pos) ?? 0;
  return fail(src, pos, source, `unexpected character ${describeChar(cp)} ${where}`);
}

function fail(src: string, pos: number, source: string, what: string): PvrError {
  const { line, column } = lineAndColumn(src, pos);
  return new PvrError("BAD_JSON", `${source}: ${what} at line ${line} column ${column}`);
}

/** `'x'` for printable characters, `U+XXXX` otherwise. */
function describeChar(cp: number): string {
  if (cp > 0x20 && cp < 0x7f) return `'${String.fromCharCode(cp)}'`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** 1-based line and column (in code points) of index `pos`; only used for errors. */
function lineAndColumn(src: string, pos: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(pos, src.length);
  for (let i = 0; i < end; i++) {
    if (src.charCodeAt(i) === LF) {
      line++;
      lineStart = i + 1;
    }
  }
  let column = 1;
  for (let i = lineStart; i < end; i++) {
    // The low half of a surrogate pair does not start a new column.
    const c = src.charCodeAt(i);
    const pairTail = c >= 0xdc00 && c <= 0xdfff && i > lineStart &&
      src.charCodeAt(i - 1) >= 0xd800 && src.charCodeAt(i - 1) <= 0xdbff;
    if (!pairTail) column++;
  }
  return { line, column };
}
