/**
 * The original hand-written JSON parser, kept unchanged as the reference that the
 * differential test (`tests/unit/model/json_parse_diff.test.ts`) compares
 * `core/model/json_parse.ts` against: same values, same errors, for every input.
 *
 * A straightforward `charCodeAt` loop with an explicit stack: slower, but simple
 * enough to trust as the oracle. Do not optimise this copy.
 *
 * @module
 */

import { PvrError } from "../../core/errors.ts";
import { JsonNumber, type JsonObject, type JsonValue } from "../../core/model/json_value.ts";

/**
 * The deepest nesting of arrays and objects accepted by {@link parseJsonReference}.
 *
 * Lower than Go's 10,000 on purpose: every other model function (canonical writer,
 * merge patch, equality) recurses once per level, and 1,000 levels keep them far
 * from the JavaScript stack limit. Real states nest fewer than 20 levels.
 */
export const REFERENCE_MAX_JSON_DEPTH = 1000;

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
 * Parses a JSON text into a lossless {@link JsonValue}.
 *
 * * `Uint8Array` input must be valid UTF-8; a byte order mark is rejected (as Go does).
 * * Numbers keep their exact source text; objects are `Map`s (duplicate key: last wins).
 * * String escapes are all decoded; a lone surrogate escape such as `\ud800` stays a
 *   lone UTF-16 code unit.
 * * Only whitespace may follow the value; nesting deeper than {@link REFERENCE_MAX_JSON_DEPTH}
 *   is refused.
 *
 * @param text the JSON text or its UTF-8 bytes
 * @param source what the text is (a path), used in error messages
 * @throws {PvrError} `BAD_JSON` with `<source>: <what> at line L column C`
 * @example
 * ```ts
 * const v = parseJsonReference('{"b": 1.50}', "c.json"); // Map { "b" => JsonNumber("1.50") }
 * ```
 */
export function parseJsonReference(text: string | Uint8Array, source = "JSON"): JsonValue {
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
  return new Parser(src, source).parseDocument();
}

/** One open array or object on the parser's stack. */
interface Frame {
  /** The container being filled. */
  readonly value: JsonValue[] | JsonObject;
  /** The key whose value is being parsed (objects only). */
  key: string;
}

class Parser {
  private readonly src: string;
  private readonly source: string;
  private pos = 0;

  constructor(src: string, source: string) {
    this.src = src;
    this.source = source;
  }

  parseDocument(): JsonValue {
    const src = this.src;
    const stack: Frame[] = [];
    let value: JsonValue;
    // Each turn of the outer loop parses one value, then the inner loop attaches it to
    // the open containers (closing as many as the text closes).
    for (;;) {
      this.skipSpace();
      const c = src.charCodeAt(this.pos);
      if (c === LBRACE || c === LBRACKET) {
        if (stack.length >= REFERENCE_MAX_JSON_DEPTH) {
          throw this.fail(`nesting deeper than ${REFERENCE_MAX_JSON_DEPTH} levels`);
        }
        this.pos++;
        this.skipSpace();
        const close = c === LBRACE ? RBRACE : RBRACKET;
        if (src.charCodeAt(this.pos) === close) {
          this.pos++;
          value = c === LBRACE ? new Map() : [];
        } else {
          if (c === LBRACE) {
            stack.push({ value: new Map(), key: this.parseKey() });
          } else {
            stack.push({ value: [], key: "" });
          }
          continue;
        }
      } else {
        value = this.parseScalar(c);
      }
      // Attach `value` to the innermost open container; close containers as needed.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.skipSpace();
          if (this.pos < src.length) throw this.unexpected("after the top-level value");
          return value;
        }
        const container = top.value;
        if (Array.isArray(container)) container.push(value);
        else container.set(top.key, value);
        this.skipSpace();
        const d = src.charCodeAt(this.pos);
        if (d === COMMA) {
          this.pos++;
          if (!Array.isArray(container)) {
            this.skipSpace();
            top.key = this.parseKey();
          }
          break;
        }
        if (d === (Array.isArray(container) ? RBRACKET : RBRACE)) {
          this.pos++;
          stack.pop();
          value = container;
          continue;
        }
        throw this.unexpected(
          Array.isArray(container) ? "after an array element" : "after an object member",
        );
      }
    }
  }

  /** Parses `"key" :` (the position is at the opening quote). */
  private parseKey(): string {
    if (this.src.charCodeAt(this.pos) !== QUOTE) throw this.unexpected("where a key was expected");
    const key = this.parseString();
    this.skipSpace();
    if (this.src.charCodeAt(this.pos) !== COLON) throw this.unexpected("after an object key");
    this.pos++;
    return key;
  }

  private parseScalar(c: number): JsonValue {
    if (c === QUOTE) return this.parseString();
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.parseNumber();
    if (c === 0x74) return this.parseLiteral("true", true);
    if (c === 0x66) return this.parseLiteral("false", false);
    if (c === 0x6e) return this.parseLiteral("null", null);
    throw this.unexpected("where a value was expected");
  }

  private parseLiteral<T extends JsonValue>(word: string, value: T): T {
    if (!this.src.startsWith(word, this.pos)) {
      // Point at the first character that differs.
      let i = 1;
      while (this.src.charCodeAt(this.pos + i) === word.charCodeAt(i)) i++;
      this.pos += i;
      throw this.unexpected(`in literal ${word}`);
    }
    this.pos += word.length;
    return value;
  }

  private parseNumber(): JsonNumber {
    const src = this.src;
    const start = this.pos;
    let i = start;
    if (src.charCodeAt(i) === MINUS) i++;
    let c = src.charCodeAt(i);
    if (c === ZERO) {
      i++;
      c = src.charCodeAt(i);
      if (c >= ZERO && c <= NINE) {
        this.pos = i;
        throw this.fail("leading zero in number");
      }
    } else if (c >= ZERO && c <= NINE) {
      i = this.skipDigits(i);
    } else {
      this.pos = i;
      throw this.unexpected("in number (digit expected)");
    }
    if (src.charCodeAt(i) === DOT) {
      const j = this.skipDigits(i + 1);
      if (j === i + 1) {
        this.pos = j;
        throw this.unexpected("in number (digit expected after '.')");
      }
      i = j;
    }
    c = src.charCodeAt(i);
    if (c === LOWER_E || c === UPPER_E) {
      i++;
      c = src.charCodeAt(i);
      if (c === PLUS || c === MINUS) i++;
      const j = this.skipDigits(i);
      if (j === i) {
        this.pos = j;
        throw this.unexpected("in number (digit expected in exponent)");
      }
      i = j;
    }
    this.pos = i;
    return new JsonNumber(src.slice(start, i));
  }

  private skipDigits(i: number): number {
    const src = this.src;
    for (;;) {
      const c = src.charCodeAt(i);
      if (c < ZERO || c > NINE || c !== c) return i; // `c !== c`: NaN at the end
      i++;
    }
  }

  /** Parses a string (the position is at the opening quote). */
  private parseString(): string {
    const src = this.src;
    const len = src.length;
    let i = this.pos + 1;
    let start = i;
    let out = "";
    for (;;) {
      if (i >= len) {
        this.pos = i;
        throw this.fail("unterminated string");
      }
      const c = src.charCodeAt(i);
      if (c === QUOTE) {
        this.pos = i + 1;
        return out + src.slice(start, i);
      }
      if (c === BACKSLASH) {
        out += src.slice(start, i);
        i = this.parseEscape(i);
        out += this.escaped;
        start = i;
        continue;
      }
      if (c < SPACE) {
        this.pos = i;
        throw this.unexpected("in string (control characters must be escaped)");
      }
      i++;
    }
  }

  /** The text of the escape sequence decoded by the last {@link parseEscape} call. */
  private escaped = "";

  /** Decodes the escape at `i` (a backslash) into `this.escaped`; returns the next index. */
  private parseEscape(i: number): number {
    const c = this.src.charCodeAt(i + 1);
    switch (c) {
      case QUOTE:
        this.escaped = '"';
        return i + 2;
      case BACKSLASH:
        this.escaped = "\\";
        return i + 2;
      case 0x2f: // '/'
        this.escaped = "/";
        return i + 2;
      case 0x62: // 'b'
        this.escaped = "\b";
        return i + 2;
      case 0x66: // 'f'
        this.escaped = "\f";
        return i + 2;
      case 0x6e: // 'n'
        this.escaped = "\n";
        return i + 2;
      case 0x72: // 'r'
        this.escaped = "\r";
        return i + 2;
      case 0x74: // 't'
        this.escaped = "\t";
        return i + 2;
      case 0x75: { // 'u'
        let code = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = hexValue(this.src.charCodeAt(k));
          if (h < 0) {
            this.pos = k;
            throw this.unexpected("in \\u escape (hex digit expected)");
          }
          code = code * 16 + h;
        }
        // Surrogate pairs written as two escapes join naturally in a UTF-16 string;
        // a lone surrogate stays a lone code unit.
        this.escaped = String.fromCharCode(code);
        return i + 6;
      }
      default:
        this.pos = i + 1;
        throw this.unexpected("in string escape");
    }
  }

  private skipSpace(): void {
    const src = this.src;
    let i = this.pos;
    for (;;) {
      const c = src.charCodeAt(i);
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      i++;
    }
    this.pos = i;
  }

  /** An error about the character at the current position (or the end of input). */
  private unexpected(where: string): PvrError {
    if (this.pos >= this.src.length) return this.fail("unexpected end of input");
    const cp = this.src.codePointAt(this.pos) ?? 0;
    return this.fail(`unexpected character ${describeChar(cp)} ${where}`);
  }

  private fail(what: string): PvrError {
    const { line, column } = lineAndColumn(this.src, this.pos);
    return new PvrError("BAD_JSON", `${this.source}: ${what} at line ${line} column ${column}`);
  }
}

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const l = c | 0x20; // lower case
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
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
