/**
 * Options shared by the Pantahub account and device operations, and the session they
 * build from them.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { HttpClient } from "../remote/http.ts";
import type { Prompter } from "../remote/pantahub/prompt.ts";
import { PantahubSession } from "../remote/pantahub/session.ts";

/** The default Pantahub API (`--baseurl`). */
export const DEFAULT_BASE_URL = "https://api.pantahub.com";

/** What every Pantahub operation takes. */
export interface PantahubOptions {
  /** The global config dir (`auth.json` lives there). */
  configDir: string;
  /** The Pantahub API base URL (default `https://api.pantahub.com`). */
  baseUrl?: string;
  /** A token sent on every call and never replaced (`-a`/`PVR_ACCESSTOKEN`). */
  accessToken?: string;
  /** Who to ask for credentials (default nobody: a needed login is an `AUTH` error). */
  prompter?: Prompter | null;
  /**
   * A session to use (it keeps the tokens it obtained between operations). When given,
   * `accessToken`, `prompter`, `fetch` and `now` are its own and ignored here.
   */
  session?: PantahubSession;
  /** The `fetch` to use (tests). */
  fetch?: typeof fetch;
  /** The clock in Unix ms (token expiry; logs). Default `Date.now`. */
  now?: () => number;
}

/** The session of `opts`: the given one, or a new one from the options. */
export function sessionOf(opts: PantahubOptions): PantahubSession {
  return opts.session ?? new PantahubSession({
    configDir: opts.configDir,
    accessToken: opts.accessToken,
    prompter: opts.prompter ?? null,
    http: new HttpClient({ fetch: opts.fetch, now: opts.now }),
    now: opts.now,
  });
}

/** The base URL without trailing slashes; `USAGE` unless it is an http(s) URL. */
export function baseUrlOf(opts: PantahubOptions): string {
  const raw = (opts.baseUrl || DEFAULT_BASE_URL).replace(/\/+$/, "");
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new PvrError("USAGE", `--baseurl is not a URL: ${raw}`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new PvrError("USAGE", `--baseurl must be an http or https URL: ${raw}`);
  }
  return raw;
}

/** One path segment, percent-encoded (a nick or id from the user). */
export function segment(s: string): string {
  return encodeURIComponent(s);
}
