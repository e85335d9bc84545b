/**
 * The text outputs of `device ps` and `device logs`, byte for byte as the Go pvr prints
 * them: the borderless tablewriter (v0.0.5) table with its 30-column word wrap, the
 * `timeago` ages, and the default log line template with Go's `Stamp` time layout.
 * Written by hand: no package renders these Go formats.
 *
 * @module
 */

import { parseRfc3339 } from "../../core/ops/device_logs.ts";
import type { LogEntry } from "../../core/ops/device_logs.ts";
import type { DeviceSummary } from "../../core/ops/device_ps.ts";

/** Characters of a string (code points), for Go's rune counts. */
function runes(s: string): string[] {
  return Array.from(s);
}

/** Go `%<w>s`: right-aligned to `width` runes. */
export function padLeft(s: string, width: number): string {
  const n = runes(s).length;
  return n >= width ? s : " ".repeat(width - n) + s;
}

/** Go `%-<w>s`: left-aligned to `width` runes. */
export function padRight(s: string, width: number): string {
  const n = runes(s).length;
  return n >= width ? s : s + " ".repeat(width - n);
}

/** Go `%.<p>s`: at most `precision` runes. */
export function truncate(s: string, precision: number): string {
  const r = runes(s);
  return r.length <= precision ? s : r.slice(0, precision).join("");
}

/** Go `path.Base`: the last element; `.` for an empty path, `/` for only slashes. */
export function goBase(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * Go's `time.Stamp` layout (`Jan _2 15:04:05`) of an RFC 3339 time, in the offset the
 * time was written with (UTC for Pantahub). A missing or bad time is Go's zero time.
 */
export function goStamp(rfc3339: string | undefined): string {
  const t = rfc3339 === undefined ? undefined : parseRfc3339(rfc3339);
  if (t === undefined) return "Jan  1 00:00:00";
  const d = new Date(t.ms + t.offsetMinutes * 60_000);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

/** The device id of a PRN: what follows its last `/`, or `INVALID_PRN(<prn>)`. */
export function prnToId(prn: string): string {
  const i = prn.lastIndexOf("/");
  return i < 0 ? `INVALID_PRN(${prn})` : prn.slice(i + 1);
}

/**
 * One log entry in the Go pvr's default template:
 * `%10.10s(dev id)(%3s rev) Stamp%12s(plat)(%-15.15s basename(src)): msg`.
 */
export function formatLogLine(e: LogEntry): string {
  const dev = padLeft(truncate(prnToId(e.dev ?? ""), 10), 10);
  const rev = padLeft(e.rev ?? "", 3);
  const plat = padLeft(e.plat ?? "", 12);
  const src = padRight(truncate(goBase(e.src ?? ""), 15), 15);
  return `${dev}(${rev}) ${goStamp(e["time-created"])}${plat}(${src}): ${e.msg ?? ""}`;
}

// -- time ago (github.com/justincampbell/timeago) -----------------------------------

const MINUTE = 1;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** Integer division rounding half up, as the package's `div`. */
function div(n: number, d: number): number {
  const q = Math.trunc(n / d);
  return n % d >= Math.trunc(d / 2) ? q + 1 : q;
}

/** A friendly approximation of a duration in ms ("about 2 hours", "almost 3 years"). */
export function durationWords(ms: number): string {
  const seconds = Math.floor(ms / 1000 + 0.5);
  if (seconds < 30) return "less than a minute";
  if (seconds < 90) return "1 minute";
  const minutes = div(seconds, 60);
  if (minutes < 45) return `${minutes} minutes`;
  const hours = div(minutes, 60);
  if (minutes < DAY) return `about ${plural(hours, "hour")}`;
  if (minutes < 42 * HOUR) return "1 day";
  const days = div(hours, 24);
  if (minutes < 30 * DAY) return plural(days, "day");
  const months = div(days, 30);
  if (minutes < 45 * DAY) return "about 1 month";
  if (minutes < 60 * DAY) return "about 2 months";
  if (minutes < YEAR) return plural(months, "month");
  const rem = minutes % YEAR;
  const years = Math.trunc(minutes / YEAR);
  if (rem < 3 * MONTH) return `about ${plural(years, "year")}`;
  if (rem < 9 * MONTH) return `over ${plural(years, "year")}`;
  return `almost ${plural(years + 1, "year")}`;
}

/** `<words> ago` for a past time, `<words> from now` otherwise (`timeago.FromTime`). */
export function timeAgo(thenMs: number, nowMs: number): string {
  return thenMs < nowMs
    ? `${durationWords(nowMs - thenMs)} ago`
    : `${durationWords(thenMs - nowMs)} from now`;
}

// -- the borderless table (github.com/olekukonko/tablewriter v0.0.5) ----------------

const WRAP_WIDTH = 30;
const PENALTY = 100_000;
const NUMBER = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;

function width(s: string): number {
  return runes(s).length;
}

/** Words into lines of minimal raggedness (tablewriter's `WrapWords`). */
function wrapWords(words: string[], limit: number): string[][] {
  const n = words.length;
  const len = (i: number, j: number) => {
    let l = 0;
    for (let k = i; k <= j; k++) l += width(words[k]) + (k > i ? 1 : 0);
    return l;
  };
  const cost = new Array<number>(n).fill(2 ** 31 - 1);
  const brk = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    if (len(i, n - 1) <= limit) {
      cost[i] = 0;
      brk[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const l = len(i, j - 1);
      const d = limit - l;
      let c = d * d + cost[j];
      if (l > limit) c += PENALTY;
      if (c < cost[i]) {
        cost[i] = c;
        brk[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = brk[i]) lines.push(words.slice(i, brk[i]));
  return lines;
}

/** A cell's lines and width as tablewriter lays them out (wrap at 30, reflowed). */
function cellLines(text: string): { lines: string[]; width: number } {
  const raw = text.split("\n");
  let max = Math.max(...raw.map(width));
  if (max > WRAP_WIDTH) max = WRAP_WIDTH;
  const words = raw.join(" ").split(" ");
  let limit = max;
  for (const w of words) limit = Math.max(limit, width(w));
  const lines = wrapWords(words, limit).map((l) => l.join(" "));
  return { lines, width: Math.max(max, ...lines.map(width)) };
}

function center(s: string, w: number): string {
  const gap = w - width(s);
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return " ".repeat(left) + s + " ".repeat(gap - left);
}

/**
 * A table as the Go pvr's `ps` renders it: tablewriter with `SetBorder(false)`,
 * `SetHeaderLine(false)`, `SetColumnSeparator(" ")` — headers upper-cased and centred,
 * numbers right-aligned, other cells left-aligned, cells wider than 30 wrapped at
 * spaces, every line starting with a space and ending with two.
 */
export function renderTable(header: string[], rows: string[][]): string {
  const widths: number[] = [];
  const fit = (col: number, w: number) => {
    if (widths[col] === undefined || widths[col] < w || widths[col] === 0) widths[col] = w;
  };
  const head = header.map((h, i) => {
    const c = cellLines(h);
    fit(i, c.width);
    return c.lines;
  });
  const body = rows.map((r) =>
    r.map((cell, i) => {
      const c = cellLines(cell);
      fit(i, c.width);
      return c.lines;
    })
  );
  let out = "";
  const headHeight = Math.max(...head.map((l) => l.length));
  for (let y = 0; y < headHeight; y++) {
    out += " ";
    for (let i = 0; i < head.length; i++) {
      out += ` ${center((head[i][y] ?? "").toUpperCase(), widths[i])}  `;
    }
    out += "\n";
  }
  for (const row of body) {
    const height = Math.max(...row.map((l) => l.length));
    for (let y = 0; y < height; y++) {
      for (let i = 0; i < row.length; i++) {
        const s = row[i][y] ?? "  ";
        const aligned = NUMBER.test(s.trim()) ? padLeft(s, widths[i]) : padRight(s, widths[i]);
        out += `  ${aligned} `;
      }
      out += " \n";
    }
  }
  return out;
}

/** Go's zero `time.Time` (0001-01-01T00:00:00Z), what a missing timestamp decodes to. */
const GO_ZERO_TIME = -62_135_596_800_000;

/** The `device ps` table of a list of summaries, ages relative to `nowMs`. */
export function formatPsTable(devices: readonly DeviceSummary[], nowMs: number): string {
  const rows = devices.map((d) => {
    const seen = d.timestamp === undefined ? undefined : parseRfc3339(d.timestamp);
    return [
      d.deviceid.slice(0, 8),
      d["device-nick"] ?? "",
      String(d["progress-revision"] ?? 0),
      d.status ?? "",
      (d["state-sha"] ?? "").slice(0, 8),
      timeAgo(seen?.ms ?? GO_ZERO_TIME, nowMs),
      d["real-ip"] ?? "",
      d["status-msg"] ?? "",
    ];
  });
  return renderTable(["id", "nick", "rev", "status", "state", "seen", "ip", "message"], rows);
}
