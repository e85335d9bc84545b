/**
 * Wire helpers of the stand-in Pantahub: the three JSON encodings of pantahub-base
 * (spec pantahub-api.md §1.1), the error body shapes (§1.5), Go time formatting (§1.4)
 * and request-body decoding with Go's "400 on undecodable" habit.
 *
 * @module
 */

import { canonicalJson } from "../../../core/model/canonical.ts";
import { parseJson } from "../../../core/model/json_parse.ts";
import { fromPlain, type JsonValue } from "../../../core/model/json_value.ts";

/**
 * How an app writes JSON: `plain` is Go `encoding/json` (compact, HTML-escaped),
 * `pretty` is the auth app's indented form, `canonical` is the trails app's gibson042
 * canonical JSON (with the `PhJsonFormat` header).
 */
export type Encoding = "plain" | "pretty" | "canonical";

/**
 * The `Content-Type` of every JSON answer.
 *
 * open question §12.5: the exact go-json-rest v3.3.2 value was not confirmed; we send
 * `application/json; charset=utf-8`, what Go JSON servers usually send.
 */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Serialises like Go's `encoding/json`: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function goJson(value: unknown, indent = false): string {
  const text = JSON.stringify(value, null, indent ? 2 : undefined) ?? "null";
  // Outside strings JSON text never holds these characters, so a global replace is safe.
  return text.replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/** Encodes `value` in the given encoding. Plain objects may hold lossless JSON values. */
export function encodeJson(value: unknown, encoding: Encoding): string {
  if (encoding === "canonical") return canonicalJson(fromPlain(value));
  return goJson(value, encoding === "pretty");
}

/** A JSON response in one of the app encodings, with go-json-rest's headers. */
export function jsonResponse(
  status: number,
  value: unknown,
  encoding: Encoding,
  headers?: HeadersInit,
): Response {
  const h = new Headers(headers);
  h.set("Content-Type", JSON_CONTENT_TYPE);
  h.set("X-Powered-By", "go-json-rest");
  if (encoding === "canonical") h.set("PhJsonFormat", "gibson042-canonicaljson");
  return new Response(encodeJson(value, encoding), { status, headers: h });
}

/**
 * Name of the non-standard response header that carries the descriptive error text,
 * which pantahub-base writes only to its own log.
 *
 * open question §12.9: the body keeps the real shape `{"error":"REST-ERR-ID-…","code":N}`;
 * the reason travels in this extra header (and in the request log) so tests can assert
 * on it without changing the body.
 */
export const REASON_HEADER = "X-Hub-Reason";

/**
 * An error a handler throws; the app turns it into a response in its own encoding.
 *
 * `shape: "app"` is `{"error":"REST-ERR-ID-<nanos>","msg"?,"code"}` (§1.5 shape 1);
 * `shape: "framework"` is `{"Error":"<text>"}` (shape 2); `shape: "empty"` is a bare
 * status (the local blob driver); `shape: "text"` is Go's plain-text file server body.
 */
export class HubError extends Error {
  readonly status: number;
  readonly shape: "app" | "framework" | "empty" | "text";
  /**
   * The user-facing `msg` of shape 1 (only the few the real server exposes), or the
   * `Error` text of shape 2 (defaults to the reason).
   */
  readonly msg?: string;
  readonly headers: Headers;

  constructor(
    status: number,
    reason: string,
    opts: {
      shape?: "app" | "framework" | "empty" | "text";
      msg?: string;
      headers?: HeadersInit;
    } = {},
  ) {
    super(reason);
    this.name = "HubError";
    this.status = status;
    this.shape = opts.shape ?? "app";
    this.msg = opts.msg;
    this.headers = new Headers(opts.headers);
  }
}

/** Shorthand for a shape-1 application error. */
export function appError(status: number, reason: string, msg?: string): HubError {
  return new HubError(status, reason, { msg });
}

let incident = 0;

/** Renders a {@link HubError} in an app's encoding. `nowMs` gives the incident id. */
export function errorResponse(err: HubError, encoding: Encoding, nowMs: number): Response {
  const headers = new Headers(err.headers);
  headers.set(REASON_HEADER, headerSafe(err.message));
  if (err.shape === "empty") return new Response(null, { status: err.status, headers });
  if (err.shape === "text") {
    headers.set("Content-Type", "text/plain; charset=utf-8");
    headers.set("X-Content-Type-Options", "nosniff");
    return new Response(`${err.message}\n`, { status: err.status, headers });
  }
  if (err.shape === "framework") {
    return jsonResponse(err.status, { Error: err.msg ?? err.message }, encoding, headers);
  }
  // Unix nanoseconds; a counter keeps ids of one millisecond distinct.
  const nanos = BigInt(Math.floor(nowMs)) * 1_000_000n + BigInt(incident++ % 1_000_000);
  const body: Record<string, unknown> = { error: `REST-ERR-ID-${nanos}` };
  if (err.msg !== undefined) body.msg = err.msg;
  body.code = err.status;
  return jsonResponse(err.status, body, encoding, headers);
}

/** Makes a text usable as a header value (no control characters, bounded length). */
export function headerSafe(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, 500);
}

/** Go's zero `time.Time` as serialised by `encoding/json`. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * A time as Go writes a value read back from MongoDB: RFC 3339 in UTC, millisecond
 * precision, trailing fractional zeros dropped (`RFC3339Nano`). `undefined` is the zero
 * time.
 */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return ZERO_TIME;
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.600Z
  return iso.replace(/\.?0+Z$/, "Z");
}

/** Reads the whole request body as bytes (empty when there is none). */
export async function readBody(req: Request): Promise<Uint8Array> {
  if (req.body === null) return new Uint8Array();
  return new Uint8Array(await req.arrayBuffer());
}

/** Decodes a JSON body into plain JS values; undecodable text is a 400 (Go's habit). */
export async function readPlainJson(req: Request): Promise<unknown> {
  const bytes = await readBody(req);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw appError(400, `Error decoding body: ${(err as Error).message}`);
  }
}

/**
 * Decodes a JSON body losslessly (numbers keep their text, objects are `Map`s), for
 * documents holding states. An empty body decodes to `undefined`.
 */
export async function readLosslessJson(req: Request): Promise<JsonValue | undefined> {
  const bytes = await readBody(req);
  if (bytes.length === 0) return undefined;
  try {
    return parseJson(bytes, "request body");
  } catch (err) {
    throw appError(400, `Error decoding body: ${(err as Error).message}`);
  }
}

/** True for a plain (non-array, non-null) JS object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
