/**
 * The Pantahub token cache, `<config-dir>/auth.json` (spec pvr-reference §2.2), in
 * exactly the Go pvr's format so that both tools share it:
 *
 * ```json
 * {
 *     "spec": "1",
 *     "tokens": {
 *         "https://api.pantahub.com/auth realm=pantahub services": {
 *             "Name": "",
 *             "access-token": "<jwt>",
 *             "refresh-token": "<jwt>"
 *         }
 *     }
 * }
 * ```
 *
 * Go's `json.MarshalIndent` with 4 spaces (keys sorted, no final newline), mode 0600,
 * written atomically (unique temp file, fsync, rename) after re-reading the file, so a
 * token another pvr process saved meanwhile is kept. Reading is lenient: unknown
 * fields are ignored, a missing file is an empty cache, a damaged one is reported
 * ({@link FileTokenStore.problem}) and treated as empty.
 *
 * Deliberate difference (spec §13.5 item 45): anonymous tokens are stored under the
 * key followed by {@link ANON_SUFFIX}, so a read-only anonymous token never shadows the
 * user's own token under the same key.
 *
 * @module
 */

import { PvrError } from "../../errors.ts";
import { goMarshalIndent } from "../../model/go_json.ts";
import { fromPlain } from "../../model/json_value.ts";
import { writeFileAtomic } from "../../../native/durability.ts";

/** The realm Pantahub names in `WWW-Authenticate` (and the one `pvr login` assumes). */
export const PANTAHUB_REALM = "pantahub services";

/** Appended to a token key for the anonymous token of that auth endpoint and realm. */
export const ANON_SUFFIX = " anon";

/** One cached login. */
export interface TokenEntry {
  accessToken: string;
  /** The Go pvr stores the login token here too; refresh sends it. */
  refreshToken: string;
}

/**
 * Where tokens are kept. Implementations: {@link FileTokenStore} (`auth.json`) and
 * {@link MemoryTokenStore} (tests, device sessions). `set` and `delete` change the
 * in-memory view even when persisting fails (they throw after).
 */
export interface TokenStore {
  /** The entry under `key`, if any. */
  get(key: string): Promise<TokenEntry | undefined>;
  /** Stores (and persists) an entry. */
  set(key: string, entry: TokenEntry): Promise<void>;
  /** Removes (and persists) an entry. */
  delete(key: string): Promise<void>;
  /** Every key, sorted. */
  keys(): Promise<string[]>;
}

/** The cache key of a login: `<auth endpoint> realm=<realm>` (spec §2.2). */
export function tokenKey(authEndpoint: string, realm: string): string {
  return `${authEndpoint} realm=${realm}`;
}

/** The key of the anonymous token that goes with a user token key. */
export function anonKey(key: string): string {
  return key + ANON_SUFFIX;
}

/** True for keys of anonymous tokens. */
export function isAnonKey(key: string): boolean {
  return key.endsWith(ANON_SUFFIX);
}

/** The auth endpoint of a key: the text before its first space. */
export function authEndpointOfKey(key: string): string {
  const i = key.indexOf(" ");
  return i < 0 ? key : key.slice(0, i);
}

/**
 * The key `pvr login` and `device create` use for a base URL:
 * `<scheme>://<host[:port]>/auth realm=pantahub services`.
 */
export function defaultTokenKey(baseUrl: string): string {
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    throw new PvrError("USAGE", `not a URL: ${baseUrl}`);
  }
  return tokenKey(`${origin}/auth`, PANTAHUB_REALM);
}

/** A store in memory only. */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();

  constructor(initial: Record<string, TokenEntry> = {}) {
    for (const [k, v] of Object.entries(initial)) this.#tokens.set(k, { ...v });
  }

  get(key: string): Promise<TokenEntry | undefined> {
    const e = this.#tokens.get(key);
    return Promise.resolve(e && { ...e });
  }

  set(key: string, entry: TokenEntry): Promise<void> {
    this.#tokens.set(key, { ...entry });
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.#tokens.delete(key);
    return Promise.resolve();
  }

  keys(): Promise<string[]> {
    return Promise.resolve([...this.#tokens.keys()].sort());
  }
}

/** The parsed tokens of an `auth.json` text, and what was wrong with it (if anything). */
export function parseAuthJson(text: string): { tokens: Map<string, TokenEntry>; problem?: string } {
  const tokens = new Map<string, TokenEntry>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { tokens, problem: `not valid JSON (${(err as Error).message})` };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return { tokens, problem: "not a JSON object" };
  }
  const raw = (doc as Record<string, unknown>).tokens;
  if (raw === undefined || raw === null) return { tokens };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { tokens, problem: '"tokens" is not an object' };
  }
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === null || typeof value !== "object") continue;
    const v = value as Record<string, unknown>;
    const access = typeof v["access-token"] === "string" ? v["access-token"] : "";
    const refresh = typeof v["refresh-token"] === "string" ? v["refresh-token"] : "";
    if (access === "" && refresh === "") continue;
    tokens.set(key, { accessToken: access, refreshToken: refresh });
  }
  return { tokens };
}

/** The `auth.json` text of a set of tokens: Go's `MarshalIndent(…, "", "    ")`. */
export function formatAuthJson(tokens: ReadonlyMap<string, TokenEntry>): string {
  const doc: Record<string, unknown> = { spec: "1", tokens: {} };
  const out = doc.tokens as Record<string, unknown>;
  for (const [k, e] of tokens) {
    out[k] = { Name: "", "access-token": e.accessToken, "refresh-token": e.refreshToken };
  }
  return goMarshalIndent(fromPlain(doc), "", "    ", { numbers: "text" });
}

/**
 * `<config-dir>/auth.json`. Loaded on first use; every change re-reads the file, applies
 * itself and writes the result atomically with mode 0600 (the directory is created
 * with mode 0700 when missing).
 *
 * Needs `--allow-read` and `--allow-write` for the config dir.
 */
export class FileTokenStore implements TokenStore {
  /** The file's path. */
  readonly path: string;
  readonly #dir: string;
  #tokens?: Map<string, TokenEntry>;
  #problem?: string;

  constructor(configDir: string) {
    this.#dir = configDir;
    this.path = `${configDir}/auth.json`;
  }

  /** What was wrong with the file when it was last read (`undefined` when fine or absent). */
  get problem(): string | undefined {
    return this.#problem;
  }

  async #read(): Promise<Map<string, TokenEntry>> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        this.#problem = undefined;
        return new Map();
      }
      throw new PvrError("FAILED", `cannot read ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const { tokens, problem } = parseAuthJson(text);
    this.#problem = problem === undefined ? undefined : `${this.path} is ${problem}`;
    return tokens;
  }

  async #loaded(): Promise<Map<string, TokenEntry>> {
    return this.#tokens ??= await this.#read();
  }

  async get(key: string): Promise<TokenEntry | undefined> {
    const e = (await this.#loaded()).get(key);
    return e && { ...e };
  }

  async keys(): Promise<string[]> {
    return [...(await this.#loaded()).keys()].sort();
  }

  set(key: string, entry: TokenEntry): Promise<void> {
    return this.#change((m) => m.set(key, { ...entry }));
  }

  delete(key: string): Promise<void> {
    return this.#change((m) => m.delete(key));
  }

  async #change(apply: (m: Map<string, TokenEntry>) => void): Promise<void> {
    apply(await this.#loaded());
    let fresh: Map<string, TokenEntry>;
    try {
      fresh = await this.#read();
    } catch {
      fresh = new Map();
    }
    apply(fresh);
    this.#tokens = fresh;
    try {
      await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.path, formatAuthJson(fresh), { mode: 0o600 });
    } catch (err) {
      throw new PvrError("FAILED", `cannot save ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
