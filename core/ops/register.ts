/**
 * `pvr register [url]` (spec pvr-reference §8.3): create a Pantahub account.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { registerAccount } from "../remote/pantahub/session.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** Options of {@link register}. */
export interface RegisterOptions extends PantahubOptions {
  /** The Pantahub to register with (default `baseUrl`); only its origin is used. */
  url?: string;
  email?: string;
  /** The account's nick (3 to 23 characters). */
  username?: string;
  password?: string;
}

/** What {@link register} got back. */
export interface RegisterResult {
  /** `<origin>/auth/accounts`, where the account was posted. */
  endpoint: string;
  /**
   * Where the person finishes the registration (captcha, e-mail confirmation), when
   * the server gives one.
   */
  redirectUri?: string;
  /** The server's answer. */
  reply: Record<string, unknown>;
}

/**
 * Posts `{email, nick, password}` to `<scheme>://<host[:port]>/auth/accounts` (the Go
 * pvr builds `https://host:/auth/accounts` when the URL has no port). Missing fields
 * are asked for when a prompter is given.
 *
 * Permissions: net.
 *
 * @throws {PvrError} `USAGE` for a missing field, `REMOTE` when the server refuses
 *   (e.g. "Email or Nick already in use")
 * @example
 * ```ts
 * const r = await register({ configDir, email: "me@example.com", username: "me", password });
 * console.log(r.redirectUri);
 * ```
 */
export async function register(opts: RegisterOptions): Promise<RegisterResult> {
  const url = opts.url ?? baseUrlOf(opts);
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new PvrError("USAGE", `register: not a URL: ${url}`);
  }
  const session = sessionOf(opts);
  const p = session.prompter;
  let { email = "", username = "", password = "" } = opts;
  if (p && (email === "" || username === "" || password === "")) {
    p.notice(`*** REGISTER @ ${origin} ***`);
    if (email === "") email = await p.input("Email");
    if (username === "") username = await p.input("Username");
    if (password === "") password = await p.password("Password");
  }
  const r = await registerAccount(session.http, url, { email, nick: username, password });
  return { endpoint: `${origin}/auth/accounts`, redirectUri: r.redirectUri, reply: r.reply };
}
