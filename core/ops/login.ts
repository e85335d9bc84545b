/**
 * `pvr login [url]` (spec pvr-reference §8.1): log in to Pantahub and show who you are.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { defaultTokenKey } from "../remote/pantahub/token_store.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** Options of {@link login}. */
export interface LoginOptions extends PantahubOptions {
  /** What to GET once logged in (default `<baseUrl>/auth/auth_status`). */
  url?: string;
}

/** What {@link login} did. */
export interface LoginResult {
  /** The URL that was read. */
  url: string;
  /** Its answer: for `auth_status`, the token's claims (`nick`, `prn`, `type`, `exp`…). */
  reply: unknown;
  /** True when the token came from `accessToken` and was saved in `auth.json`. */
  savedGivenToken: boolean;
}

/**
 * Logs in. As the Go pvr, the cached token of `<scheme>://<host>/auth realm=pantahub
 * services` is ignored (in memory) and `url` is read with anonymous access off, so the
 * credential prompt appears even when a token is cached; the new token is saved in
 * `auth.json`. With `accessToken` (`-a`), that token is checked the same way and, new,
 * saved under that key, so later commands work without `-a`.
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `AUTH` without a prompter and without `accessToken`, or when the
 *   login fails; `REMOTE` when the answer is not JSON
 * @example
 * ```ts
 * const r = await login({ configDir, accessToken: Deno.env.get("PVR_ACCESSTOKEN") });
 * console.log(r.reply);
 * ```
 */
export async function login(opts: LoginOptions): Promise<LoginResult> {
  const base = baseUrlOf(opts);
  const url = opts.url ?? `${base}/auth/auth_status`;
  let key: string;
  try {
    key = defaultTokenKey(url);
  } catch {
    throw new PvrError("USAGE", `login: not a URL: ${url}`);
  }
  const session = sessionOf(opts);
  if (!session.hasFixedToken && !session.canPrompt) {
    throw new PvrError("AUTH", "pvr login needs a terminal to ask for your credentials", {
      hint: "run it in a terminal, or pass a token with -a/PVR_ACCESSTOKEN",
    });
  }
  session.evict(key);
  const res = await session.call({ method: "GET", url, anonymous: false });
  if (res.status !== 200) throw await replyFailure(res, `GET ${url}`, "AUTH");
  const reply = await readJsonReply(res, z.unknown(), `GET ${url}`);
  const savedGivenToken = await session.saveGivenToken(key);
  return { url, reply, savedGivenToken };
}
