/**
 * `pvr device logs [filter]` (and the deprecated `pvr logs`, spec pvr-reference §8.6,
 * pantahub-api §7): the log entries of devices you own.
 *
 * Decided here (the Go pvr always streams until killed): without `follow` one pass is
 * made — the query, then its cursor pages until one is empty — and the operation
 * returns; with `follow` it then polls every second for newer entries, until
 * `signal` aborts, `limit` entries were delivered, or the clock reaches `until`.
 * Entries are delivered once: the Go pvr re-asks from the last entry's second and
 * could print entries twice; we skip ids already delivered.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { timerSleep } from "../remote/http.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** One log entry (pantahub-api §7.1); every field is omitted by the server when empty. */
export interface LogEntry {
  id?: string;
  /** The device PRN (`prn:::devices:/<id>`). */
  dev?: string;
  own?: string;
  /** When the server received it (RFC 3339). */
  "time-created"?: string;
  tsec?: number;
  tnano?: number;
  /** The revision, a string. */
  rev?: string;
  plat?: string;
  src?: string;
  lvl?: string;
  msg?: string;
  [field: string]: unknown;
}

/** Options of {@link deviceLogs}. */
export interface DeviceLogsOptions extends PantahubOptions {
  /** `<dev1,dev2,…>[/<source>[@<level>[#<platform>]]]` (spec §8.6). */
  filter?: string;
  /**
   * Start: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss` (both UTC), RFC 3339, or an ISO 8601
   * duration (`P10D`, `PT1H`) meaning that long ago. Default (when `rev` < 0): one
   * minute ago.
   */
  from?: string;
  /** End: the same absolute forms, or a duration after `from`. */
  to?: string;
  /** Only this revision (default -1: any). */
  rev?: number;
  /** Comma-separated devices (ids or nicks); overrides the filter's. */
  devices?: string;
  /** Overrides the filter's source (use it for sources containing `/`). */
  source?: string;
  /** Overrides the filter's level(s). */
  level?: string;
  /** Overrides the filter's platform(s). */
  platform?: string;
  /** Keep polling for new entries (see the module doc). */
  follow?: boolean;
  /** Stop after this many entries. */
  limit?: number;
  /** With `follow`: stop once the clock (`now`) reaches this Unix ms time. */
  until?: number;
  /** Stops the operation (it then returns what it delivered). */
  signal?: AbortSignal;
  /** Receives each entry as it arrives; without it, entries are collected in the result. */
  onEntry?: (entry: LogEntry) => void | Promise<void>;
  /** Waits between polls (default a timer). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Time between polls with `follow` (default 1000 ms). */
  pollMs?: number;
}

/** What {@link deviceLogs} delivered. */
export interface DeviceLogsResult {
  /** Entries delivered. */
  count: number;
  /** The entries, when no `onEntry` was given. */
  entries: LogEntry[];
}

/** The parts of a log filter. */
export interface LogFilter {
  devices: string[];
  source: string;
  level: string;
  platform: string;
}

/**
 * Splits a filter `<dev1,dev2,…>[/<source>[@<level>[#<platform>]]]` (spec §8.6).
 *
 * @throws {PvrError} `USAGE` when the source part holds another `/` (use `--source`)
 */
export function parseLogFilter(filter: string): LogFilter {
  const out: LogFilter = { devices: [], source: "", level: "", platform: "" };
  if (filter === "") return out;
  const parts = filter.split("/");
  if (parts.length > 2) {
    throw new PvrError(
      "USAGE",
      `a source containing "/" cannot be given in the filter ${filter}: use --source`,
    );
  }
  out.devices = parts[0] === "" ? [] : parts[0].split(",");
  if (parts.length > 1) {
    const [source, rest] = splitOnce(parts[1], "@");
    out.source = source;
    if (rest !== undefined) {
      const [level, platform] = splitOnce(rest, "#");
      out.level = level;
      out.platform = platform ?? "";
    }
  }
  return out;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const DAY = 86_400_000;

/**
 * An ISO 8601 duration (`P1Y2M3W4DT5H6M7S`, any part optional) in ms; a year is 365
 * days, a month 30. `undefined` when `s` is not one.
 */
export function parseIsoDuration(s: string): number | undefined {
  const m =
    /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i
      .exec(s);
  if (m === null || s.length < 2 || /T$/i.test(s)) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return n(1) * 365 * DAY + n(2) * 30 * DAY + n(3) * 7 * DAY + n(4) * DAY + n(5) * 3_600_000 +
    n(6) * 60_000 + n(7) * 1000;
}

/** An RFC 3339 time: Unix ms and the offset it was written with (minutes east of UTC). */
export interface ParsedTime {
  ms: number;
  offsetMinutes: number;
}

const RFC3339 =
  /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))$/;

/** Parses an RFC 3339 time (any fraction, any offset); `undefined` when it is not one. */
export function parseRfc3339(s: string): ParsedTime | undefined {
  const m = RFC3339.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return undefined;
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  const offsetMinutes = m[8] ? 0 : (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  return { ms: date.getTime() + Math.floor(frac) - offsetMinutes * 60_000, offsetMinutes };
}

/**
 * An absolute `--from`/`--to` value in Unix ms: `YYYY-MM-DD` and `YYYY-MM-DDThh:mm:ss`
 * (UTC) or RFC 3339; `undefined` when it is none of them.
 */
export function parseLogTime(s: string): number | undefined {
  const date = /^(\d{4})-(\d\d)-(\d\d)$/.exec(s);
  if (date !== null) return parseRfc3339(`${s}T00:00:00Z`)?.ms;
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(s)) return parseRfc3339(`${s}Z`)?.ms;
  return parseRfc3339(s)?.ms;
}

/** RFC 3339 in UTC with whole seconds (what the Go pvr sends as `after`/`before`). */
export function utcSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

const Page = z.looseObject({
  "next-cursor": z.string().optional(),
  entries: z.array(z.looseObject({
    id: z.string().optional(),
    dev: z.string().optional(),
    own: z.string().optional(),
    "time-created": z.string().optional(),
    tsec: z.number().optional(),
    tnano: z.number().optional(),
    rev: z.string().optional(),
    plat: z.string().optional(),
    src: z.string().optional(),
    lvl: z.string().optional(),
    msg: z.string().optional(),
  })).nullish(),
});

function timeArg(name: string, value: string, now: number, from?: number): number {
  const abs = parseLogTime(value);
  if (abs !== undefined) return abs;
  const d = parseIsoDuration(value);
  if (d === undefined) {
    throw new PvrError(
      "USAGE",
      `--${name} ${value}: not a time (YYYY-MM-DD, YYYY-MM-DDThh:mm:ss, RFC 3339) ` +
        "or an ISO 8601 duration (P10D, PT1H)",
    );
  }
  if (name === "from") return now - d;
  if (from === undefined) {
    throw new PvrError("USAGE", `--to ${value}: a duration needs --from (or a rev of -1)`);
  }
  return from + d;
}

/**
 * Streams or collects log entries (see the module doc for when it stops).
 *
 * Requests: `GET <baseUrl>/logs/?cursor=true&page=3000&sort=time-created[&rev]
 * [&after][&before][&dev][&src][&lvl][&plat]` (keys sorted as Go encodes them;
 * anonymous access allowed), then `POST <baseUrl>/logs/cursor` with
 * `{"next-cursor": …}` until a page is empty. With `follow`, after `pollMs` the query
 * is made again with `after` = the last entry's time (whole seconds). An expired
 * cursor restarts the query from there.
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `USAGE` for a bad filter or time; `AUTH`; `REMOTE`
 * @example
 * ```ts
 * await deviceLogs({ configDir, filter: "dev1/pantavisor.log@INFO", from: "PT1H",
 *   onEntry: (e) => console.log(e.msg) });
 * ```
 */
export async function deviceLogs(opts: DeviceLogsOptions): Promise<DeviceLogsResult> {
  const now = opts.now ?? Date.now;
  const base = baseUrlOf(opts);
  const f = parseLogFilter(opts.filter ?? "");
  // A 24-hex Mongo ObjectId is a device id: the Go pvr sends it as a PRN.
  const devices = (opts.devices ? opts.devices.split(",") : f.devices)
    .map((d) => d.trim()).filter((d) => d !== "")
    .map((d) => (/^[0-9a-fA-F]{24}$/.test(d) ? `prn:::devices:/${d}` : d));
  const rev = opts.rev ?? -1;
  let after: number | undefined = rev < 0 ? now() - 60_000 : undefined;
  if (opts.from) after = timeArg("from", opts.from, now());
  const before = opts.to ? timeArg("to", opts.to, now(), after) : undefined;
  const fixed: Record<string, string> = {
    cursor: "true",
    page: "3000",
    sort: "time-created",
  };
  if (rev >= 0) fixed.rev = String(rev);
  if (before !== undefined) fixed.before = utcSeconds(before);
  if (devices.length > 0) fixed.dev = devices.join(",");
  const src = opts.source || f.source;
  const lvl = opts.level || f.level;
  const plat = opts.platform || f.platform;
  if (src) fixed.src = src;
  if (lvl) fixed.lvl = lvl;
  if (plat) fixed.plat = plat;

  const session = sessionOf(opts);
  const sleep = opts.sleep ?? timerSleep;
  const entries: LogEntry[] = [];
  let count = 0;
  /** Ids delivered at or after the current `after` second (for de-duplication). */
  let seen = new Map<string, number>();
  let lastMs: number | undefined;
  const stopped = () =>
    opts.signal?.aborted === true || (opts.limit !== undefined && count >= opts.limit);

  const deliver = async (list: LogEntry[]): Promise<void> => {
    for (const e of list) {
      if (stopped()) return;
      const t = e["time-created"] ? parseRfc3339(e["time-created"])?.ms : undefined;
      const id = e.id ?? JSON.stringify(e);
      if (seen.has(id)) continue;
      seen.set(id, t ?? 0);
      if (t !== undefined && (lastMs === undefined || t > lastMs)) lastMs = t;
      count++;
      if (opts.onEntry) await opts.onEntry(e);
      else entries.push(e);
    }
  };

  const get = async (): Promise<z.infer<typeof Page>> => {
    const params: Record<string, string> = { ...fixed };
    if (after !== undefined) params.after = utcSeconds(after);
    const q = new URLSearchParams();
    for (const k of Object.keys(params).sort()) q.append(k, params[k]);
    const url = `${base}/logs/?${q}`;
    const res = await session.call({ method: "GET", url, anonymous: true });
    if (res.status !== 200) throw await replyFailure(res, "getting the logs");
    return await readJsonReply(res, Page, "GET /logs/", { raw: true });
  };

  for (let restarts = 0;;) {
    const first = await get();
    await deliver((first.entries ?? []) as LogEntry[]);
    let cursor = (first.entries?.length ?? 0) > 0 ? first["next-cursor"] : undefined;
    let expired = false;
    while (cursor && !stopped()) {
      const res = await session.call({
        method: "POST",
        url: `${base}/logs/cursor`,
        json: { "next-cursor": cursor },
        anonymous: false,
        forbidden: "return",
      });
      if (res.status === 403) {
        await res.body?.cancel();
        expired = true;
        break;
      }
      if (res.status !== 200) throw await replyFailure(res, "getting the next page of logs");
      const page = await readJsonReply(res, Page, "POST /logs/cursor", { raw: true });
      const list = (page.entries ?? []) as LogEntry[];
      if (list.length === 0) break;
      await deliver(list);
      cursor = page["next-cursor"];
    }
    if (lastMs !== undefined) {
      const sec = Math.floor(lastMs / 1000) * 1000;
      if (after === undefined || sec > after) {
        after = sec;
        seen = new Map([...seen].filter(([, t]) => t >= sec));
      }
    }
    if (stopped()) break;
    if (expired && restarts < 3) {
      restarts++;
      continue;
    }
    restarts = 0;
    if (!opts.follow) break;
    if (opts.until !== undefined && now() >= opts.until) break;
    await sleep(opts.pollMs ?? 1000, opts.signal);
    if (stopped()) break;
  }
  return { count, entries };
}
