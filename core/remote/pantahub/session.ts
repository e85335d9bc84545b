/**
 * The Pantahub session: every Pantahub API request of pvr goes through
 * {@link PantahubSession.call}, which adds the right token and, when the server says
 * 401 (or a 403 it can cure), obtains one — the `WWW-Authenticate` / `ph-aeps` flow of
 * spec pvr-reference §7.2 and pantahub-api §2.5, done so that it always ends:
 *
 * 1. A token from `-a`/`PVR_ACCESSTOKEN` is sent as it is and never replaced: a 401
 *    or 403 answer to it is an `AUTH` error.
 * 2. Otherwise the first attempt carries the cached token of the auth endpoint the
 *    request's origin is known (or, for Pantahub, `<origin>/auth`) to use — refreshed
 *    first when it expires within 5 minutes (`GET <aep>/login`, Bearer).
 * 3. On a 401, the header names the auth endpoint and realm (the `auth.json` key).
 *    Each of these is tried at most once per call, in order: the cached token, a
 *    refresh, the cached or a new anonymous token (when the request allows it and the
 *    header has no `error`), then an interactive login (at most 3 prompts per call,
 *    only with a terminal and when the request allows prompting). When nothing is left
 *    the call fails with `AUTH` at once: no loop, no delay.
 * 4. A 403 after an anonymous token (or none), or with an `insufficient_scope` header,
 *    leads to an interactive login when possible; any other 403 is an `AUTH` "access
 *    denied" error (the Go pvr panics on a 403 without the header, §13.2).
 *
 * Tokens obtained are saved in `auth.json` ({@link FileTokenStore}); anonymous ones
 * under their own key (§13.5 item 45). A server that names the auth endpoint of another
 * site gets no token (see {@link sameSite}). Transport errors and 5xx are retried by the
 * {@link HttpClient}; a redirect is followed for GET only (the Go pvr loops forever on
 * both, §13.2 item 10). Tokens never appear in an error message.
 *
 * @module
 */

import { decodeJwt } from "jose";
import { z } from "zod";
import { PvrError } from "../../errors.ts";
import { goMarshal } from "../../model/go_json.ts";
import { fromPlain } from "../../model/json_value.ts";
import { HttpClient, redactUrl } from "../http.ts";
import type { Prompter } from "./prompt.ts";
import { readJsonReply, statusNote } from "./reply.ts";
import {
  ANON_SUFFIX,
  anonKey,
  authEndpointOfKey,
  defaultTokenKey,
  FileTokenStore,
  isAnonKey,
  PANTAHUB_REALM,
  tokenKey,
  type TokenStore,
} from "./token_store.ts";
import type { PantahubCaller, PantahubRequest } from "./types.ts";

/** The anonymous login name and password (pantahub-api §2.2). */
export const ANON_LOGIN = "prn:pantahub.com:auth:/anon";

/** The scopes an anonymous login asks for. */
export const ANON_SCOPES = "devices.readonly objects.readonly trails.readonly";

/** Interactive logins per call at most (as the Go pvr's 3 attempts). */
export const MAX_PROMPTS = 3;

/** A cached token expiring within this is refreshed before use. */
const REFRESH_AHEAD_MS = 5 * 60_000;

/** The hint of every "log in first" error. */
export const LOGIN_HINT = "log in with pvr login or pass a token with -a/PVR_ACCESSTOKEN";

/** A parsed `WWW-Authenticate` header (scheme `JWT` or `Bearer`). */
export interface WwwAuthenticate {
  scheme: string;
  /** Lower-cased parameter names, unquoted values. */
  params: Record<string, string>;
  realm: string;
  /** `ph-aeps`, split at commas. */
  authEndpoints: string[];
  /** Present when the token was rejected for a reason (e.g. `insufficient_scope`). */
  error?: string;
}

/**
 * Parses a `WWW-Authenticate` value such as
 * `JWT realm="pantahub services", ph-aeps="https://api.pantahub.com/auth"`. Quoted
 * values may hold commas; whitespace (tabs included) around separators is ignored.
 * Returns `undefined` unless the scheme is `JWT` or `Bearer` (any case).
 */
export function parseWwwAuthenticate(header: string | null): WwwAuthenticate | undefined {
  if (header === null) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._-]*)\s*(.*)$/s.exec(header);
  if (m === null) return undefined;
  const scheme = m[1];
  if (!/^(jwt|bearer)$/i.test(scheme)) return undefined;
  const params: Record<string, string> = {};
  const rest = m[2];
  let i = 0;
  while (i < rest.length) {
    while (i < rest.length && /[\s,]/.test(rest[i])) i++;
    const km = /^([^\s=,]+)\s*=\s*/.exec(rest.slice(i));
    if (km === null) break;
    i += km[0].length;
    let value = "";
    if (rest[i] === '"') {
      i++;
      while (i < rest.length && rest[i] !== '"') {
        if (rest[i] === "\\" && i + 1 < rest.length) i++;
        value += rest[i++];
      }
      i++;
    } else {
      const vm = /^[^,\s]*/.exec(rest.slice(i))!;
      value = vm[0];
      i += value.length;
    }
    params[km[1].toLowerCase()] = value;
  }
  const authEndpoints = (params["ph-aeps"] ?? "").split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  return {
    scheme,
    params,
    realm: params.realm ?? "",
    authEndpoints,
    error: params.error,
  };
}

/**
 * May a token of the auth endpoint `aep` be sent to `origin`? Yes for the same origin
 * and for hosts of the same site (the last two labels of both host names agree, e.g.
 * `pvr.pantahub.com` and `api.pantahub.com`) without a downgrade from https to http.
 * The Go pvr sends the cached token to whatever server names an endpoint it has a token
 * for, which lets any server obtain it.
 */
export function sameSite(origin: string, aep: string): boolean {
  let a: URL;
  let b: URL;
  try {
    a = new URL(origin);
    b = new URL(aep);
  } catch {
    return false;
  }
  if (a.origin === b.origin) return true;
  if (b.protocol === "https:" && a.protocol !== "https:") return false;
  const ip = /^[\d.]+$|^\[/;
  if (ip.test(a.hostname) || ip.test(b.hostname)) return false;
  const site = (h: string) => h.split(".").slice(-2).join(".");
  return a.hostname.includes(".") && site(a.hostname) === site(b.hostname);
}

/** Options of {@link PantahubSession}. */
export interface PantahubSessionOptions {
  /** The global config dir (where `auth.json` is). */
  configDir: string;
  /** A token to send on every call, never replaced (`-a`/`PVR_ACCESSTOKEN`). */
  accessToken?: string;
  /** Who to ask for credentials; `null`/absent or not interactive: nobody. */
  prompter?: Prompter | null;
  /** The HTTP client (default a new one). */
  http?: HttpClient;
  /** The clock in Unix ms, for token expiry (default `Date.now`). */
  now?: () => number;
  /** Where tokens are cached (default `auth.json` in `configDir`). */
  tokens?: TokenStore;
  /** Receives diagnostics (a damaged `auth.json`, a token that could not be saved). */
  notice?: (line: string) => void;
}

/** What a call sent: the token and where it came from. */
interface Sent {
  token?: string;
  kind: "fixed" | "user" | "anon" | "none";
  key?: string;
}

/** Per-call bookkeeping that bounds the login flow. */
interface CallState {
  /** Steps already used in this call (`refresh:<key>`, `anon:<key>`, tokens sent). */
  tried: Set<string>;
  prompts: number;
}

/** The answer of `POST`/`GET <auth>/login`: a token. */
export const TokenReply = z.object({ token: z.string().min(1) });

/**
 * A session with one or more Pantahub instances: tokens from `-a`, from `auth.json`, or
 * obtained by logging in (see the module doc for the exact flow).
 *
 * Needs `--allow-net`, and `--allow-read`/`--allow-write` for the config dir.
 *
 * @example
 * ```ts
 * const session = new PantahubSession({ configDir: `${Deno.env.get("HOME")}/.pvr` });
 * const res = await session.call({
 *   method: "GET",
 *   url: "https://api.pantahub.com/auth/auth_status",
 *   anonymous: false,
 * });
 * console.log(await res.json());
 * ```
 */
export class PantahubSession implements PantahubCaller {
  /** The HTTP client every request goes through (shared with transfers). */
  readonly http: HttpClient;
  readonly #fixed?: string;
  readonly #prompter: Prompter | null;
  readonly #now: () => number;
  readonly #tokens: TokenStore;
  readonly #notice: (line: string) => void;
  /** Origin of a request → the token key its 401 named. */
  readonly #originKeys = new Map<string, string>();
  /** Keys whose cached entries this session ignores (`pvr login`). */
  readonly #evicted = new Set<string>();
  /** Tokens a server rejected during this session. */
  readonly #rejected = new Set<string>();
  /** Keys refreshed (or tried) ahead of expiry during this session. */
  readonly #refreshedAhead = new Set<string>();
  /** Refresh tokens the server refused during this session (not tried again). */
  readonly #refreshFailed = new Set<string>();
  #storeChecked = false;

  constructor(opts: PantahubSessionOptions) {
    this.http = opts.http ?? new HttpClient();
    this.#fixed = opts.accessToken || undefined;
    this.#prompter = opts.prompter && opts.prompter.interactive ? opts.prompter : null;
    this.#now = opts.now ?? Date.now;
    this.#tokens = opts.tokens ?? new FileTokenStore(opts.configDir);
    this.#notice = opts.notice ?? (() => {});
    if (this.#fixed) this.http.addSecret(this.#fixed);
  }

  /** True when the session sends a fixed `-a`/`PVR_ACCESSTOKEN` token. */
  get hasFixedToken(): boolean {
    return this.#fixed !== undefined;
  }

  /** True when it can ask a person for credentials. */
  get canPrompt(): boolean {
    return this.#prompter !== null;
  }

  /** The prompter, when it can ask a person. */
  get prompter(): Prompter | null {
    return this.#prompter;
  }

  /** The token cache. */
  get tokens(): TokenStore {
    return this.#tokens;
  }

  /**
   * Ignores the cached token under `key` for the rest of this session (in memory only,
   * as the Go pvr's `login`); a token obtained later for the key is used again.
   */
  evict(key: string): void {
    this.#evicted.add(key);
  }

  /**
   * Saves the `-a`/`PVR_ACCESSTOKEN` token under `key` in the token cache (what
   * `pvr login -a` does, so later commands need no `-a`). False when there is none.
   */
  async saveGivenToken(key: string): Promise<boolean> {
    if (this.#fixed === undefined) return false;
    await this.#save(key, this.#fixed);
    return true;
  }

  /** {@link PantahubCaller.call}: see the module doc. */
  async call(req: PantahubRequest): Promise<Response> {
    await this.#checkStore();
    const origin = new URL(req.url).origin;
    const st: CallState = { tried: new Set(), prompts: 0 };
    let sent = await this.#initial(origin, req);
    // Each pass either returns, throws, or uses up one of a finite set of steps
    // (tried/prompts); the counter is a second, independent bound.
    for (let pass = 0; pass < 16; pass++) {
      if (sent.token) st.tried.add(sent.token);
      const res = await this.#send(req, sent.token);
      if (res.status !== 401 && res.status !== 403) return res;
      const next = await this.#afterRefusal(req, res, origin, sent, st);
      if (next === "return") return res;
      await res.body?.cancel().catch(() => {});
      sent = next;
    }
    throw new PvrError("AUTH", `${req.method} ${redactUrl(req.url)}: login did not succeed`, {
      hint: LOGIN_HINT,
    });
  }

  async #checkStore(): Promise<void> {
    if (this.#storeChecked) return;
    this.#storeChecked = true;
    await this.#tokens.keys().catch(() => []);
    if (this.#tokens instanceof FileTokenStore && this.#tokens.problem) {
      this.#notice(`warning: ignoring the saved tokens: ${this.#tokens.problem}`);
    }
  }

  async #send(req: PantahubRequest, token: string | undefined): Promise<Response> {
    const headers = new Headers(req.headers);
    let body: Uint8Array | string | undefined = req.body;
    if (req.json !== undefined) {
      body = goMarshal(fromPlain(req.json), { numbers: "float" });
      headers.set("Content-Type", "application/json; charset=utf-8");
    }
    if (!headers.has("Accept")) headers.set("Accept", "application/json; charset=utf-8");
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return await this.http.request({
      method: req.method,
      url: req.url,
      headers,
      body,
      buffer: true,
    });
  }

  /** The key a request to `origin` most likely needs, before any 401 said so. */
  async #keyFor(origin: string): Promise<string | undefined> {
    const learned = this.#originKeys.get(origin);
    if (learned !== undefined) return learned;
    const guess = defaultTokenKey(origin);
    const keys = await this.#tokens.keys();
    if (keys.includes(guess) || keys.includes(anonKey(guess))) return guess;
    return keys.find((k) => !isAnonKey(k) && authEndpointOfKey(k).startsWith(origin + "/"));
  }

  /** The token of the first attempt. */
  async #initial(origin: string, req: PantahubRequest): Promise<Sent> {
    if (this.#fixed) return { token: this.#fixed, kind: "fixed" };
    const key = await this.#keyFor(origin);
    if (key === undefined) return { kind: "none" };
    const user = await this.#usable(key, true);
    if (user !== undefined) return { token: user, kind: "user", key };
    if (req.anonymous) {
      const anon = await this.#usable(anonKey(key), false);
      if (anon !== undefined) return { token: anon, kind: "anon", key };
    }
    return { kind: "none", key };
  }

  /**
   * The cached token under `key` if it is worth sending (not evicted, not refused in
   * this session). A token whose `exp` is less than 5 minutes away (or past) is
   * refreshed first, once per session; the server, not the local clock, has the last
   * word on expiry.
   */
  async #usable(key: string, refreshAhead: boolean): Promise<string | undefined> {
    const userKey = isAnonKey(key) ? key.slice(0, -ANON_SUFFIX.length) : key;
    if (this.#evicted.has(userKey)) return undefined;
    const e = await this.#tokens.get(key);
    if (!e?.accessToken || this.#rejected.has(e.accessToken)) return undefined;
    this.http.addSecret(e.accessToken);
    const left = this.#lifetimeLeft(e.accessToken);
    if (
      refreshAhead && left !== undefined && left < REFRESH_AHEAD_MS &&
      !this.#refreshedAhead.has(key)
    ) {
      this.#refreshedAhead.add(key);
      const fresh = await this.#refresh(authEndpointOfKey(key), e.refreshToken || e.accessToken);
      if (fresh !== undefined) {
        await this.#save(key, fresh);
        return fresh;
      }
    }
    return e.accessToken;
  }

  /** Milliseconds until the token's `exp` (undefined when it has none or is opaque). */
  #lifetimeLeft(token: string): number | undefined {
    try {
      const exp = decodeJwt(token).exp;
      return typeof exp === "number" ? exp * 1000 - this.#now() : undefined;
    } catch {
      return undefined;
    }
  }

  /** Decides what follows a 401/403: another token, the response itself, or an error. */
  async #afterRefusal(
    req: PantahubRequest,
    res: Response,
    origin: string,
    sent: Sent,
    st: CallState,
  ): Promise<Sent | "return"> {
    const what = `${req.method} ${redactUrl(req.url)}`;
    const header = parseWwwAuthenticate(res.headers.get("WWW-Authenticate"));
    const usable = header !== undefined && header.realm !== "" &&
      header.authEndpoints.length > 0;
    if (sent.token && res.status === 401) this.#rejected.add(sent.token);
    if (sent.kind === "fixed") {
      if (res.status === 403 && req.forbidden === "return") return "return";
      throw new PvrError(
        "AUTH",
        res.status === 401
          ? `the access token given with -a/PVR_ACCESSTOKEN was refused by ${origin} (401)`
          : await this.#deniedMessage(res, what),
        { hint: res.status === 401 ? "pass a valid token, or log in with pvr login" : undefined },
      );
    }
    if (usable && !sameSite(origin, header.authEndpoints[0])) {
      throw new PvrError(
        "AUTH",
        `${what}: ${origin} asks for a login at ${redactUrl(header.authEndpoints[0])}, ` +
          "another site: pvr does not send your Pantahub token there",
      );
    }
    const key = usable ? tokenKey(header.authEndpoints[0], header.realm) : sent.key;
    if (usable) this.#originKeys.set(origin, key!);
    if (res.status === 401) {
      if (!usable) {
        throw new PvrError(
          "AUTH",
          `${what}: ${origin} asks for a login (401) but names no auth endpoint ` +
            "(no usable WWW-Authenticate header)",
          { hint: LOGIN_HINT },
        );
      }
      return await this.#obtain(req, key!, header, st, what);
    }
    // 403: curable only by a better login.
    const scopeProblem = header?.error !== undefined;
    const weak = sent.kind === "anon" || sent.kind === "none";
    if ((weak || scopeProblem) && this.#mayPrompt(req, st)) {
      const k = key ?? defaultTokenKey(origin);
      this.#prompter!.notice("** ACCESS DENIED: user cannot access repository. **");
      return await this.#interactive(k, st, what);
    }
    if (req.forbidden === "return") return "return";
    throw new PvrError("AUTH", await this.#deniedMessage(res, what), {
      hint: weak ? LOGIN_HINT : undefined,
    });
  }

  async #deniedMessage(res: Response, what: string): Promise<string> {
    return this.http.redact(`access denied: ${what} (${await statusNote(res)})`);
  }

  #mayPrompt(req: PantahubRequest, st: CallState): boolean {
    return this.#prompter !== null && req.prompt !== false && st.prompts < MAX_PROMPTS;
  }

  /** The next token after a 401 naming `key`; each source at most once per call. */
  async #obtain(
    req: PantahubRequest,
    key: string,
    header: WwwAuthenticate,
    st: CallState,
    what: string,
  ): Promise<Sent> {
    const aep = authEndpointOfKey(key);
    const evicted = this.#evicted.has(key);
    const entry = evicted ? undefined : await this.#tokens.get(key);
    if (entry?.accessToken) this.http.addSecret(entry.accessToken);
    // 1. The cached user token (unless it is the one just refused or is expired).
    if (entry?.accessToken && !st.tried.has(entry.accessToken)) {
      const t = await this.#usable(key, false);
      if (t !== undefined && !st.tried.has(t)) return { token: t, kind: "user", key };
    }
    // 2. A refresh with the cached refresh token.
    const refresh = entry?.refreshToken || entry?.accessToken;
    if (refresh && header.error === undefined && !st.tried.has(`refresh:${key}`)) {
      st.tried.add(`refresh:${key}`);
      const fresh = await this.#refresh(aep, refresh);
      if (fresh !== undefined) {
        await this.#save(key, fresh);
        return { token: fresh, kind: "user", key };
      }
    }
    // 3. Anonymous: the cached anonymous token, then a new anonymous login.
    if (req.anonymous && header.error === undefined) {
      const cached = await this.#usable(anonKey(key), false);
      if (cached !== undefined && !st.tried.has(cached)) {
        return { token: cached, kind: "anon", key };
      }
      if (!st.tried.has(`anon:${key}`)) {
        st.tried.add(`anon:${key}`);
        const anon = await this.#login(aep, ANON_LOGIN, ANON_LOGIN, ANON_SCOPES);
        if (anon.token !== undefined) {
          await this.#save(anonKey(key), anon.token);
          return { token: anon.token, kind: "anon", key };
        }
      }
    }
    // 4. Ask the person.
    if (this.#mayPrompt(req, st)) return await this.#interactive(key, st, what);
    throw new PvrError(
      "AUTH",
      this.#prompter === null || req.prompt === false
        ? `${what}: authentication required by ${aep} (realm ${header.realm})`
        : `${what}: login failed ${MAX_PROMPTS} times`,
      { hint: LOGIN_HINT },
    );
  }

  /** Prompts until a login succeeds or the call's prompts are used up. */
  async #interactive(key: string, st: CallState, what: string): Promise<Sent> {
    const aep = authEndpointOfKey(key);
    const realm = key.slice(key.indexOf(" realm=") + 7) || PANTAHUB_REALM;
    const p = this.#prompter!;
    let last = "";
    while (st.prompts < MAX_PROMPTS) {
      st.prompts++;
      p.notice(`*** Login (/type [R] to register) @ ${aep} (realm=${realm}) ***`);
      const username = await p.input("Username");
      if (/^(R|REG|REGISTER)$/i.test(username)) {
        await this.#registerInteractively(aep);
        continue;
      }
      const password = await p.password("Password");
      if (password !== "") this.http.addSecret(password);
      if (username === "" || password === "") {
        last = username === "" ? "no username given" : "no password given";
        p.notice(`login failed: ${last}`);
        continue;
      }
      const r = await this.#login(aep, username, password, "");
      if (r.token !== undefined) {
        this.#evicted.delete(key);
        await this.#save(key, r.token);
        return { token: r.token, kind: "user", key };
      }
      last = r.error ?? "refused";
      p.notice(`login failed: ${last}`);
    }
    throw new PvrError("AUTH", `${what}: login failed${last ? `: ${last}` : ""}`, {
      hint: LOGIN_HINT,
    });
  }

  /** The registration prompts of the login dialogue (answering R, REG or REGISTER). */
  async #registerInteractively(aep: string): Promise<void> {
    const p = this.#prompter!;
    p.notice(`*** REGISTER @ ${aep} ***`);
    const email = await p.input("Email");
    const nick = await p.input("Username");
    const password = await p.password("Password");
    if (password !== "") this.http.addSecret(password);
    try {
      const r = await registerAccount(this.http, aep, { email, nick, password });
      for (const line of registrationInstructions(r.redirectUri)) p.notice(line);
    } catch (err) {
      p.notice(`registration failed: ${(err as Error).message}`);
    }
  }

  /** `POST <aep>/login`: a token, or why not. */
  async #login(
    aep: string,
    username: string,
    password: string,
    scope: string,
  ): Promise<{ token?: string; error?: string }> {
    const res = await this.http.request({
      method: "POST",
      url: `${aep}/login`,
      buffer: true,
      headers: {
        "Content-Type": "application/json; charset=utf-8",
        Accept: "application/json; charset=utf-8",
      },
      // Go's encoding of the map: keys sorted.
      body: goMarshal(fromPlain({ password, scope, username }), { numbers: "float" }),
    });
    if (res.status !== 200) {
      return { error: this.http.redact(await statusNote(res)) };
    }
    try {
      const { token } = await readJsonReply(res, TokenReply, `POST ${aep}/login`);
      this.http.addSecret(token);
      return { token };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** `GET <aep>/login` with the refresh token: a fresh token, or undefined. */
  async #refresh(aep: string, refreshToken: string): Promise<string | undefined> {
    if (this.#refreshFailed.has(refreshToken)) return undefined;
    this.#refreshFailed.add(refreshToken);
    this.http.addSecret(refreshToken);
    const res = await this.http.request({
      method: "GET",
      url: `${aep}/login`,
      buffer: true,
      headers: {
        Authorization: `Bearer ${refreshToken}`,
        Accept: "application/json; charset=utf-8",
      },
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    try {
      const { token } = await readJsonReply(res, TokenReply, `GET ${aep}/login`);
      this.http.addSecret(token);
      this.#refreshFailed.delete(refreshToken);
      return token;
    } catch {
      return undefined;
    }
  }

  /** Saves a token as both access and refresh token; a failed save is only a notice. */
  async #save(key: string, token: string): Promise<void> {
    try {
      await this.#tokens.set(key, { accessToken: token, refreshToken: token });
    } catch (err) {
      this.#notice(`warning: ${this.http.redact((err as Error).message)}`);
    }
  }
}

/** What `POST /auth/accounts` answered. */
export interface RegisterAccountResult {
  /** Where the person completes the registration (captcha, e-mail confirmation). */
  redirectUri?: string;
  /** The whole answer. */
  reply: Record<string, unknown>;
}

const AccountReply = z.looseObject({
  token: z.string().optional(),
  "redirect-uri": z.string().optional(),
});

/**
 * `POST <scheme>://<host[:port]>/auth/accounts` with `{email, nick, password}` (spec
 * §8.3). The URL is built from the origin of `url`, so an absent port no longer gives
 * the Go pvr's `https://host:/auth/accounts`.
 *
 * @throws {PvrError} `USAGE` for a missing field, `REMOTE` when the server refuses
 */
export async function registerAccount(
  http: HttpClient,
  url: string,
  account: { email: string; nick: string; password: string },
): Promise<RegisterAccountResult> {
  for (
    const [k, v] of [["email", account.email], ["username", account.nick], [
      "password",
      account.password,
    ]] as const
  ) {
    if (v === "") throw new PvrError("USAGE", `register: no ${k} given`);
  }
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    throw new PvrError("USAGE", `register: not a URL: ${url}`);
  }
  http.addSecret(account.password);
  const target = `${origin}/auth/accounts`;
  const res = await http.request({
    method: "POST",
    url: target,
    buffer: true,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      Accept: "application/json; charset=utf-8",
    },
    body: goMarshal(
      fromPlain({ email: account.email, nick: account.nick, password: account.password }),
      { numbers: "float" },
    ),
  });
  if (res.status !== 200) {
    throw new PvrError(
      "REMOTE",
      http.redact(`failed to register at ${target} (${await statusNote(res)})`),
    );
  }
  const reply = await readJsonReply(res, AccountReply, `POST ${target}`);
  return { redirectUri: reply["redirect-uri"], reply };
}

/** The lines that tell a person how to finish a registration (spec §8.3). */
export function registrationInstructions(redirectUri: string | undefined): string[] {
  const lines = [
    "",
    "Your registration process needs to be complete two steps",
    "1.- Confirm you aren't a bot",
    "2.- Confirm your email address",
  ];
  if (redirectUri) {
    lines.push(
      "",
      "Follow this link to continue and after that come back and continue",
      redirectUri,
      "",
    );
  }
  return lines;
}
