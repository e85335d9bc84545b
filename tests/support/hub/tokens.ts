/**
 * JWTs of the stand-in Pantahub: access tokens (§2.1), signed blob URLs (§4.4) and log
 * cursors (§7.4), all checked against the hub's injected clock so tests can expire them
 * deterministically, plus a set of tokens expired on purpose (faults).
 *
 * All three are HS256 with per-hub random keys. The real access tokens and cursors are
 * RS256; pvr treats tokens as opaque (§2.1), so only the claims matter.
 *
 * @module
 */

import { createHash, randomBytes } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

/** The principal types that appear in the `type` claim. */
export type PrincipalType = "USER" | "DEVICE" | "SESSION";

/** Access-token claims, as `/auth/auth_status` returns them (§2.1). */
export interface Claims {
  /** The username exactly as typed at login (nick, e-mail, PRN). */
  id: string;
  prn: string;
  nick: string;
  type: PrincipalType;
  /** `user`, `admin` or `device`. */
  roles: string;
  /** Space-separated scope PRNs. */
  scopes: string;
  /** Devices only: the owner PRN, `""` while unclaimed. */
  owner?: string;
  /** Expiry, Unix seconds. */
  exp: number;
  /** First issue time, Unix seconds (kept across refreshes). */
  orig_iat: number;
}

/** Claims of a signed blob URL token (§4.4); custom names capitalised as the server does. */
export interface ObjectTokenClaims {
  iss: string;
  sub: string;
  /** The storage id to read or write, or `SHAONLY` for a link's PUT. */
  aud: string;
  iat: number;
  exp: number;
  DispositionName: string;
  Size: number;
  Method: "GET" | "PUT";
  Sha: string;
}

/** Claims of a log cursor (§7.4). */
export interface CursorClaims {
  /** The server-side scroll id. */
  scroll: string;
  /** The caller PRN. */
  aud: string;
  exp: number;
}

/** Signs and checks the hub's JWTs. */
export class TokenService {
  readonly #authKey: Uint8Array;
  readonly #objectKey: Uint8Array;
  readonly #now: () => number;
  /** SHA-256 of tokens expired on purpose. */
  readonly #expired = new Set<string>();

  constructor(now: () => number, keys?: { auth: string; object: string }) {
    this.#now = now;
    this.#authKey = keys ? hexBytes(keys.auth) : new Uint8Array(randomBytes(32));
    this.#objectKey = keys ? hexBytes(keys.object) : new Uint8Array(randomBytes(32));
  }

  /** The keys as hex, for saving a demo hub's data. */
  exportKeys(): { auth: string; object: string } {
    return { auth: bytesHex(this.#authKey), object: bytesHex(this.#objectKey) };
  }

  /** The current time in Unix seconds. */
  nowSec(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Signs access-token claims. */
  signAccess(claims: Claims): Promise<string> {
    return sign({ ...claims }, this.#authKey);
  }

  /** The claims of a valid, unexpired access token, or `undefined`. */
  async verifyAccess(token: string): Promise<Claims | undefined> {
    const p = await this.#verify(token, this.#authKey);
    if (p === undefined || typeof p.prn !== "string" || typeof p.type !== "string") {
      return undefined;
    }
    return p as unknown as Claims;
  }

  /** Signs a blob URL token. */
  signObject(claims: ObjectTokenClaims): Promise<string> {
    return sign({ ...claims }, this.#objectKey);
  }

  /** The claims of a valid, unexpired blob URL token, or `undefined`. */
  async verifyObject(token: string): Promise<ObjectTokenClaims | undefined> {
    const p = await this.#verify(token, this.#objectKey);
    if (p === undefined || typeof p.aud !== "string" || typeof p.Method !== "string") {
      return undefined;
    }
    return p as unknown as ObjectTokenClaims;
  }

  /** Signs a log cursor. */
  signCursor(claims: CursorClaims): Promise<string> {
    return sign({ ...claims }, this.#authKey);
  }

  /** The claims of a valid, unexpired log cursor, or `undefined`. */
  async verifyCursor(token: string): Promise<CursorClaims | undefined> {
    const p = await this.#verify(token, this.#authKey);
    if (p === undefined || typeof p.scroll !== "string" || typeof p.aud !== "string") {
      return undefined;
    }
    return p as unknown as CursorClaims;
  }

  /** Marks a token (of any kind) expired from now on. */
  expire(token: string): void {
    this.#expired.add(tokenFingerprint(token));
  }

  async #verify(token: string, key: Uint8Array): Promise<Record<string, unknown> | undefined> {
    if (this.#expired.has(tokenFingerprint(token))) return undefined;
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ["HS256"],
        currentDate: new Date(this.#now()),
      });
      if (typeof payload.exp !== "number") return undefined;
      return payload as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

/**
 * Signs HS256. A random `nonce` in the JOSE header makes every token unique (two
 * tokens with the same claims in the same second would otherwise be equal, and
 * expiring one would expire both) while the claims stay exactly as specified.
 */
function sign(payload: Record<string, unknown>, key: Uint8Array): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", nonce: randomBytes(8).toString("hex") })
    .sign(key);
}

/** A short, non-reversible tag of a secret for logs: `sha256:<first 12 hex>`. */
export function tokenFingerprint(token: string): string {
  return "sha256:" + createHash("sha256").update(token).digest("hex").slice(0, 12);
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
}

function bytesHex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
