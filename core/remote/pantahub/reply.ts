/**
 * Reading Pantahub answers: bounded body text, JSON validated with zod, and the short
 * error a failed answer becomes (the server's `msg` when it gives one, never a secret).
 *
 * @module
 */

import type { z } from "zod";
import { PvrError, type PvrErrorCode } from "../../errors.ts";
import { redact } from "../http.ts";

/** Reads at most `max` bytes of a body as text and discards the rest. */
export async function replyText(res: Response, max = 1 << 20): Promise<string> {
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(Math.min(size, max));
  let off = 0;
  for (const c of chunks) {
    const part = c.subarray(0, all.length - off);
    all.set(part, off);
    off += part.length;
  }
  return new TextDecoder().decode(all);
}

/**
 * The user-facing message of a Pantahub error body: `msg` of the application shape, or
 * `Error` of the framework shape (spec pantahub-api §1.5); `undefined` otherwise. The
 * `REST-ERR-ID-…` incident ids say nothing and are left out.
 */
export function serverMessage(text: string): string | undefined {
  try {
    const doc = JSON.parse(text);
    if (doc === null || typeof doc !== "object") return undefined;
    for (const k of ["msg", "Error", "message"]) {
      const v = (doc as Record<string, unknown>)[k];
      if (typeof v === "string" && v !== "") return v;
    }
  } catch {
    // not JSON: nothing to say
  }
  return undefined;
}

/**
 * `HTTP <status>[: <server message>]` of a failed answer (not redacted). Consumes the
 * body.
 */
export async function statusNote(res: Response): Promise<string> {
  const msg = serverMessage(await replyText(res, 64 * 1024).catch(() => ""));
  return `HTTP ${res.status}${msg ? `: ${msg}` : ""}`;
}

/**
 * The error for a failed answer: `<what> failed (HTTP <status>[: <server message>])`,
 * redacted. Consumes the body.
 */
export async function replyFailure(
  res: Response,
  what: string,
  code: PvrErrorCode = "REMOTE",
): Promise<PvrError> {
  return new PvrError(code, redact(`${what} failed (${await statusNote(res)})`));
}

/**
 * The body of a successful answer parsed as JSON and checked against `schema` (with
 * `raw`, the parsed document itself is returned, its key order kept).
 *
 * @throws {PvrError} `REMOTE` when the body is not JSON or not of the expected shape
 */
export async function readJsonReply<T>(
  res: Response,
  schema: z.ZodType<T>,
  what: string,
  opts: { raw?: boolean } = {},
): Promise<T> {
  const text = await replyText(res);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new PvrError("REMOTE", redact(`${what}: the answer is not JSON`));
  }
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new PvrError(
      "REMOTE",
      redact(`${what}: unexpected answer${where}: ${issue?.message ?? "invalid"}`),
    );
  }
  // `raw`: the document as sent (key order kept), once it is known to fit the schema.
  return opts.raw ? doc as T : parsed.data;
}
