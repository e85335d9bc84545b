/**
 * The logs app of the stand-in Pantahub (spec pantahub-api.md §7): devices post
 * entries, users query them with filters, sorting, paging and scroll cursors.
 *
 * open question §12.4: the hub behaves like the Elastic backend (cursors work; `after`
 * and `before` both apply). Without `sort` entries come newest first (as the Mongo
 * backend does). A cursor continuation uses the original `page` size and always carries
 * a fresh `next-cursor`, also on the exhausted page without `entries`.
 *
 * @module
 */

import { appError, goTime, isRecord, jsonResponse, readBody } from "./http.ts";
import { type App, type Ctx, type HubCore, requirePrincipal } from "./router.ts";
import { isObjectIdHex, type LogRecord } from "./store.ts";
import type { Claims } from "./tokens.ts";

const ENC = "plain" as const;
const SORT_FIELDS = ["dev", "rev", "plat", "lvl", "tsec", "tnano", "time-created", "src"];

/** The Entry document (§7.1): every field omitted when empty. */
export function logDoc(l: LogRecord): Record<string, unknown> {
  const doc: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== "" && v !== 0) doc[k] = v;
  };
  put("id", l.id);
  put("dev", l.dev);
  put("own", l.own);
  doc["time-created"] = goTime(l.timeCreated);
  put("tsec", l.tsec);
  put("tnano", l.tnano);
  put("rev", l.rev);
  put("plat", l.plat);
  put("src", l.src);
  put("lvl", l.lvl);
  put("msg", l.msg);
  return doc;
}

async function postLogs(c: Ctx): Promise<Response> {
  const p = requirePrincipal(c);
  if (p.type !== "DEVICE" || (p.owner ?? "") === "") {
    throw appError(403, "logs can only be posted by owned devices");
  }
  const bytes = await readBody(c.req);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw appError(400, "logs: body does not decode");
  }
  const items = Array.isArray(body) ? body : [body];
  const records: LogRecord[] = [];
  const now = c.core.now();
  for (const item of items) {
    if (!isRecord(item)) throw appError(400, "logs: an entry must be an object");
    const num = (k: string): number | undefined => {
      const v = item[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "number" || !Number.isInteger(v)) throw appError(400, `logs: bad ${k}`);
      return v;
    };
    const str = (k: string): string | undefined => {
      const v = item[k];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== "string") throw appError(400, `logs: bad ${k}`);
      return v;
    };
    records.push({
      id: c.core.store.newId(),
      dev: p.prn,
      own: p.owner ?? "",
      timeCreated: now,
      tsec: num("tsec"),
      tnano: num("tnano"),
      rev: str("rev"),
      plat: str("plat"),
      src: str("src"),
      lvl: str("lvl") || "INFO",
      msg: str("msg"),
    });
  }
  c.core.store.logs.push(...records);
  return jsonResponse(200, { status: "ok" }, ENC);
}

function requireUser(c: Ctx): Claims {
  const p = requirePrincipal(c);
  if (p.type !== "USER" && p.type !== "SESSION") throw appError(403, "logs are for users");
  return p;
}

/** Resolves `dev` items (PRNs, hex ids, nicks) among the caller's devices (§7.3). */
function resolveDevs(core: HubCore, owner: string, raw: string): Set<string> | undefined {
  const out = new Set<string>();
  for (const item of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (item.startsWith("prn:")) {
      out.add(item);
      continue;
    }
    const d = isObjectIdHex(item)
      ? core.store.devices.get(item)
      : core.store.deviceByNick(owner, item);
    if (d !== undefined && d.owner === owner) out.add(d.prn);
  }
  // Every entry unresolvable: no device filter at all.
  return out.size === 0 ? undefined : out;
}

function parseTime(raw: string | null, name: string): number | undefined {
  if (raw === null || raw === "") return undefined;
  const t = Date.parse(raw);
  if (!/^\d{4}-\d\d-\d\dT/.test(raw) || Number.isNaN(t)) {
    throw appError(400, `logs: bad ${name} time ${raw}`);
  }
  return t;
}

function sortValue(l: LogRecord, field: string): string | number {
  switch (field) {
    case "time-created":
      return l.timeCreated;
    case "tsec":
      return l.tsec ?? 0;
    case "tnano":
      return l.tnano ?? 0;
    default:
      return String((l as unknown as Record<string, unknown>)[field] ?? "");
  }
}

/** The entries matching a `GET /logs/` query, sorted. */
function query(core: HubCore, p: Claims, q: URLSearchParams): LogRecord[] {
  const devs = q.has("dev") ? resolveDevs(core, p.prn, q.get("dev") ?? "") : undefined;
  const list = (k: string) => {
    const raw = q.get(k);
    if (raw === null || raw === "") return undefined;
    return new Set(raw.split(",").map((s) => s.trim()));
  };
  const src = list("src");
  const lvl = list("lvl");
  const plat = list("plat");
  const rev = list("rev");
  const after = parseTime(q.get("after"), "after");
  const before = parseTime(q.get("before"), "before");
  const out = core.store.logs.filter((l) =>
    l.own === p.prn &&
    (devs === undefined || devs.has(l.dev)) &&
    (src === undefined || src.has(l.src ?? "")) &&
    (lvl === undefined || lvl.has(l.lvl ?? "")) &&
    (plat === undefined || plat.has(l.plat ?? "")) &&
    (rev === undefined || rev.has(l.rev ?? "")) &&
    (after === undefined || l.timeCreated > after) &&
    (before === undefined || l.timeCreated < before)
  );
  const keys = (q.get("sort") ?? "").split(",").map((s) => s.trim()).filter((s) =>
    SORT_FIELDS.includes(s.replace(/^-/, ""))
  );
  // open question §12.4: without `sort`, newest first (the Elastic default is unknown).
  // Array order is insertion order, so index breaks ties deterministically.
  const indexed = out.map((l, i) => ({ l, i }));
  indexed.sort((a, b) => {
    if (keys.length === 0) return b.l.timeCreated - a.l.timeCreated || b.i - a.i;
    for (const k of keys) {
      const desc = k.startsWith("-");
      const f = desc ? k.slice(1) : k;
      const x = sortValue(a.l, f);
      const y = sortValue(b.l, f);
      if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
    }
    return a.i - b.i;
  });
  return indexed.map((x) => x.l);
}

/** A Pager document (§7.3); `entries` omitted when empty. */
function pager(start: number, entries: LogRecord[], cursor?: string): Record<string, unknown> {
  const doc: Record<string, unknown> = { start, page: entries.length, count: entries.length };
  if (cursor !== undefined) doc["next-cursor"] = cursor;
  if (entries.length > 0) doc.entries = entries.map(logDoc);
  return doc;
}

function intParam(q: URLSearchParams, k: string, dflt: number): number {
  const raw = q.get(k);
  if (raw === null || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw appError(400, `logs: bad ${k}`);
  return n;
}

async function signCursor(core: HubCore, scroll: string, aud: string): Promise<string> {
  return await core.tokens.signCursor({
    scroll,
    aud,
    exp: core.tokens.nowSec() + core.config.cursorTtlSec,
  });
}

async function getLogs(c: Ctx): Promise<Response> {
  const p = requireUser(c);
  const q = c.url.searchParams;
  const start = intParam(q, "start", 0);
  const page = intParam(q, "page", 50);
  const all = query(c.core, p, q);
  const first = all.slice(start, start + page);
  let cursor: string | undefined;
  if ((q.get("cursor") ?? "") !== "") {
    const scroll = crypto.randomUUID();
    c.core.scrolls.set(scroll, { ids: all.map((l) => l.id), pos: start + page, page });
    cursor = await signCursor(c.core, scroll, p.prn);
  }
  return jsonResponse(200, pager(start, first, cursor), ENC);
}

async function nextPage(c: Ctx): Promise<Response> {
  const p = requireUser(c);
  const bytes = await readBody(c.req);
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    // The GET variant fails here too on an empty body (§7.4).
    throw appError(400, "logs cursor: body does not decode");
  }
  let raw = isRecord(body) && typeof body["next-cursor"] === "string" ? body["next-cursor"] : "";
  if (raw === "" && c.req.method === "GET") raw = c.url.searchParams.get("next-cursor") ?? "";
  const claims = raw === "" ? undefined : await c.core.tokens.verifyCursor(raw);
  if (claims === undefined || claims.aud !== p.prn) {
    throw appError(403, "invalid, expired or foreign cursor");
  }
  const scroll = c.core.scrolls.get(claims.scroll);
  if (scroll === undefined) throw appError(403, "cursor scroll is gone");
  const byId = new Map(c.core.store.logs.map((l) => [l.id, l]));
  // open question §12.4: a continuation uses the original page size.
  const ids = scroll.ids.slice(scroll.pos, scroll.pos + scroll.page);
  const start = scroll.pos;
  scroll.pos += ids.length;
  const entries = ids.map((id) => byId.get(id)).filter((l) => l !== undefined);
  return jsonResponse(
    200,
    pager(start, entries, await signCursor(c.core, claims.scroll, p.prn)),
    ENC,
  );
}

/** The logs app (plain JSON; no scope filter, §1.7). */
export const logsApp: App = {
  prefix: "/logs",
  encoding: ENC,
  routes: [
    { method: "POST", path: "/logs/", handler: postLogs },
    { method: "GET", path: "/logs/", handler: getLogs },
    { method: "POST", path: "/logs/cursor", handler: nextPage },
    { method: "GET", path: "/logs/cursor", handler: nextPage },
  ],
};
