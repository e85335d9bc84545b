/**
 * The seam between Pantahub authentication (session.ts: the WWW-Authenticate / ph-aeps
 * login flow, tokens in `auth.json`) and everything that talks to Pantahub (transfers,
 * device and account commands): they only ever send requests through a
 * {@link PantahubCaller}.
 *
 * @module
 */

/** One request to a Pantahub API endpoint. */
export interface PantahubRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Absolute URL (query included; never logged with its query string). */
  url: string;
  /** A JSON body (sent as `application/json; charset=utf-8`, Go-compatible encoding). */
  json?: unknown;
  /** A raw body (e.g. the canonical JSON of a posted step). */
  body?: Uint8Array | string;
  /** Extra headers. */
  headers?: Record<string, string>;
  /**
   * May the session fall back to an anonymous token on a 401 (spec pvr-reference §7.2
   * lists which calls allow it)?
   */
  anonymous: boolean;
  /**
   * May the session ask a person for credentials on this call (default true; only
   * when it has a terminal)? `whoami` says false: it reports, it never logs in.
   */
  prompt?: boolean;
  /**
   * What a 403 the session cannot cure becomes: `deny` (default) throws `AUTH` "access
   * denied"; `return` hands the response to the caller (a log cursor that expired, a
   * claim challenge that does not match).
   */
  forbidden?: "deny" | "return";
}

/** Sends requests with whatever authorisation the session has or obtains. */
export interface PantahubCaller {
  /**
   * Sends the request; on 401 runs the login flow (cached token, refresh, anonymous if
   * allowed, interactive prompt if a terminal is present) a bounded number of times,
   * then returns the final response. Transport errors, 429, 502, 503 and 504 are
   * retried with backoff (500 too for idempotent methods). Throws `AUTH` when login is
   * needed and impossible (no terminal, no token, a rejected `-a` token) and on a 403
   * it cannot cure (see {@link PantahubRequest.forbidden}), `REMOTE` on transport
   * failure after the retries.
   */
  call(req: PantahubRequest): Promise<Response>;
}
