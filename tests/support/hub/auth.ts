/**
 * The auth app (spec pantahub-api.md §2) and the profiles app (§8) of the stand-in
 * Pantahub: login (user, device, anonymous), refresh, auth_status, registration and
 * e-mail verification.
 *
 * @module
 */

import { z } from "zod";
import { appError, goTime, HubError, jsonResponse, readPlainJson } from "./http.ts";
import {
  type App,
  type Ctx,
  type HubCore,
  notAuthorized,
  requirePrincipal,
  SCOPE_PREFIX,
  wwwAuthenticate,
} from "./router.ts";
import {
  checkPassword,
  type DeviceRecord,
  hashPassword,
  randomAlnum,
  type UserRecord,
} from "./store.ts";
import type { Claims } from "./tokens.ts";

/** The anonymous login name (§2.2). */
export const ANON_PRN = "prn:pantahub.com:auth:/anon";

/** The scope of normal user and device tokens. */
export const ALL_SCOPE = SCOPE_PREFIX + "all";

const DEVICE_PRN_PREFIX = "prn:::devices:/";

/** Options of {@link issueUserToken} and friends. */
export interface TokenOptions {
  /** What the `id` claim says (the name typed at login); default the nick or PRN. */
  id?: string;
  /** Lifetime in seconds; default the hub's token lifetime. */
  ttlSec?: number;
  /** Scope PRNs (or suffixes); default `…/base/all`. */
  scopes?: readonly string[];
}

function scopeString(scopes: readonly string[] | undefined): string {
  if (scopes === undefined) return ALL_SCOPE;
  return scopes.map((s) => (s.startsWith("prn:") ? s : SCOPE_PREFIX + s)).join(" ");
}

/** Signs a USER token for an account. */
export function issueUserToken(
  core: HubCore,
  u: UserRecord,
  o: TokenOptions = {},
): Promise<string> {
  const now = core.tokens.nowSec();
  return core.tokens.signAccess({
    id: o.id ?? u.nick,
    prn: u.prn,
    nick: u.nick,
    type: "USER",
    roles: "user",
    scopes: scopeString(o.scopes),
    exp: now + (o.ttlSec ?? core.config.tokenTtlSec),
    orig_iat: now,
  });
}

/** Signs a DEVICE token; `owner` is the device's owner at issue time. */
export function issueDeviceToken(
  core: HubCore,
  d: DeviceRecord,
  o: TokenOptions = {},
): Promise<string> {
  const now = core.tokens.nowSec();
  return core.tokens.signAccess({
    id: o.id ?? d.prn,
    prn: d.prn,
    nick: d.nick,
    type: "DEVICE",
    roles: "device",
    owner: d.owner,
    scopes: scopeString(o.scopes),
    exp: now + (o.ttlSec ?? core.config.tokenTtlSec),
    orig_iat: now,
  });
}

/**
 * Signs an anonymous read-only token (§2.1): the requested scopes filtered to those
 * containing `.readonly`, each given the base prefix when missing.
 */
export function issueAnonToken(
  core: HubCore,
  requested: string,
  ttlSec?: number,
): Promise<string> {
  const now = core.tokens.nowSec();
  const prn = `prn:pantahub.com:auth:/anon-${randomAlnum(12)}`;
  const scopes = requested.split(" ").filter((s) => s.includes(".readonly"))
    .map((s) => (s.startsWith(SCOPE_PREFIX) ? s : SCOPE_PREFIX + s));
  return core.tokens.signAccess({
    id: prn,
    prn,
    nick: prn.slice(prn.lastIndexOf("/") + 1),
    type: "USER",
    roles: "user",
    scopes: scopes.join(" "),
    exp: now + (ttlSec ?? core.config.anonTokenTtlSec),
    orig_iat: now,
  });
}

/** The auth app's 415 for a body that is not `application/json` in UTF-8 (§1.2). */
function checkContentType(req: Request): void {
  const length = req.headers.get("Content-Length");
  const hasBody = req.body !== null && length !== "0";
  if (!hasBody) return;
  const ct = (req.headers.get("Content-Type") ?? "").toLowerCase();
  const [media, ...params] = ct.split(";").map((s) => s.trim());
  const charset = params.find((p) => p.startsWith("charset="))?.slice(8).replace(/"/g, "");
  if (media !== "application/json" || (charset !== undefined && charset !== "utf-8")) {
    throw new HubError(415, "Bad Content-Type or charset, expected 'application/json'", {
      shape: "framework",
    });
  }
}

function requireUserAgent(req: Request): void {
  if ((req.headers.get("User-Agent") ?? "") === "") {
    throw appError(403, "missing User-Agent", "Incompatible Client; upgrade pantavisor");
  }
}

// Go decodes null and missing fields as zero values; a wrong type is a 400.
const goString = z.string().nullish().transform((s) => s ?? "");

const LoginBody = z.object({ username: goString, password: goString, scope: goString });

async function postLogin(c: Ctx): Promise<Response> {
  checkContentType(c.req);
  requireUserAgent(c.req);
  const parsed = LoginBody.safeParse(await readPlainJson(c.req));
  if (!parsed.success) throw appError(400, "login: body does not decode");
  const { username, password, scope } = parsed.data;
  const core = c.core;
  let token: string | undefined;
  if (username === ANON_PRN) {
    token = await issueAnonToken(core, scope);
  } else if (username.startsWith(DEVICE_PRN_PREFIX)) {
    const d = core.store.devices.get(username.slice(DEVICE_PRN_PREFIX.length));
    if (d !== undefined && !d.garbage && d.secret !== "" && d.secret === password) {
      token = await issueDeviceToken(core, d, { id: username });
    }
  } else if (username !== "") {
    const u = core.store.findUser(username);
    // An account whose e-mail is not verified cannot log in (§2.2).
    if (u !== undefined && u.challenge === "" && checkPassword(u, password)) {
      token = await issueUserToken(core, u, { id: username });
    }
  }
  if (token === undefined) {
    // §2.2: the real server sends no WWW-Authenticate here; §11.1 asks for it on every
    // 401. The hub follows §11.1 unless `login401Header: false` (see server.ts).
    const headers: HeadersInit = core.config.login401Header
      ? { "WWW-Authenticate": wwwAuthenticate(core.config) }
      : {};
    throw new HubError(401, "bad credentials", { headers });
  }
  return jsonResponse(200, { token }, "pretty");
}

async function refresh(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const now = c.core.tokens.nowSec();
  if (p.orig_iat + c.core.config.refreshWindowSec < now) {
    throw notAuthorized(c.core.config, "refresh window over");
  }
  const claims: Claims = { ...p, exp: now + ttlFor(c.core, p) };
  return jsonResponse(200, { token: await c.core.tokens.signAccess(claims) }, "pretty");
}

function ttlFor(core: HubCore, p: Claims): number {
  return p.prn.startsWith(ANON_PRN + "-") ? core.config.anonTokenTtlSec : core.config.tokenTtlSec;
}

/** The claims map with keys sorted, as Go writes a `map[string]interface{}`. */
export function claimsDoc(p: Claims): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(p).sort()) out[k] = (p as unknown as Record<string, unknown>)[k];
  return out;
}

/** Builds an `auth_status` handler for an app encoding. */
export function authStatusHandler(encoding: "plain" | "pretty" | "canonical") {
  return (c: Ctx): Response => jsonResponse(200, claimsDoc(requirePrincipal(c)), encoding);
}

/** The account document (secrets left out, unlike the real one, §2.6). */
export function accountDoc(u: UserRecord): Record<string, unknown> {
  return {
    type: "USER",
    email: u.email,
    nick: u.nick,
    prn: u.prn,
    "time-created": goTime(u.timeCreated),
    "time-modified": goTime(u.timeModified),
  };
}

const AccountBody = z.object({
  id: goString,
  email: goString,
  nick: goString,
  password: goString,
});

async function postAccount(c: Ctx): Promise<Response> {
  checkContentType(c.req);
  const parsed = AccountBody.safeParse(await readPlainJson(c.req));
  if (!parsed.success) throw appError(400, "accounts: body does not decode");
  const b = parsed.data;
  if (b.email === "") throw appError(412, "Accounts must have an email address");
  if (b.password === "") throw appError(412, "Accounts must have a password set");
  if (b.nick === "") throw appError(412, "Accounts must have a nick set");
  if (b.nick.length < 3 || b.nick.length > 23) {
    throw appError(412, "Accounts must have a a valid nick");
  }
  if (b.id !== "") throw appError(412, "Accounts cannot preset an id");
  const store = c.core.store;
  for (const u of store.users.values()) {
    if (u.email === b.email || u.nick === b.nick) {
      throw appError(412, "Email or Nick already in use", "Email or Nick already in use");
    }
  }
  const u = createUser(c.core, b.nick, b.password, b.email, !c.core.config.autoVerify);
  // open question §12.7: the hub creates the account at once (captcha off, as
  // env.default) and answers with the account plus the two fields pvr's `register`
  // prints; `redirect-uri` is the verification link the real server would e-mail, so
  // opening it (as pvr does) verifies the account.
  const redirect = u.challenge === ""
    ? `${c.core.config.base}/auth/auth_status`
    : `${c.core.config.base}/auth/verify?id=${u.id}&challenge=${u.challenge}`;
  return jsonResponse(
    200,
    { ...accountDoc(u), token: randomAlnum(32), "redirect-uri": redirect },
    "pretty",
  );
}

/** Creates an account; unverified (with a challenge) when `needsVerify`. */
export function createUser(
  core: HubCore,
  nick: string,
  password: string,
  email: string,
  needsVerify: boolean,
): UserRecord {
  const id = core.store.newId();
  const now = core.now();
  const u: UserRecord = {
    id,
    prn: `prn:::accounts:/${id}`,
    nick,
    email,
    ...hashPassword(password),
    challenge: needsVerify ? randomAlnum(16) : "",
    timeCreated: now,
    timeModified: now,
  };
  core.store.users.set(id, u);
  return u;
}

function verify(c: Ctx): Response {
  const id = c.url.searchParams.get("id") ?? "";
  const challenge = c.url.searchParams.get("challenge") ?? "";
  const u = c.core.store.users.get(id);
  if (u === undefined) throw appError(403, "verify: unknown account id");
  if (u.challenge === "" || u.challenge !== challenge) {
    throw appError(412, "Invalid Challenge (wrong, used or never existed)");
  }
  u.challenge = "";
  u.timeModified = c.core.now();
  return jsonResponse(200, accountDoc(u), "pretty");
}

function myAccount(c: Ctx): Response {
  const p = requirePrincipal(c);
  const u = c.core.store.userByPrn(p.prn);
  if (u === undefined) throw appError(404, "account not found");
  return jsonResponse(200, accountDoc(u), "pretty");
}

/** The auth app (pretty-printed JSON). */
export const authApp: App = {
  prefix: "/auth",
  encoding: "pretty",
  routes: [
    { method: "POST", path: "/auth/login", auth: "none", handler: postLogin },
    { method: "GET", path: "/auth/login", handler: refresh },
    { method: "GET", path: "/auth/auth_status", handler: authStatusHandler("pretty") },
    { method: "POST", path: "/auth/accounts", auth: "none", handler: postAccount },
    { method: "GET", path: "/auth/verify", auth: "none", handler: verify },
    { method: "GET", path: "/auth/", handler: myAccount },
  ],
};

function listProfiles(c: Ctx): Response {
  requirePrincipal(c);
  const q = c.url.searchParams;
  const nick = q.get("nick") ?? "";
  const limit = Math.max(0, Number(q.get("limit") ?? "20") || 20);
  const page = Math.max(0, Number(q.get("page") ?? "0") || 0);
  const users = [...c.core.store.users.values()].filter((u) =>
    nick === ""
      ? true
      : nick.startsWith("^")
      ? u.nick.toLowerCase().startsWith(nick.slice(1).toLowerCase())
      : u.nick === nick
  ).sort((a, b) => (a.nick < b.nick ? -1 : a.nick > b.nick ? 1 : 0));
  const out = users.slice(page * limit, page * limit + limit).map((u) => ({
    nick: u.nick,
    fullName: "",
    bio: "",
    meta: {},
    "time-created": goTime(u.timeCreated),
    "time-modified": goTime(u.timeModified),
  }));
  return jsonResponse(200, out, "plain");
}

/** The profiles app (§8; no scope filter). */
export const profilesApp: App = {
  prefix: "/profiles",
  encoding: "plain",
  routes: [{ method: "GET", path: "/profiles/", handler: listProfiles }],
};
