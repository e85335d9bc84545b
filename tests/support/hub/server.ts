/**
 * A faithful stand-in Pantahub for tests and local demos: §11 of
 * `spec/pantahub-api.md` on `127.0.0.1`, port 0. Metadata lives in memory (optionally
 * saved to a small JSON file), blobs in a directory. Tests drive it over HTTP and
 * inspect or seed it through the {@link Hub} accessors; {@link Hub.faults} makes it
 * misbehave on request.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * await using hub = await startHub({ now: clock.now });
 * hub.addUser("alice", "secret");
 * const res = await fetch(`${hub.url}/auth/login`, {
 *   method: "POST",
 *   headers: { "Content-Type": "application/json" },
 *   body: JSON.stringify({ username: "alice", password: "secret" }),
 * });
 * const { token } = await res.json();
 * clock.advance(3601_000); // the token has expired now
 * ```
 *
 * Needs `--allow-net` and `--allow-read`/`--allow-write` (blob directory).
 *
 * Scope: the 2023 pvr snapshot's endpoints (open question §12.3: no OAuth/PKCE,
 * sessions or personal tokens) and the `pvr.pantahub.com` `USER/DEVICE` resolver is not
 * emulated (open question §12.1): tests use absolute `<url>/trails/<id>` remotes, and
 * `GET /devices/np/<user>/<device>` maps nicks to ids.
 *
 * @module
 */

import { fromPlain, isJsonObject, type JsonObject } from "../../../core/model/json_value.ts";
import { createSha256 } from "../../../core/store/hash.ts";
import {
  ANON_PRN,
  authApp,
  createUser,
  issueAnonToken,
  issueDeviceToken,
  issueUserToken,
  profilesApp,
  type TokenOptions,
} from "./auth.ts";
import { createDevice, devicesApp } from "./devices.ts";
import { applyResponseFaults, type FaultAction, Faults, sleep } from "./faults.ts";
import { errorResponse, HubError, REASON_HEADER } from "./http.ts";
import { logsApp } from "./logs.ts";
import { blobApps, objectsApp } from "./objects.ts";
import {
  type Ctx,
  type HubConfig,
  type HubCore,
  type RangeMode,
  Router,
  wwwAuthenticate,
} from "./router.ts";
import { asGoDecodes, validateServerState } from "./state.ts";
import {
  type DeviceRecord,
  HubStore,
  isObjectIdHex,
  type LogRecord,
  type ObjectRecord,
  petname,
  randomAlnum,
  randomWord,
  type StepRecord,
  storageIdFor,
  type TrailRecord,
  type UserRecord,
} from "./store.ts";
import { tokenFingerprint, TokenService } from "./tokens.ts";
import { createTrail, makeStep, trailsApp } from "./trails.ts";

// open question §12.1: no `pvr.pantahub.com` resolver; see the module doc.
// open question §12.3: target client is the 2023 pvr snapshot (no OAuth/PKCE routes).

export type { FaultAction, FaultHandle, FaultRule } from "./faults.ts";
export type { Faults } from "./faults.ts";
export type { RangeMode } from "./router.ts";
export type {
  DeviceRecord,
  LogRecord,
  ObjectRecord,
  StepRecord,
  TrailRecord,
  UserRecord,
} from "./store.ts";
export type { Claims } from "./tokens.ts";
export type { TokenOptions } from "./auth.ts";

/** Options of {@link startHub}. */
export interface HubOptions {
  /** Blob directory; default a fresh temp dir removed by `close()`. */
  blobDir?: string;
  /** Save metadata (and the signing keys) to this JSON file after every change and
   * load it at start (demo server). Default: memory only. */
  dataFile?: string;
  /** Listen address; default `127.0.0.1`. */
  hostname?: string;
  /** Listen port; default 0 (any free port). */
  port?: number;
  /** Host name used in absolute URLs; default `hostname`. */
  publicHost?: string;
  /** Clock in Unix milliseconds for tokens, signed URLs, cursors and timestamps. */
  now?: () => number;
  /** Access-token lifetime, seconds (default 3600). */
  tokenTtlSec?: number;
  /** Anonymous-token lifetime, seconds (default 300). */
  anonTokenTtlSec?: number;
  /** Refresh window after first issue, seconds (default 86400). */
  refreshWindowSec?: number;
  /** Signed blob URL lifetime, seconds (default 86400). */
  signedUrlTtlSec?: number;
  /** Log cursor lifetime, seconds (default 120). */
  cursorTtlSec?: number;
  /** Blob GETs: `honour` Range with 206 (default, like S3 and Go) or `ignore` it. */
  range?: RangeMode;
  /** Registered accounts need no e-mail verification (default false). */
  autoVerify?: boolean;
  /**
   * Whether a failed `POST /auth/login` carries `WWW-Authenticate` (default true, as
   * §11.1 asks for every 401; the real server sends none there, §2.2).
   */
  login401Header?: boolean;
  /** Serve HTTPS with this PEM certificate and key (default plain HTTP). */
  tls?: { cert: string; key: string };
}

/** One request as the hub saw it. Secrets are never kept in clear. */
export interface RequestLogEntry {
  /** 1, 2, 3… in arrival order. */
  readonly seq: number;
  /** Hub clock at arrival, Unix ms. */
  readonly time: number;
  readonly method: string;
  /** Pathname; signed-URL tokens are replaced by `[redacted]`. */
  readonly path: string;
  /** Query string (with `?`, or `""`); secret parameters are `[redacted]`. */
  readonly query: string;
  readonly status: number;
  /** Selected request headers, lower-case names; `authorization` as a fingerprint. */
  readonly request: Readonly<Record<string, string>>;
  /** Selected response headers, lower-case names; signed URLs redacted. */
  readonly response: Readonly<Record<string, string>>;
  /** PRN of the verified caller, if any. */
  readonly principal?: string;
  /** The descriptive error text (the `X-Hub-Reason` header), for error answers. */
  readonly reason?: string;
  /** Kinds of the fault actions applied. */
  readonly faults: readonly string[];
}

/** Seeding options of {@link Hub.addDevice}. */
export interface AddDeviceOptions {
  /** Owner nick, e-mail or PRN; absent = unclaimed (with a claim challenge). */
  owner?: string;
  nick?: string;
  secret?: string;
  public?: boolean;
  userMeta?: Record<string, unknown>;
  deviceMeta?: Record<string, unknown>;
}

/** Seeding options of {@link Hub.addStep}. */
export interface AddStepOptions {
  commitMsg?: string;
  /** Progress status (default `NEW`). */
  status?: string;
}

/**
 * A running stand-in Pantahub. The inspection accessors return the live records: read
 * them freely, change them only to set up a test on purpose.
 */
export interface Hub extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** `<url>/auth`, the `ph-aeps` of the 401 header. */
  readonly authUrl: string;
  readonly port: number;
  /** The exact `WWW-Authenticate` value of every 401. */
  readonly wwwAuthenticate: string;
  /** Fault rules. */
  readonly faults: Faults;
  /** Requests seen so far, oldest first. */
  readonly requests: readonly RequestLogEntry[];
  /** Forgets the request log. */
  clearRequests(): void;
  /** Stops the server (and removes the temp blob dir it created). */
  close(): Promise<void>;

  /** Adds a verified account. */
  addUser(nick: string, password: string, email?: string): UserRecord;
  /** The pending e-mail verification challenge of an account (`undefined` if none). */
  verificationChallenge(nickOrEmail: string): string | undefined;
  /** Adds a device (owned, or unclaimed with a challenge). */
  addDevice(opts?: AddDeviceOptions): DeviceRecord;
  /** Registers an object for an owner and (unless `upload: false`) stores its blob. */
  addObject(
    owner: string,
    bytes: Uint8Array,
    opts?: { name?: string; upload?: boolean },
  ): Promise<ObjectRecord>;
  /** Creates a device's trail and factory step from a state (validated as §5). */
  addTrail(device: string, state: JsonObject | Record<string, unknown>): Promise<TrailRecord>;
  /** Appends a step to a device's trail (validated as §5). */
  addStep(
    device: string,
    state: JsonObject | Record<string, unknown>,
    opts?: AddStepOptions,
  ): Promise<StepRecord>;
  /**
   * Issues an access token: `subject` is a user (nick, e-mail, PRN), a device (PRN,
   * hex id or nick) or `prn:pantahub.com:auth:/anon`.
   */
  issueToken(subject: string, opts?: TokenOptions): Promise<string>;
  /** Expires a token (access, signed URL or cursor) from now on. */
  expireToken(token: string): void;

  users(): UserRecord[];
  user(nickEmailOrPrn: string): UserRecord | undefined;
  devices(): DeviceRecord[];
  device(idNickOrPrn: string): DeviceRecord | undefined;
  trails(): TrailRecord[];
  trail(id: string): TrailRecord | undefined;
  steps(trailId: string): StepRecord[];
  step(trailId: string, rev: number): StepRecord | undefined;
  /** Object records, optionally of one owner (nick, e-mail or PRN). */
  objects(owner?: string): ObjectRecord[];
  object(owner: string, sha: string): ObjectRecord | undefined;
  /** The stored blob bytes of an owner's object (following links). */
  blob(owner: string, sha: string): Promise<Uint8Array | undefined>;
  logEntries(): LogRecord[];
  /** Writes the data file now (no-op without `dataFile`). */
  save(): Promise<void>;
}

/** A settable clock for deterministic expiry. */
export interface ManualClock {
  readonly now: () => number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
  /** Sets the clock to `ms`. */
  set(ms: number): void;
}

/** A manual clock starting at `startMs` (default 2024-01-01T00:00:00Z). */
export function manualClock(startMs = Date.UTC(2024, 0, 1)): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

const LOGGED_REQUEST = ["content-type", "content-length", "user-agent", "range"];
const LOGGED_RESPONSE = [
  "content-type",
  "content-length",
  "content-range",
  "www-authenticate",
  "pantahub-object-type",
  "retry-after",
  "location",
];
const SECRET_PARAMS = ["challenge", "next-cursor", "token", "password", "secret"];
const SIGNED_PATH = /(\/(?:local-)?s3\/)[^/?#]+/g;

/** Replaces signed-URL tokens in a URL or path with `[redacted]`. */
export function redactUrl(text: string): string {
  return text.replace(SIGNED_PATH, "$1[redacted]");
}

function redactQuery(params: URLSearchParams): string {
  if ([...params.keys()].length === 0) return "";
  const out = new URLSearchParams();
  for (const [k, v] of params) out.append(k, SECRET_PARAMS.includes(k) ? "[redacted]" : v);
  return "?" + out.toString();
}

class HubServer implements Hub {
  readonly url: string;
  readonly authUrl: string;
  readonly port: number;
  readonly wwwAuthenticate: string;
  readonly faults: Faults = new Faults();
  readonly core: HubCore;
  readonly #requests: RequestLogEntry[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #router: Router;
  readonly #abort = new AbortController();
  readonly #ownBlobDir: boolean;
  readonly #dataFile?: string;
  #seq = 0;
  #closed?: Promise<void>;
  #saving: Promise<void> = Promise.resolve();

  constructor(
    core: HubCore,
    server: Deno.HttpServer<Deno.NetAddr>,
    router: Router,
    ownBlobDir: boolean,
    dataFile?: string,
  ) {
    this.core = core;
    this.#server = server;
    this.#router = router;
    this.#ownBlobDir = ownBlobDir;
    this.#dataFile = dataFile;
    this.url = core.config.base;
    this.authUrl = `${core.config.base}/auth`;
    this.port = server.addr.port;
    this.wwwAuthenticate = wwwAuthenticate(core.config);
  }

  get requests(): readonly RequestLogEntry[] {
    return this.#requests;
  }

  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** Answers one request: faults, routing, response faults, log, save. */
  async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const time = this.core.now();
    const actions = this.faults.take(req, url);
    const c: Ctx = { req, url, params: {}, core: this.core, rangeMode: this.core.config.range };
    let resp: Response | undefined;
    for (const a of actions) {
      if (resp !== undefined) break;
      if (a.kind === "delay" && a.where !== "body") await sleep(a.ms, this.#abort.signal);
      else if (a.kind === "expire-token") {
        const auth = req.headers.get("Authorization") ?? "";
        if (auth.startsWith("Bearer ")) this.core.tokens.expire(auth.slice(7));
      } else if (a.kind === "expire-signed-url") {
        const m = /^\/(?:local-)?s3\/([^/]+)$/.exec(url.pathname);
        if (m !== null) this.core.tokens.expire(decodeURIComponent(m[1]));
      } else if (a.kind === "range") c.rangeMode = a.mode;
      else if (a.kind === "status") resp = this.#faultStatus(a);
    }
    resp ??= await this.#router.dispatch(c);
    if (actions.length > 0) resp = await applyResponseFaults(resp, actions, this.#abort.signal);
    this.#log(req, url, time, resp, c, actions);
    if (req.method !== "GET" && req.method !== "HEAD") await this.save();
    return resp;
  }

  #faultStatus(a: Extract<FaultAction, { kind: "status" }>): Response {
    const headers: Record<string, string> = {};
    if (a.retryAfter !== undefined) headers["Retry-After"] = String(a.retryAfter);
    if (a.status === 401) headers["WWW-Authenticate"] = this.wwwAuthenticate;
    if (a.body !== undefined) {
      return new Response(JSON.stringify(a.body), {
        status: a.status,
        headers: { ...headers, "Content-Type": "application/json; charset=utf-8" },
      });
    }
    return errorResponse(
      new HubError(a.status, "injected fault", { headers }),
      "plain",
      this.core.now(),
    );
  }

  #log(req: Request, url: URL, time: number, resp: Response, c: Ctx, actions: FaultAction[]) {
    const request: Record<string, string> = {};
    for (const h of LOGGED_REQUEST) {
      const v = req.headers.get(h);
      if (v !== null) request[h] = v;
    }
    const auth = req.headers.get("Authorization");
    if (auth !== null) {
      const sp = auth.indexOf(" ");
      request.authorization = sp < 0
        ? "[redacted]"
        : `${auth.slice(0, sp)} ${tokenFingerprint(auth.slice(sp + 1))}`;
    }
    const response: Record<string, string> = {};
    for (const h of LOGGED_RESPONSE) {
      const v = resp.headers.get(h);
      if (v !== null) response[h] = h === "location" ? redactUrl(v) : v;
    }
    this.#requests.push({
      seq: ++this.#seq,
      time,
      method: req.method,
      path: redactUrl(url.pathname),
      query: redactQuery(url.searchParams),
      status: resp.status,
      request,
      response,
      principal: c.principal?.prn,
      reason: resp.headers.get(REASON_HEADER) ?? undefined,
      faults: actions.map((a) => a.kind),
    });
  }

  save(): Promise<void> {
    const file = this.#dataFile;
    if (file === undefined) return Promise.resolve();
    // Saves run one after the other; each writes a snapshot taken when it starts.
    this.#saving = this.#saving.catch(() => {}).then(async () => {
      const data = {
        version: 1,
        keys: this.core.tokens.exportKeys(),
        store: this.core.store.snapshot(),
      };
      const tmp = `${file}.${crypto.randomUUID()}.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(data), { mode: 0o600 });
      await Deno.rename(tmp, file);
    });
    return this.#saving;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#abort.abort();
      await this.#server.shutdown();
      await this.#saving.catch(() => {});
      if (this.#ownBlobDir) {
        await Deno.remove(this.core.store.blobDir, { recursive: true }).catch(() => {});
      }
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // -- seeding -------------------------------------------------------------------

  #ownerPrn(owner: string): string {
    if (owner.startsWith("prn:") || owner === "") return owner;
    const u = this.core.store.findUser(owner);
    if (u === undefined) throw new Error(`hub: no user ${owner}`);
    return u.prn;
  }

  addUser(nick: string, password: string, email = `${nick}@example.com`): UserRecord {
    for (const u of this.core.store.users.values()) {
      if (u.nick === nick || u.email === email) throw new Error(`hub: user ${nick} exists`);
    }
    return createUser(this.core, nick, password, email, false);
  }

  verificationChallenge(nickOrEmail: string): string | undefined {
    const c = this.core.store.findUser(nickOrEmail)?.challenge;
    return c === "" ? undefined : c;
  }

  addDevice(opts: AddDeviceOptions = {}): DeviceRecord {
    const owner = opts.owner === undefined ? "" : this.#ownerPrn(opts.owner);
    const nick = opts.nick ??
      (owner === ""
        ? `__unregistered__${randomWord()}_${randomAlnum(10, "abcdefghijklmnopqrstuvwxyz")}`
        : petname("_"));
    if (owner !== "" && this.core.store.deviceByNick(owner, nick) !== undefined) {
      throw new Error(`hub: device ${nick} exists`);
    }
    return createDevice(this.core, {
      owner,
      nick,
      secret: opts.secret ?? randomAlnum(15),
      challenge: owner === "" ? petname("-") : "",
      public: opts.public,
      userMeta: opts.userMeta,
      deviceMeta: opts.deviceMeta,
    });
  }

  async addObject(
    owner: string,
    bytes: Uint8Array,
    opts: { name?: string; upload?: boolean } = {},
  ): Promise<ObjectRecord> {
    const prn = this.#ownerPrn(owner);
    const h = createSha256();
    h.update(bytes);
    const sha = h.digest();
    const now = this.core.now();
    const rec: ObjectRecord = {
      id: sha,
      storageId: storageIdFor(prn, sha),
      owner: prn,
      objectname: opts.name ?? sha,
      sha256sum: sha,
      size: String(bytes.length),
      sizeint: bytes.length,
      mimeType: "application/octet-stream",
      garbage: false,
      timeCreated: now,
      timeModified: now,
    };
    this.core.store.objects.set(rec.storageId, rec);
    if (opts.upload ?? true) await Deno.writeFile(this.core.store.blobPath(rec.storageId), bytes);
    return rec;
  }

  #stateOf(state: JsonObject | Record<string, unknown>): JsonObject {
    const v = isJsonObject(state as JsonObject) ? state as JsonObject : fromPlain(state);
    if (!isJsonObject(v)) throw new Error("hub: a state must be an object");
    return asGoDecodes(v) as JsonObject;
  }

  #deviceOrThrow(device: string): DeviceRecord {
    const d = this.device(device);
    if (d === undefined) throw new Error(`hub: no device ${device}`);
    return d;
  }

  async addTrail(
    device: string,
    state: JsonObject | Record<string, unknown>,
  ): Promise<TrailRecord> {
    const d = this.#deviceOrThrow(device);
    return await createTrail(this.core, d.id, d.owner, this.#stateOf(state), true);
  }

  async addStep(
    device: string,
    state: JsonObject | Record<string, unknown>,
    opts: AddStepOptions = {},
  ): Promise<StepRecord> {
    const d = this.#deviceOrThrow(device);
    const trail = this.core.store.trails.get(d.id);
    if (trail === undefined) throw new Error(`hub: device ${device} has no trail`);
    const s = this.#stateOf(state);
    const used = await validateServerState(this.core, trail.owner, s, true);
    const rev = (this.core.store.stepsOf(d.id).at(-1)?.rev ?? -1) + 1;
    return makeStep(this.core, trail, rev, {
      state: s,
      usedObjects: used,
      commitMsg: opts.commitMsg ?? "",
      status: opts.status ?? "NEW",
      progressTime: 0,
    });
  }

  issueToken(subject: string, opts: TokenOptions = {}): Promise<string> {
    if (subject === ANON_PRN) {
      return issueAnonToken(
        this.core,
        (opts.scopes ?? ["devices.readonly", "objects.readonly", "trails.readonly"]).join(" "),
        opts.ttlSec,
      );
    }
    const u = this.core.store.findUser(subject);
    if (u !== undefined) return issueUserToken(this.core, u, opts);
    const d = this.device(subject);
    if (d !== undefined) return issueDeviceToken(this.core, d, opts);
    throw new Error(`hub: no user or device ${subject}`);
  }

  expireToken(token: string): void {
    this.core.tokens.expire(token);
  }

  // -- inspection ----------------------------------------------------------------

  users(): UserRecord[] {
    return [...this.core.store.users.values()];
  }

  user(nickEmailOrPrn: string): UserRecord | undefined {
    return this.core.store.findUser(nickEmailOrPrn);
  }

  devices(): DeviceRecord[] {
    return [...this.core.store.devices.values()];
  }

  device(idNickOrPrn: string): DeviceRecord | undefined {
    const store = this.core.store;
    const key = idNickOrPrn.startsWith("prn:::devices:/") ? idNickOrPrn.slice(15) : idNickOrPrn;
    if (isObjectIdHex(key)) return store.devices.get(key);
    return [...store.devices.values()].find((d) => d.nick === key);
  }

  trails(): TrailRecord[] {
    return [...this.core.store.trails.values()];
  }

  trail(id: string): TrailRecord | undefined {
    return this.core.store.trails.get(id);
  }

  steps(trailId: string): StepRecord[] {
    return this.core.store.stepsOf(trailId);
  }

  step(trailId: string, rev: number): StepRecord | undefined {
    return this.core.store.steps.get(`${trailId}-${rev}`);
  }

  objects(owner?: string): ObjectRecord[] {
    const all = [...this.core.store.objects.values()];
    if (owner === undefined) return all;
    const prn = this.#ownerPrn(owner);
    return all.filter((o) => o.owner === prn);
  }

  object(owner: string, sha: string): ObjectRecord | undefined {
    return this.core.store.objectFor(this.#ownerPrn(owner), sha);
  }

  async blob(owner: string, sha: string): Promise<Uint8Array | undefined> {
    const rec = this.object(owner, sha);
    if (rec === undefined) return undefined;
    try {
      return await Deno.readFile(this.core.store.blobPath(rec.linkedObject ?? rec.storageId));
    } catch {
      return undefined;
    }
  }

  logEntries(): LogRecord[] {
    return [...this.core.store.logs];
  }
}

/**
 * Starts a stand-in Pantahub.
 *
 * Needs `--allow-net` and read/write access to the blob directory (and the temp dir).
 */
export async function startHub(opts: HubOptions = {}): Promise<Hub> {
  const now = opts.now ?? Date.now;
  const hostname = opts.hostname ?? "127.0.0.1";
  const ownBlobDir = opts.blobDir === undefined;
  const blobDir = opts.blobDir ?? await Deno.makeTempDir({ prefix: "pvr-hub-blobs-" });
  await Deno.mkdir(blobDir, { recursive: true });

  let saved: { keys?: { auth: string; object: string }; store?: unknown } | undefined;
  if (opts.dataFile !== undefined) {
    try {
      saved = JSON.parse(await Deno.readTextFile(opts.dataFile));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  const store = new HubStore(blobDir, now);
  if (saved?.store !== undefined) store.restore(saved.store);
  const tokens = new TokenService(now, saved?.keys);

  // The base URL depends on the port, known only once listening: the config object is
  // completed right after `Deno.serve` returns, before any request can arrive.
  const config = {
    base: "",
    tokenTtlSec: opts.tokenTtlSec ?? 3600,
    anonTokenTtlSec: opts.anonTokenTtlSec ?? 300,
    refreshWindowSec: opts.refreshWindowSec ?? 86400,
    signedUrlTtlSec: opts.signedUrlTtlSec ?? 86400,
    cursorTtlSec: opts.cursorTtlSec ?? 120,
    autoVerify: opts.autoVerify ?? false,
    login401Header: opts.login401Header ?? true,
    range: opts.range ?? "honour",
  } satisfies HubConfig;
  const core: HubCore = { store, tokens, config, now, scrolls: new Map() };
  const router = new Router([
    authApp,
    devicesApp,
    trailsApp,
    objectsApp,
    logsApp,
    profilesApp,
    ...blobApps,
  ]);
  const ref: { hub?: HubServer } = {};
  const server = Deno.serve({
    hostname,
    port: opts.port ?? 0,
    ...(opts.tls ?? {}),
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, (req) => ref.hub === undefined ? new Response(null, { status: 503 }) : ref.hub.handle(req));
  const scheme = opts.tls === undefined ? "http" : "https";
  config.base = `${scheme}://${opts.publicHost ?? hostname}:${server.addr.port}`;
  ref.hub = new HubServer(core, server, router, ownBlobDir, opts.dataFile);
  return ref.hub;
}
