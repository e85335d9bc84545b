/**
 * The trails app of the stand-in Pantahub (spec pantahub-api.md §3): trail creation,
 * `.pvrremote`, steps (list, get, post with rev rules), state GET/PUT, step objects,
 * progress. Every answer is canonical JSON, as the real trails app writes it.
 *
 * @module
 */

import { sortedKeys } from "../../../core/model/canonical.ts";
import {
  isJsonObject,
  JsonNumber,
  type JsonObject,
  type JsonValue,
  toPlain,
} from "../../../core/model/json_value.ts";
import {
  appError,
  goTime,
  isRecord,
  jsonResponse,
  readLosslessJson,
  readPlainJson,
  ZERO_TIME,
} from "./http.ts";
import { authStatusHandler } from "./auth.ts";
import {
  isSha,
  OBJECT_TYPE_HEADER,
  objectType,
  objectWithAccess,
  registerObject,
  signedUrls,
} from "./objects.ts";
import { type App, type Ctx, type HubCore, requirePrincipal, SCOPES } from "./router.ts";
import { asGoDecodes, stateSha, validateServerState } from "./state.ts";
import {
  idFromPrn,
  isObjectIdHex,
  type PlainMap,
  type StepProgress,
  type StepRecord,
  type TrailRecord,
} from "./store.ts";
import { summaryHandler, trailSummaryHandler } from "./summary.ts";
import type { Claims } from "./tokens.ts";

const ENC = "canonical" as const;

function ok(value: unknown, headers?: HeadersInit): Response {
  return jsonResponse(200, value, ENC, headers);
}

/** A fresh step progress with the given status. */
export function newProgress(status: string): StepProgress {
  return {
    progress: 0,
    status,
    "status-msg": "",
    log: "",
    downloads: {
      total: { total_size: 0, start_time: 0, current_time: 0, total_downloaded: 0 },
      objects: null,
    },
  };
}

/** The Step document (§3.1). */
export function stepDoc(s: StepRecord): Record<string, unknown> {
  const progress: Record<string, unknown> = { ...s.progress };
  if (progress.data === undefined || progress.data === null) delete progress.data;
  return {
    id: s.id,
    owner: s.owner,
    device: s.device,
    committer: s.committer,
    "trail-id": s.trailId,
    rev: s.rev,
    "commit-msg": s.commitMsg,
    state: s.state,
    "state-sha": s.stateSha,
    progress,
    "step-time": goTime(s.stepTime),
    "progress-time": goTime(s.progressTime),
    meta: s.meta,
    used_objects: s.usedObjects,
    mark_public_processed: s.markPublicProcessed,
    garbage: s.garbage,
    "time-created": goTime(s.timeCreated),
    "time-modified": goTime(s.timeModified),
  };
}

/** The Trail document (§3.1). */
export function trailDoc(t: TrailRecord): Record<string, unknown> {
  return {
    id: t.id,
    owner: t.owner,
    device: t.device,
    "last-insync": t.lastInsync === undefined ? ZERO_TIME : goTime(t.lastInsync),
    "last-touched": goTime(t.lastTouched),
    "factory-state": t.factoryState,
    used_objects: t.usedObjects,
  };
}

/** The `.pvrremote` descriptor (§3.1); canonical JSON sorts its keys on the wire. */
export function pvrRemoteDoc(
  base: string,
  id: string,
  rev: number | string,
  stepForm: boolean,
): Record<string, unknown> {
  const step = `${base}/trails/${id}/steps/${rev}`;
  return {
    "pvr-spec": "pvr-pantahub-1",
    "json-get-url": `${step}/state`,
    "json-key": "state",
    "objects-endpoint": `${step}/objects`,
    "post-url": `${base}/trails/${id}/steps`,
    "post-fields": stepForm ? ["msg"] : ["commit-msg"],
    "post-fields-opt": stepForm ? [] : ["rev"],
    "step-get-url": step,
  };
}

/**
 * The public-device check every trail read starts with (§3.2): a malformed id or a
 * missing device is a 500, before any ownership check.
 */
export function isPublicTrail(core: HubCore, id: string): boolean {
  if (!isObjectIdHex(id)) throw appError(500, `Invalid Hex: ${id}`);
  const dev = core.store.devices.get(id);
  if (dev === undefined) throw appError(500, `device of trail ${id} not found`);
  return dev.public;
}

/** Whether `p` sees `step` (§3.2). */
export function canSee(p: Claims, step: StepRecord, isPublic: boolean): boolean {
  if (isPublic) return true;
  if (p.type === "DEVICE") return step.device === p.prn;
  if (p.type === "USER" || p.type === "SESSION") return step.owner === p.prn;
  return false;
}

function autolinkOn(c: Ctx): boolean {
  return c.url.searchParams.get("autolink") !== "no";
}

/** Reads a state body: a JSON object (400 otherwise), numbers as Go decodes them. */
async function readState(c: Ctx): Promise<JsonObject> {
  const v = await readLosslessJson(c.req);
  if (v === undefined || v === null) return new Map();
  if (!isJsonObject(v)) throw appError(400, "state must be a JSON object");
  return asGoDecodes(v) as JsonObject;
}

/** Creates a step record (shared by the routes and the test seeding helpers). */
export function makeStep(
  core: HubCore,
  trail: TrailRecord,
  rev: number,
  fields: {
    state: JsonObject;
    usedObjects: string[];
    commitMsg: string;
    committer?: string;
    meta?: PlainMap;
    status: string;
    progressTime: number;
  },
): StepRecord {
  const now = core.now();
  const step: StepRecord = {
    id: `${trail.id}-${rev}`,
    owner: trail.owner,
    device: trail.device,
    committer: fields.committer ?? "",
    trailId: trail.id,
    rev,
    commitMsg: fields.commitMsg,
    state: fields.state,
    stateSha: stateSha(fields.state),
    progress: newProgress(fields.status),
    stepTime: now,
    progressTime: fields.progressTime,
    meta: fields.meta ?? {},
    usedObjects: fields.usedObjects,
    markPublicProcessed: false,
    garbage: false,
    timeCreated: now,
    timeModified: now,
  };
  core.store.steps.set(step.id, step);
  trail.lastTouched = now;
  return step;
}

/**
 * Creates a trail and its factory step rev 0 (`DONE`) after validating the state for
 * `owner` (§3.3). Throws the 500s of the real server.
 */
export async function createTrail(
  core: HubCore,
  deviceId: string,
  owner: string,
  state: JsonObject,
  autolink: boolean,
): Promise<TrailRecord> {
  const dev = core.store.devices.get(deviceId);
  if (dev === undefined) throw appError(500, `device ${deviceId} not found`);
  if (core.store.trails.has(deviceId)) {
    throw appError(500, `E11000 duplicate key error: trail ${deviceId}`);
  }
  let used: string[];
  try {
    used = await validateServerState(core, owner, state, autolink);
  } catch (err) {
    throw appError(
      500,
      `Error processing trail objects in factory-state: ${(err as Error).message}`,
    );
  }
  const now = core.now();
  const trail: TrailRecord = {
    id: deviceId,
    owner,
    device: dev.prn,
    lastTouched: now,
    factoryState: state,
    usedObjects: used,
  };
  core.store.trails.set(deviceId, trail);
  makeStep(core, trail, 0, {
    state,
    usedObjects: used,
    commitMsg: "Factory State (rev 0)",
    status: "DONE",
    progressTime: now,
  });
  return trail;
}

async function postTrail(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "DEVICE" || p.owner === undefined) {
    throw appError(403, "You need to be logged in as a DEVICE to post new trails");
  }
  const state = await readState(c);
  const trail = await createTrail(c.core, idFromPrn(p.prn), p.owner, state, autolinkOn(c));
  return ok(trailDoc(trail));
}

function listTrails(c: Ctx): Response {
  const p = requirePrincipal(c);
  const out = [...c.core.store.trails.values()].filter((t) =>
    p.type === "DEVICE" ? t.device === p.prn : t.owner === p.prn
  ).sort((a, b) => (a.id < b.id ? -1 : 1)).map(trailDoc);
  return ok(out);
}

function getTrail(c: Ctx): Response {
  const p = requirePrincipal(c);
  const id = c.params.id;
  const pub = isPublicTrail(c.core, id);
  const t = c.core.store.trails.get(id);
  const visible = t !== undefined &&
    (pub || (p.type === "DEVICE" ? t.device === p.prn : t.owner === p.prn));
  if (!visible) throw appError(500, `No access to resource: ${id}`);
  return ok(trailDoc(t));
}

function trailRemote(c: Ctx): Response {
  const p = requirePrincipal(c);
  const id = c.params.id;
  const pub = isPublicTrail(c.core, id);
  const steps = c.core.store.stepsOf(id).filter((s) => !s.garbage && canSee(p, s, pub));
  const latest = steps.at(-1);
  if (latest === undefined) throw appError(403, `No access to device trail ${id}`);
  return ok(pvrRemoteDoc(c.core.config.base, id, latest.rev, false));
}

/** The step of the route, visible to the caller, or `undefined`. */
function visibleStep(c: Ctx): StepRecord | undefined {
  const p = requirePrincipal(c);
  const pub = isPublicTrail(c.core, c.params.id);
  const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
  return step !== undefined && canSee(p, step, pub) ? step : undefined;
}

function stepOrFail(c: Ctx): StepRecord {
  const step = visibleStep(c);
  if (step === undefined) throw appError(500, `No access to step ${c.params.id}-${c.params.rev}`);
  return step;
}

function stepRemote(c: Ctx): Response {
  const step = visibleStep(c);
  if (step === undefined) {
    throw appError(403, `No access to device step trail ${c.params.id}-${c.params.rev}`);
  }
  return ok(pvrRemoteDoc(c.core.config.base, c.params.id, c.params.rev, true));
}

/** Tests a status against a `progress.status` query value (plain or `$in`/`$nin`/`$ne`). */
function statusFilter(raw: string): (status: string) => boolean {
  if (raw.startsWith("{")) {
    let q: unknown;
    try {
      q = JSON.parse(raw);
    } catch {
      throw appError(400, `bad progress.status filter ${raw}`);
    }
    if (!isRecord(q)) throw appError(400, `bad progress.status filter ${raw}`);
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    return (s) =>
      (q.$in === undefined || list(q.$in).includes(s)) &&
      (q.$nin === undefined || !list(q.$nin).includes(s)) &&
      (q.$ne === undefined || s !== String(q.$ne)) &&
      (q.$eq === undefined || s === String(q.$eq));
  }
  return (s) => s === raw;
}

function listSteps(c: Ctx): Response {
  const p = requirePrincipal(c);
  const id = c.params.id;
  const pub = isPublicTrail(c.core, id);
  const own = (s: StepRecord) => canSee(p, s, false);
  let steps = c.core.store.stepsOf(id).filter((s) => !s.garbage && canSee(p, s, pub));
  const q = c.url.searchParams;
  let limit = Number(q.get("page[size]") ?? "0") || 0;
  const offset = Number(q.get("page[offset]") ?? "0") || 0;
  const status = q.get("progress.status");
  if (status !== null) {
    const f = statusFilter(status);
    steps = steps.filter((s) => f(s.progress.status));
  } else if (p.type === "DEVICE" && steps.every(own)) {
    steps = steps.filter((s) => s.progress.status === "NEW");
    limit = 1;
  } else if (steps.every(own)) {
    steps = steps.filter((s) => s.progress.status !== "DONE");
  } else {
    steps = steps.filter((s) => s.progress.status === "NEW");
  }
  // `sort_by` is computed but not applied by the real server; `fields` projections and
  // `page[after]`/`page[before]` are not implemented here.
  steps = steps.slice(offset, limit > 0 ? offset + limit : undefined);
  return ok(steps.map(stepDoc));
}

function getStep(c: Ctx): Response {
  return ok(stepDoc(stepOrFail(c)));
}

/** Decodes the step POST envelope like Go decodes it into a Step (400 on bad types). */
function decodeEnvelope(body: JsonValue | undefined): {
  rev: number;
  commitMsg: string;
  committer: string;
  state: JsonObject;
  meta: PlainMap;
} {
  if (body === undefined || !isJsonObject(body)) throw appError(400, "step body must be an object");
  const str = (k: string): string => {
    const v = body.get(k);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw appError(400, `step field ${k} must be a string`);
    return v;
  };
  const revV = body.get("rev");
  let rev = 0;
  if (revV !== undefined && revV !== null) {
    // Go decodes into an int: a fraction, an exponent or another type is a 400.
    if (!(revV instanceof JsonNumber) || !/^-?(0|[1-9][0-9]{0,17})$/.test(revV.text)) {
      throw appError(400, "step field rev must be an integer");
    }
    rev = Number(revV.text);
  }
  const obj = (k: string): JsonObject => {
    const v = body.get(k);
    if (v === undefined || v === null) return new Map();
    if (!isJsonObject(v)) throw appError(400, `step field ${k} must be an object`);
    return v;
  };
  const metaV = obj("meta");
  return {
    rev,
    commitMsg: str("commit-msg"),
    committer: str("committer"),
    state: asGoDecodes(obj("state")) as JsonObject,
    meta: toPlain(metaV) as PlainMap,
  };
}

async function postStep(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const id = c.params.id;
  if (!isObjectIdHex(id)) throw appError(500, `Invalid Hex: ${id}`);
  const core = c.core;
  const trail = core.store.trails.get(id);
  const callerOwner = p.type === "DEVICE" ? p.owner ?? "" : p.prn;
  // open question §12.8: as the real server, any device of the owner passes this check.
  if (trail === undefined || callerOwner === "" || trail.owner !== callerOwner) {
    throw appError(403, "No access");
  }
  const env = decodeEnvelope(await readLosslessJson(c.req));
  let rev = env.rev;
  if (rev === -1) {
    rev = (core.store.stepsOf(id).at(-1)?.rev ?? -1) + 1;
  } else if (!core.store.steps.has(`${id}-${rev - 1}`)) {
    throw appError(500, `No access to resource or bad step ${id}-${rev - 1}`);
  }
  if (core.store.steps.has(`${id}-${rev}`)) {
    throw appError(500, `No access to resource or bad step rev${rev}: duplicate key ${id}-${rev}`);
  }
  const used = await validateServerState(core, trail.owner, env.state, autolinkOn(c));
  const step = makeStep(core, trail, rev, {
    state: env.state,
    usedObjects: used,
    commitMsg: env.commitMsg,
    committer: env.committer,
    meta: env.meta,
    status: "NEW",
    progressTime: 0,
  });
  return ok(stepDoc(step));
}

function getState(c: Ctx): Response {
  // Quirk kept (§3.8): a missing or invisible step answers 200 {}.
  return ok(visibleStep(c)?.state ?? {});
}

async function putState(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "USER" && p.type !== "SESSION") throw appError(403, "only users may put states");
  isPublicTrail(c.core, c.params.id);
  const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
  if (step === undefined || step.owner !== p.prn) {
    throw appError(500, `No access to step ${c.params.id}-${c.params.rev}`);
  }
  if (step.progress.status !== "NEW") {
    throw appError(400, `step ${step.id} is ${step.progress.status}, not NEW`);
  }
  const state = await readState(c);
  const used = await validateServerState(c.core, step.owner, state, autolinkOn(c));
  const now = c.core.now();
  step.state = state;
  step.stateSha = stateSha(state);
  step.usedObjects = used;
  step.stepTime = now;
  step.progressTime = 0;
  step.timeModified = now;
  return ok(state);
}

/** State entries that reference objects: string values except `#spec`, keys sorted. */
function objectEntries(state: JsonObject): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const key of sortedKeys(state)) {
    const v = state.get(key);
    if (key !== "#spec" && typeof v === "string") out.push([key, v]);
  }
  return out;
}

async function listStepObjects(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const step = stepOrFail(c);
  const out = [];
  for (const [key, sha] of objectEntries(step.state)) {
    if (!isSha(sha)) throw appError(400, `Invalid sha for ${key}`);
    const rec = c.core.store.objectFor(step.owner, sha);
    if (rec === undefined) throw appError(403, `Object not found: ${key}`);
    out.push(
      await objectWithAccess(c.core, rec, p.prn, trailsIssuer(c), p.prn === rec.owner, key),
    );
  }
  return ok(out);
}

function trailsIssuer(c: Ctx): string {
  return `${c.core.config.base}/trails`;
}

function stepObject(c: Ctx): { step: StepRecord; key: string } {
  const step = stepOrFail(c);
  const want = c.params.sha.toLowerCase();
  const entry = objectEntries(step.state).find(([, v]) => v.toLowerCase() === want);
  if (entry === undefined) throw appError(403, "Invalid Object");
  return { step, key: entry[0] };
}

async function getStepObject(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const { step, key } = stepObject(c);
  const rec = c.core.store.objectFor(step.owner, c.params.sha);
  if (rec === undefined || rec.garbage) throw appError(403, "No Access");
  const doc = await objectWithAccess(c.core, rec, p.prn, trailsIssuer(c), p.prn === rec.owner, key);
  return ok(doc, { [OBJECT_TYPE_HEADER]: objectType(rec) });
}

async function getStepObjectBlob(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const { step, key } = stepObject(c);
  const rec = c.core.store.objectFor(step.owner, c.params.sha);
  if (rec === undefined || rec.garbage) throw appError(403, "No Access");
  const urls = await signedUrls(c.core, { ...rec, objectname: key }, p.prn, trailsIssuer(c), false);
  return new Response(null, { status: 302, headers: { Location: urls.get } });
}

async function postStepObject(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  isPublicTrail(c.core, c.params.id);
  const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
  const allowed = step !== undefined &&
    (p.type === "DEVICE" ? step.device === p.prn : step.owner === p.prn);
  if (!allowed) throw appError(403, "No access to step");
  const { status, rec } = await registerObject(
    c.core,
    step.owner,
    await readPlainJson(c.req),
    autolinkOn(c),
  );
  const doc = await objectWithAccess(c.core, rec, p.prn, trailsIssuer(c), true);
  // The 200 path sets no type header; the 409 path does (§3.11).
  return jsonResponse(
    status,
    doc,
    ENC,
    status === 409 ? { [OBJECT_TYPE_HEADER]: objectType(rec) } : {},
  );
}

async function putProgress(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "DEVICE") throw appError(403, "Only devices can update step status");
  const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
  if (step === undefined || step.device !== p.prn) {
    throw appError(400, "Error updating trail: not found");
  }
  const b = await readPlainJson(c.req);
  if (!isRecord(b)) throw appError(400, "progress must be an object");
  const num = (v: unknown) => (typeof v === "number" ? Math.trunc(v) : 0);
  const str = (v: unknown) => (typeof v === "string" ? v : "");
  const progress: StepProgress = {
    progress: num(b.progress),
    status: str(b.status),
    "status-msg": str(b["status-msg"]),
    log: str(b.log),
    downloads: isRecord(b.downloads)
      ? {
        total: isRecord(b.downloads.total) ? b.downloads.total : {},
        objects: Array.isArray(b.downloads.objects) ? b.downloads.objects : null,
      }
      : newProgress("").downloads,
  };
  if (b.data !== undefined && b.data !== null) progress.data = b.data;
  const now = c.core.now();
  step.progress = progress;
  step.progressTime = now;
  step.timeModified = now;
  const trail = c.core.store.trails.get(step.trailId);
  if (trail !== undefined) trail.lastTouched = now;
  const echo: Record<string, unknown> = { ...progress };
  if (echo.data === undefined) delete echo.data;
  return ok(echo);
}

function statusChange(from: string, to: string) {
  return (c: Ctx): Response => {
    const p = requirePrincipal(c);
    const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
    if (step === undefined || p.type === "DEVICE" || step.owner !== p.prn) {
      throw appError(403, "No access to step");
    }
    if (step.progress.status !== from) {
      throw appError(400, `step ${step.id} is ${step.progress.status}, not ${from}`);
    }
    step.progress = { ...step.progress, status: to };
    step.progressTime = c.core.now();
    return ok(stepDoc(step));
  };
}

function getMeta(c: Ctx): Response {
  return ok(stepOrFail(c).meta);
}

async function putMeta(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  const step = c.core.store.steps.get(`${c.params.id}-${c.params.rev}`);
  if (step === undefined || p.type === "DEVICE" || step.owner !== p.prn) {
    throw appError(403, "No access to step");
  }
  const b = await readPlainJson(c.req);
  if (!isRecord(b)) throw appError(400, "meta must be an object");
  step.meta = b;
  step.timeModified = c.core.now();
  return ok(b);
}

const R = SCOPES.trailsRead;
const W = SCOPES.trailsWrite;
const STEP = "/trails/:id/steps/:rev";

/** The trails app (canonical JSON; one trailing `/` stripped before routing). */
export const trailsApp: App = {
  prefix: "/trails",
  encoding: ENC,
  stripTrailingSlash: true,
  routes: [
    { method: "GET", path: "/trails/auth_status", handler: authStatusHandler(ENC) },
    { method: "GET", path: "/trails/summary", handler: summaryHandler, scopes: R },
    { method: "POST", path: "/trails/", handler: postTrail, scopes: W },
    { method: "GET", path: "/trails/", handler: listTrails, scopes: R },
    { method: "GET", path: "/trails/:id", handler: getTrail, scopes: R },
    { method: "GET", path: "/trails/:id/.pvrremote", handler: trailRemote, scopes: R },
    { method: "GET", path: "/trails/:id/summary", handler: trailSummaryHandler, scopes: R },
    { method: "GET", path: "/trails/:id/steps", handler: listSteps, scopes: R },
    { method: "POST", path: "/trails/:id/steps", handler: postStep, scopes: W },
    { method: "GET", path: STEP, handler: getStep, scopes: R },
    { method: "GET", path: `${STEP}/.pvrremote`, handler: stepRemote, scopes: R },
    { method: "GET", path: `${STEP}/state`, handler: getState, scopes: R },
    { method: "PUT", path: `${STEP}/state`, handler: putState, scopes: W },
    { method: "GET", path: `${STEP}/objects`, handler: listStepObjects, scopes: R },
    { method: "POST", path: `${STEP}/objects`, handler: postStepObject, scopes: W },
    { method: "GET", path: `${STEP}/objects/:sha`, handler: getStepObject, scopes: R },
    { method: "GET", path: `${STEP}/objects/:sha/blob`, handler: getStepObjectBlob, scopes: R },
    { method: "PUT", path: `${STEP}/progress`, handler: putProgress, scopes: W },
    { method: "PUT", path: `${STEP}/cancel`, handler: statusChange("NEW", "CANCEL"), scopes: W },
    {
      method: "PUT",
      path: `${STEP}/wontgo`,
      handler: statusChange("INPROGRESS", "WONTGO"),
      scopes: W,
    },
    { method: "GET", path: `${STEP}/meta`, handler: getMeta, scopes: R },
    { method: "PUT", path: `${STEP}/meta`, handler: putMeta, scopes: W },
  ],
};
