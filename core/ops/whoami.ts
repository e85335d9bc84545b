/**
 * `pvr whoami` (spec pvr-reference §8.2): who each saved Pantahub login is.
 *
 * @module
 */

import { z } from "zod";
import { isPvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { authEndpointOfKey, isAnonKey } from "../remote/pantahub/token_store.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** Options of {@link whoami}. */
export type WhoamiOptions = PantahubOptions;

/** One login. */
export interface WhoamiAccount {
  /** The auth endpoint (`https://api.pantahub.com/auth`). */
  authEndpoint: string;
  /** The `auth.json` key; absent for a `-a` token. */
  key?: string;
  nick?: string;
  prn?: string;
  /** `USER`, `DEVICE`… */
  type?: string;
  /** Why the login could not be checked (expired, refused, unreachable). */
  error?: string;
}

/** What {@link whoami} found. */
export interface WhoamiResult {
  accounts: WhoamiAccount[];
}

const Status = z.looseObject({
  nick: z.string().optional(),
  prn: z.string().optional(),
  type: z.string().optional(),
});

/**
 * For each user token in `auth.json` (anonymous ones left out), asks
 * `GET <auth endpoint>/auth_status` who it is. With `accessToken`, asks once about that
 * token at `<baseUrl>/auth/auth_status`. Never prompts and never logs in anonymously: a
 * token the server refuses is reported in `error`. No tokens → no accounts.
 *
 * Permissions: net, read (and write, when a token is refreshed) of the config dir.
 *
 * @example
 * ```ts
 * for (const a of (await whoami({ configDir })).accounts) console.log(a.nick, a.authEndpoint);
 * ```
 */
export async function whoami(opts: WhoamiOptions): Promise<WhoamiResult> {
  const session = sessionOf(opts);
  const targets: { authEndpoint: string; key?: string }[] = [];
  if (session.hasFixedToken) {
    targets.push({ authEndpoint: `${baseUrlOf(opts)}/auth` });
  } else {
    for (const key of await session.tokens.keys()) {
      if (!isAnonKey(key)) targets.push({ authEndpoint: authEndpointOfKey(key), key });
    }
  }
  const accounts: WhoamiAccount[] = [];
  for (const t of targets) {
    const url = `${t.authEndpoint}/auth_status`;
    try {
      const res = await session.call({ method: "GET", url, anonymous: false, prompt: false });
      if (res.status !== 200) throw await replyFailure(res, `GET ${url}`);
      const s = await readJsonReply(res, Status, `GET ${url}`);
      accounts.push({ ...t, nick: s.nick, prn: s.prn, type: s.type });
    } catch (err) {
      if (!isPvrError(err)) throw err;
      accounts.push({
        ...t,
        error: err.code === "AUTH" ? "not logged in (the saved token was refused)" : err.message,
      });
    }
  }
  return { accounts };
}
