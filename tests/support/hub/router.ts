/**
 * Routing of the stand-in Pantahub, shaped like pantahub-base's go-json-rest apps
 * (spec pantahub-api.md §1.1): one app per mounted prefix, first declared route wins,
 * 404/405 framework errors, the JWT middleware with its exact 401 header (§2.5) and the
 * per-route scope filter with its 403 header (§1.7).
 *
 * @module
 */

import { type Encoding, errorResponse, HubError } from "./http.ts";
import type { HubStore } from "./store.ts";
import type { Claims, TokenService } from "./tokens.ts";

/** How a blob GET answers a `Range` request. */
export type RangeMode = "honour" | "ignore";

/** Settings every handler can read. */
export interface HubConfig {
  /** External base URL, e.g. `http://127.0.0.1:40123` (no trailing slash). */
  readonly base: string;
  /** Access-token lifetime in seconds (`PANTAHUB_JWT_TIMEOUT_MINUTES`, default 60 min). */
  readonly tokenTtlSec: number;
  /** Anonymous-token lifetime in seconds (default 5 min). */
  readonly anonTokenTtlSec: number;
  /** Refresh window after `orig_iat` in seconds (default 24 h). */
  readonly refreshWindowSec: number;
  /** Signed blob URL lifetime in seconds (default 86400). */
  readonly signedUrlTtlSec: number;
  /** Log cursor lifetime in seconds (default 120). */
  readonly cursorTtlSec: number;
  /** Registered accounts are verified at once. */
  readonly autoVerify: boolean;
  /** Whether a failed `POST /auth/login` carries `WWW-Authenticate` (see server.ts). */
  readonly login401Header: boolean;
  /** Default `Range` behaviour of blob GETs. */
  readonly range: RangeMode;
}

/** What handlers share: data, tokens, settings, clock. */
export interface HubCore {
  readonly store: HubStore;
  readonly tokens: TokenService;
  readonly config: HubConfig;
  readonly now: () => number;
  /** Log-cursor scroll contexts (§7.4), by scroll id. */
  readonly scrolls: Map<string, { ids: string[]; pos: number; page: number }>;
}

/** One request as a handler sees it. */
export interface Ctx {
  readonly req: Request;
  readonly url: URL;
  /** Decoded `:name` path segments. */
  readonly params: Record<string, string>;
  readonly core: HubCore;
  /** The verified caller, when a token was sent. */
  principal?: Claims;
  /** The raw bearer token, when one was sent. */
  bearer?: string;
  /** `Range` behaviour for this request (hub default, or a fault's). */
  rangeMode: RangeMode;
}

/** A route handler. Throws {@link HubError} for error answers. */
export type Handler = (c: Ctx) => Response | Promise<Response>;

/**
 * `jwt`: a valid bearer token is required (401 otherwise); `optional`: a token is
 * checked when sent; `none`: the `Authorization` header is not looked at.
 */
export type AuthMode = "jwt" | "optional" | "none";

/** One route: method, full path pattern (`:name` is one segment), handler. */
export interface Route {
  /** An HTTP method, or `*` for any. */
  readonly method: string;
  readonly path: string;
  readonly handler: Handler;
  /** Default `jwt`. */
  readonly auth?: AuthMode;
  /** Scope suffixes of which the token needs one (§1.7); none = no scope filter. */
  readonly scopes?: readonly string[];
}

/** A go-json-rest app mounted under a prefix such as `/trails`. */
export interface App {
  readonly prefix: string;
  readonly encoding: Encoding;
  /** The trails app strips one trailing `/` before routing (§1.1). */
  readonly stripTrailingSlash?: boolean;
  readonly routes: readonly Route[];
}

/** Scope PRN prefix (§1.7). */
export const SCOPE_PREFIX = "prn:pantahub.com:apis:/base/";

/** The scope sets of §1.7. */
export const SCOPES = {
  trailsRead: ["all", "trails", "trails.readonly"],
  trailsWrite: ["all", "trails", "trails.write"],
  objectsRead: ["all", "devices", "objects", "objects.readonly"],
  objectsWrite: ["all", "devices", "objects", "objects.write"],
  devicesRead: ["all", "devices", "devices.readonly"],
  devicesWrite: ["all", "devices", "devices.write"],
  devicesChange: ["all", "devices", "devices.change"],
} as const;

/** `WWW-Authenticate` of every 401 (§2.5, §11.1). */
export function wwwAuthenticate(config: HubConfig): string {
  return `JWT realm="pantahub services", ph-aeps="${config.base}/auth"`;
}

/** The 401 `{"Error":"Not Authorized"}` with the header pvr's auth loop needs. */
export function notAuthorized(config: HubConfig, reason: string): HubError {
  return new HubError(401, reason, {
    shape: "framework",
    msg: "Not Authorized",
    headers: { "WWW-Authenticate": wwwAuthenticate(config) },
  });
}

/**
 * The 403 of the scope filter (§2.5). The server embeds newlines and tabs; Go turns each
 * newline into a space on the wire, and the tabs stay.
 */
export function insufficientScope(config: HubConfig, scopes: readonly string[]): HubError {
  const needed = scopes.map((s) => SCOPE_PREFIX + s).join(" ");
  const value = `Bearer Realm="pantahub services",\n\tph-aeps="${config.base}/auth",\n\t` +
    `scope="${needed}",\n\terror="insufficient_scope",\n\t` +
    `error_description="The request requires higher privileges than provided by the access token."`;
  return new HubError(403, `token lacks one of the scopes ${needed}`, {
    headers: { "WWW-Authenticate": value.replaceAll("\n", " ") },
  });
}

interface Compiled {
  readonly app: App;
  readonly route: Route;
  readonly segments: readonly string[];
}

/** Routes requests to apps and runs the JWT middleware and scope filter. */
export class Router {
  readonly #apps: readonly App[];
  readonly #compiled: Map<App, Compiled[]>;

  constructor(apps: readonly App[]) {
    this.#apps = apps;
    this.#compiled = new Map(
      apps.map((app) => [
        app,
        app.routes.map((route) => ({ app, route, segments: route.path.split("/").slice(1) })),
      ]),
    );
  }

  /** Answers one request. Never throws. */
  async dispatch(c: Ctx): Promise<Response> {
    const path = c.url.pathname;
    const app = this.#apps.find((a) => path === a.prefix || path.startsWith(a.prefix + "/"));
    if (app === undefined) {
      return new Response("404 page not found\n", {
        status: 404,
        headers: {
          "Content-Type": "text/plain; charset=utf-8",
          "X-Content-Type-Options": "nosniff",
        },
      });
    }
    if (path === app.prefix) {
      // Go's ServeMux redirects a mount without its slash (§1.1).
      const location = app.prefix + "/" + c.url.search;
      return new Response(`<a href="${location}">Moved Permanently</a>.\n\n`, {
        status: 301,
        headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
      });
    }
    try {
      let routed = path;
      if (app.stripTrailingSlash && routed.length > app.prefix.length + 1 && routed.endsWith("/")) {
        routed = routed.slice(0, -1);
      }
      const parts = routed.split("/").slice(1);
      let pathMatched = false;
      for (const r of this.#compiled.get(app) ?? []) {
        const params = match(r.segments, parts);
        if (params === undefined) continue;
        pathMatched = true;
        if (r.route.method !== "*" && r.route.method !== c.req.method) continue;
        Object.assign(c.params, params);
        await this.#authenticate(c, r.route);
        return await r.route.handler(c);
      }
      if (pathMatched) {
        throw new HubError(405, "Method not allowed", { shape: "framework" });
      }
      throw new HubError(404, "Resource not found", { shape: "framework" });
    } catch (err) {
      const e = err instanceof HubError ? err : new HubError(500, `internal: ${String(err)}`);
      return errorResponse(e, app.encoding, c.core.now());
    }
  }

  async #authenticate(c: Ctx, route: Route): Promise<void> {
    const mode = route.auth ?? "jwt";
    if (mode === "none") return;
    const header = c.req.headers.get("Authorization");
    if (header === null || header === "") {
      if (mode === "optional") return;
      throw notAuthorized(c.core.config, "no token");
    }
    // The JWT middleware accepts exactly "Bearer <token>" (case-sensitive, §1.6).
    const sp = header.indexOf(" ");
    if (sp < 0 || header.slice(0, sp) !== "Bearer") {
      throw notAuthorized(c.core.config, "bad authorization scheme");
    }
    const token = header.slice(sp + 1);
    const claims = await c.core.tokens.verifyAccess(token);
    if (claims === undefined) {
      throw notAuthorized(c.core.config, "invalid or expired token");
    }
    c.principal = claims;
    c.bearer = token;
    if (route.scopes !== undefined) {
      const have = new Set(claims.scopes.split(" ").filter((s) => s !== ""));
      if (!route.scopes.some((s) => have.has(SCOPE_PREFIX + s))) {
        throw insufficientScope(c.core.config, route.scopes);
      }
    }
  }
}

function match(
  pattern: readonly string[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(":")) {
      if (parts[i] === "") return undefined;
      try {
        params[p.slice(1)] = decodeURIComponent(parts[i]);
      } catch {
        return undefined;
      }
    } else if (p !== parts[i]) {
      return undefined;
    }
  }
  return params;
}

/** The caller, or a 401 (for handlers behind `optional` auth that need one). */
export function requirePrincipal(c: Ctx): Claims {
  if (c.principal === undefined) throw notAuthorized(c.core.config, "no token");
  return c.principal;
}

/** The PRN whose data a caller acts on: its own for users, its owner for devices. */
export function ownerOf(p: Claims): string {
  return p.type === "DEVICE" ? p.owner ?? "" : p.prn;
}
