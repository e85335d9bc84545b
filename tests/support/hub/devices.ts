/**
 * The devices app of the stand-in Pantahub (spec pantahub-api.md §6): create or
 * self-register, list and get (with public read), claim, rename, metas, public flag,
 * delete.
 *
 * @module
 */

import { appError, goTime, isRecord, jsonResponse, readBody } from "./http.ts";
import { authStatusHandler } from "./auth.ts";
import { type App, type Ctx, type HubCore, requirePrincipal, SCOPES } from "./router.ts";
import {
  type DeviceRecord,
  isObjectIdHex,
  petname,
  type PlainMap,
  randomAlnum,
  randomWord,
  storageIdFor,
} from "./store.ts";
import type { Claims } from "./tokens.ts";

const ENC = "plain" as const;
const NICK_RE = /^[A-Za-z0-9_\-+%]+$/;

/** Options of {@link deviceDoc}. */
export interface DeviceDocOptions {
  /** Include `secret` (creation and full update answers). */
  secret?: boolean;
  /** Add `owner-nick` (GET by id or nick). */
  ownerNick?: string;
  /** Blank challenge and metas (a caller who does not own the device). */
  foreign?: boolean;
}

/** The Device document in Go field order (§6.1); empty `secret`/`challenge` omitted. */
export function deviceDoc(d: DeviceRecord, o: DeviceDocOptions = {}): Record<string, unknown> {
  const doc: Record<string, unknown> = { id: d.id, prn: d.prn, nick: d.nick, owner: d.owner };
  if (o.ownerNick !== undefined && o.ownerNick !== "") doc["owner-nick"] = o.ownerNick;
  if (o.secret && !o.foreign && d.secret !== "") doc.secret = d.secret;
  doc["time-created"] = goTime(d.timeCreated);
  doc["time-modified"] = goTime(d.timeModified);
  if (!o.foreign && d.challenge !== "") doc.challenge = d.challenge;
  doc.public = d.public;
  doc["user-meta"] = o.foreign ? {} : d.userMeta;
  doc["device-meta"] = o.foreign ? {} : d.deviceMeta;
  doc.garbage = d.garbage;
  doc.mark_public_processed = false;
  return doc;
}

/** Creates a device record. */
export function createDevice(
  core: HubCore,
  fields: {
    owner: string;
    nick: string;
    secret: string;
    challenge?: string;
    public?: boolean;
    userMeta?: PlainMap;
    deviceMeta?: PlainMap;
  },
): DeviceRecord {
  const id = core.store.newId();
  const now = core.now();
  const d: DeviceRecord = {
    id,
    prn: `prn:::devices:/${id}`,
    nick: fields.nick,
    owner: fields.owner,
    secret: fields.secret,
    challenge: fields.challenge ?? "",
    public: fields.public ?? false,
    userMeta: fields.userMeta ?? {},
    deviceMeta: fields.deviceMeta ?? {},
    garbage: false,
    timeCreated: now,
    timeModified: now,
  };
  core.store.devices.set(id, d);
  return d;
}

/** A JSON object body; an empty body is `undefined`, anything else a 400. */
async function readObjectBody(c: Ctx): Promise<Record<string, unknown> | undefined> {
  const bytes = await readBody(c.req);
  if (bytes.length === 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw appError(400, "body does not decode");
  }
  if (v === null) return undefined;
  if (!isRecord(v)) throw appError(400, "body must be a JSON object");
  return v;
}

function optString(b: Record<string, unknown> | undefined, k: string): string | undefined {
  const v = b?.[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw appError(400, `field ${k} must be a string`);
  return v;
}

function optMap(b: Record<string, unknown> | undefined, k: string): PlainMap | undefined {
  const v = b?.[k];
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw appError(400, `field ${k} must be an object`);
  return v;
}

async function postDevice(c: Ctx): Promise<Response> {
  if ((c.req.headers.get("User-Agent") ?? "") === "") {
    throw appError(403, "missing User-Agent", "Incompatible Client; upgrade pantavisor");
  }
  const p = c.principal;
  const b = await readObjectBody(c);
  let d: DeviceRecord;
  if (p !== undefined) {
    if (p.type === "DEVICE") throw appError(403, "devices cannot create devices");
    const nick = optString(b, "nick") || petname("_");
    if (!NICK_RE.test(nick)) throw appError(400, `invalid nick ${nick}`);
    if (c.core.store.deviceByNick(p.prn, nick) !== undefined) {
      throw appError(409, "device already exists", "device already exists");
    }
    d = createDevice(c.core, {
      owner: p.prn,
      nick,
      secret: optString(b, "secret") || randomAlnum(15),
      userMeta: optMap(b, "user-meta"),
    });
  } else {
    // Self-registration (§6.2): unowned, with a claim challenge.
    d = createDevice(c.core, {
      owner: "",
      nick: `__unregistered__${randomWord()}_${randomAlnum(10, "abcdefghijklmnopqrstuvwxyz")}`,
      secret: optString(b, "secret") || randomAlnum(15),
      challenge: petname("-"),
      deviceMeta: optMap(b, "device-meta"),
    });
  }
  return jsonResponse(200, deviceDoc(d, { secret: true }), ENC);
}

/** The PRN in whose account a nick is looked up. */
function accountOf(c: Ctx, p: Claims): string | undefined {
  const q = c.url.searchParams;
  const owner = q.get("owner");
  if (owner !== null && owner !== "") return owner;
  const ownerNick = q.get("owner-nick");
  if (ownerNick !== null && ownerNick !== "") return c.core.store.findUser(ownerNick)?.prn;
  return p.type === "DEVICE" ? p.owner ?? "" : p.prn;
}

/**
 * The device named by the `:id` segment: a 24-hex id (404 when unknown) or a nick in
 * the caller's (or `owner-nick`'s) account (400 when unknown, §6.3).
 */
function resolveDevice(c: Ctx, p: Claims): DeviceRecord {
  const x = c.params.id;
  if (isObjectIdHex(x)) {
    const d = c.core.store.devices.get(x);
    if (d === undefined || d.garbage) throw appError(404, "Device not found");
    return d;
  }
  const account = accountOf(c, p);
  const d = account === undefined ? undefined : c.core.store.deviceByNick(account, x);
  if (d === undefined) throw appError(400, "Error Parsing Device ID or Nick");
  return d;
}

function owns(p: Claims, d: DeviceRecord): boolean {
  return p.type !== "DEVICE" && d.owner !== "" && d.owner === p.prn;
}

function isSelf(p: Claims, d: DeviceRecord): boolean {
  return p.type === "DEVICE" && p.prn === d.prn;
}

function ownerNickOf(c: Ctx, d: DeviceRecord): string {
  if (d.owner === "") return "";
  const u = c.core.store.userByPrn(d.owner);
  if (u === undefined) throw appError(500, `owner account of ${d.id} missing`);
  return u.nick;
}

function getDevice(c: Ctx): Response {
  const p = requirePrincipal(c);
  const d = resolveDevice(c, p);
  const mine = owns(p, d) || isSelf(p, d);
  if (!mine && !d.public) throw appError(403, "No Access");
  return jsonResponse(200, deviceDoc(d, { ownerNick: ownerNickOf(c, d), foreign: !mine }), ENC);
}

function getByNickPath(c: Ctx): Response {
  const p = requirePrincipal(c);
  const u = c.core.store.findUser(c.params.usernick);
  const d = u === undefined ? undefined : c.core.store.deviceByNick(u.prn, c.params.devicenick);
  if (d === undefined) throw appError(404, "Device not found");
  const mine = owns(p, d) || isSelf(p, d);
  if (!mine && !d.public) throw appError(403, "No Access");
  return jsonResponse(200, deviceDoc(d, { ownerNick: ownerNickOf(c, d), foreign: !mine }), ENC);
}

/** `GET /devices/` filters (§6.3): `v` equal, `!v` not equal, `^v` case-insensitive prefix. */
function fieldFilter(name: string, want: string): (doc: Record<string, unknown>) => boolean {
  return (doc) => {
    const raw = doc[name];
    const have = raw === undefined || raw === null ? "" : String(raw);
    if (want.startsWith("!")) return have !== want.slice(1);
    if (want.startsWith("^")) return have.toLowerCase().startsWith(want.slice(1).toLowerCase());
    return have === want;
  };
}

function listDevices(c: Ctx): Response {
  const p = requirePrincipal(c);
  const q = c.url.searchParams;
  const store = c.core.store;
  const account = q.has("owner") || q.has("owner-nick") ? accountOf(c, p) : undefined;
  let rows: Array<{ d: DeviceRecord; mine: boolean }>;
  if (account !== undefined && account !== p.prn) {
    rows = [...store.devices.values()].filter((d) => d.owner === account && d.public)
      .map((d) => ({ d, mine: owns(p, d) }));
  } else if (p.type === "DEVICE") {
    const self = store.devices.get(p.prn.slice(p.prn.indexOf("/") + 1));
    rows = self === undefined ? [] : [{ d: self, mine: true }];
  } else {
    rows = [...store.devices.values()].filter((d) => d.owner === p.prn).map((d) => ({
      d,
      mine: true,
    }));
  }
  const filters: Array<(doc: Record<string, unknown>) => boolean> = [];
  for (const [k, v] of q) {
    if (k !== "owner" && k !== "owner-nick") filters.push(fieldFilter(k, v));
  }
  const out = rows.filter(({ d }) => !d.garbage)
    .sort((a, b) => a.d.timeCreated - b.d.timeCreated || (a.d.id < b.d.id ? -1 : 1))
    .map(({ d, mine }) => deviceDoc(d, { secret: mine, foreign: !mine }))
    .filter((doc) => filters.every((f) => f(doc)));
  return jsonResponse(200, out, ENC);
}

/**
 * Moves an unowned device's trail, steps and objects to its new owner on claim. The
 * objects become link records to the old ones so nothing is copied.
 */
function reownTrail(core: HubCore, d: DeviceRecord, oldOwner: string): void {
  const trail = core.store.trails.get(d.id);
  if (trail === undefined) return;
  trail.owner = d.owner;
  const steps = core.store.stepsOf(d.id);
  for (const s of steps) s.owner = d.owner;
  const now = core.now();
  for (const s of steps) {
    for (const v of s.state.values()) {
      if (typeof v !== "string") continue;
      const old = core.store.objectFor(oldOwner, v);
      if (old === undefined || core.store.objectFor(d.owner, v) !== undefined) continue;
      const storageId = storageIdFor(d.owner, v);
      core.store.objects.set(storageId, {
        ...old,
        storageId,
        owner: d.owner,
        linkedObject: old.linkedObject ?? old.storageId,
        timeCreated: now,
        timeModified: now,
      });
    }
  }
}

async function putDevice(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const id = c.params.id;
  if (!isObjectIdHex(id)) throw appError(500, `Invalid Hex: ${id}`);
  const d = c.core.store.devices.get(id);
  if (d === undefined || d.garbage) throw appError(404, "Device not found");
  if (d.owner !== "" && !owns(p, d) && !isSelf(p, d)) throw appError(403, "No Access");
  // An empty body reuses the stored record (pvr claim sends none). A present field must
  // not change id, prn, owner or time-created; a missing one keeps the stored value.
  const b = await readObjectBody(c);
  for (const [k, have] of [["id", d.id], ["prn", d.prn], ["owner", d.owner]] as const) {
    const v = optString(b, k);
    if (v !== undefined && v !== have) throw appError(403, `cannot change ${k}`);
  }
  const tc = optString(b, "time-created");
  if (tc !== undefined && Date.parse(tc) !== d.timeCreated) {
    throw appError(403, "cannot change time-created");
  }
  const secret = optString(b, "secret");
  if (secret === "") throw appError(403, "empty secret");
  const pub = b?.public;
  if (pub !== undefined && pub !== null && typeof pub !== "boolean") {
    throw appError(400, "field public must be a boolean");
  }
  if (p.type === "DEVICE" && typeof pub === "boolean" && pub !== d.public) {
    throw appError(403, "a device cannot change public");
  }
  const nick = optString(b, "nick");
  if (nick !== undefined && nick !== "" && !NICK_RE.test(nick)) {
    throw appError(400, `invalid nick ${nick}`);
  }
  const userMeta = optMap(b, "user-meta");
  const deviceMeta = optMap(b, "device-meta");
  if (d.challenge !== "") {
    if (p.type === "DEVICE" || c.url.searchParams.get("challenge") !== d.challenge) {
      throw appError(403, "No Access to Device");
    }
    const oldOwner = d.owner;
    d.owner = p.prn;
    d.challenge = "";
    if (d.nick.startsWith("__unregistered__")) d.nick = petname("_");
    reownTrail(c.core, d, oldOwner);
  } else if (d.owner === "" && !isSelf(p, d)) {
    throw appError(403, "No Access to Device");
  }
  if (secret !== undefined) d.secret = secret;
  if (nick !== undefined && nick !== "") d.nick = nick;
  if (typeof pub === "boolean") d.public = pub;
  // A device cannot touch user-meta; a user cannot touch device-meta (kept as stored).
  if (userMeta !== undefined && p.type !== "DEVICE") d.userMeta = userMeta;
  if (deviceMeta !== undefined && p.type === "DEVICE") d.deviceMeta = deviceMeta;
  d.timeModified = c.core.now();
  return jsonResponse(200, deviceDoc(d, { secret: true }), ENC);
}

async function patchDevice(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const d = resolveDevice(c, p);
  if (d.owner === "") throw appError(403, "device has no owner");
  if (!owns(p, d) && !isSelf(p, d)) throw appError(403, "No Access");
  const nick = optString(await readObjectBody(c), "nick") ?? "";
  if (nick !== "" && nick !== d.nick) {
    if (!NICK_RE.test(nick)) throw appError(400, `invalid nick ${nick}`);
    if (c.core.store.deviceByNick(d.owner, nick) !== undefined) {
      throw appError(403, "nick already in use");
    }
    d.nick = nick;
    d.timeModified = c.core.now();
  }
  return jsonResponse(200, deviceDoc(d), ENC);
}

function deleteDevice(c: Ctx): Response {
  const p = requirePrincipal(c);
  const d = resolveDevice(c, p);
  if (!owns(p, d)) throw appError(403, "No Access");
  d.garbage = true;
  d.timeModified = c.core.now();
  return jsonResponse(200, deviceDoc(d), ENC);
}

function setPublic(value: boolean) {
  return (c: Ctx): Response => {
    const p = requirePrincipal(c);
    if (p.type === "DEVICE") throw appError(403, "devices cannot change public");
    const d = resolveDevice(c, p);
    if (d.owner !== "" && !owns(p, d)) throw appError(403, "No Access");
    d.public = value;
    d.timeModified = c.core.now();
    return jsonResponse(200, deviceDoc(d), ENC);
  };
}

/** The device whose user-meta a caller may change, or the 400 of §6.4. */
function userMetaTarget(c: Ctx): DeviceRecord {
  const p = requirePrincipal(c);
  const d = resolveDevice(c, p);
  if (!(owns(p, d) || isSelf(p, d))) {
    throw appError(400, "Error updating device user-meta: not found");
  }
  return d;
}

async function patchUserMeta(c: Ctx): Promise<Response> {
  const d = userMetaTarget(c);
  const b = await readObjectBody(c) ?? {};
  // Merge; null values are stored as null, not deleted.
  d.userMeta = { ...d.userMeta, ...b };
  d.timeModified = c.core.now();
  return jsonResponse(200, b, ENC);
}

async function putUserMeta(c: Ctx): Promise<Response> {
  const d = userMetaTarget(c);
  d.userMeta = await readObjectBody(c) ?? {};
  d.timeModified = c.core.now();
  return jsonResponse(200, d.userMeta, ENC);
}

function getUserMeta(c: Ctx): Response {
  const p = requirePrincipal(c);
  const d = resolveDevice(c, p);
  const mine = owns(p, d) || isSelf(p, d);
  if (!mine && !d.public) throw appError(403, "No Access");
  return jsonResponse(200, mine ? d.userMeta : {}, ENC);
}

async function patchDeviceMeta(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "DEVICE") throw appError(400, "only devices may patch device-meta");
  if (c.params.id !== p.prn.slice(p.prn.indexOf("/") + 1)) {
    throw appError(400, "device-meta: id mismatch");
  }
  const d = c.core.store.devices.get(c.params.id);
  if (d === undefined) throw appError(400, "device-meta: id mismatch");
  const b = await readObjectBody(c) ?? {};
  // Merge; here a null value deletes the key.
  const meta = { ...d.deviceMeta };
  for (const [k, v] of Object.entries(b)) {
    if (v === null) delete meta[k];
    else meta[k] = v;
  }
  d.deviceMeta = meta;
  d.timeModified = c.core.now();
  return jsonResponse(200, { status: "ok" }, ENC);
}

async function putDeviceMeta(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "DEVICE") throw appError(400, "only devices may put device-meta");
  const d = c.core.store.devices.get(c.params.id);
  if (d === undefined || d.prn !== p.prn) throw appError(404, "Device not found");
  d.deviceMeta = await readObjectBody(c) ?? {};
  d.timeModified = c.core.now();
  return jsonResponse(200, { status: "ok" }, ENC);
}

const R = SCOPES.devicesRead;
const W = SCOPES.devicesWrite;

/** The devices app (plain JSON). */
export const devicesApp: App = {
  prefix: "/devices",
  encoding: ENC,
  routes: [
    { method: "GET", path: "/devices/auth_status", handler: authStatusHandler(ENC) },
    { method: "POST", path: "/devices/", auth: "optional", handler: postDevice, scopes: W },
    { method: "GET", path: "/devices/", handler: listDevices, scopes: R },
    {
      method: "GET",
      path: "/devices/np/:usernick/:devicenick",
      handler: getByNickPath,
      scopes: R,
    },
    { method: "GET", path: "/devices/:id", handler: getDevice, scopes: R },
    { method: "PUT", path: "/devices/:id", handler: putDevice, scopes: W },
    { method: "PATCH", path: "/devices/:id", handler: patchDevice, scopes: W },
    { method: "DELETE", path: "/devices/:id", handler: deleteDevice, scopes: W },
    { method: "GET", path: "/devices/:id/user-meta", handler: getUserMeta, scopes: R },
    { method: "PATCH", path: "/devices/:id/user-meta", handler: patchUserMeta, scopes: W },
    { method: "PUT", path: "/devices/:id/user-meta", handler: putUserMeta, scopes: W },
    { method: "PATCH", path: "/devices/:id/device-meta", handler: patchDeviceMeta, scopes: W },
    { method: "PUT", path: "/devices/:id/device-meta", handler: putDeviceMeta, scopes: W },
    { method: "PUT", path: "/devices/:id/public", handler: setPublic(true), scopes: W },
    { method: "DELETE", path: "/devices/:id/public", handler: setPublic(false), scopes: W },
  ],
};
