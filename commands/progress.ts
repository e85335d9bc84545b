/**
 * Progress bars for object transfers, drawn with `cli-progress` on stderr — only when
 * stderr is a terminal and `--quiet` is not given; otherwise transfers are silent (the
 * plain result lines of each command still appear). One bar for the whole transfer
 * (bytes, rate, ETA, objects) and one per large object while it moves.
 *
 * `cli-progress` (a CommonJS package: loading it starts Deno's Node compatibility
 * layer) is imported only when bars are to be drawn: by a {@link BarReporter} (a
 * terminal, no `--quiet`) when a transfer with objects starts. The bars appear once it
 * is loaded, with the figures of that moment.
 *
 * @module
 */

import type cliProgress from "cli-progress";
import {
  NULL_TRANSFER_REPORTER,
  type TransferObject,
  type TransferOutcome,
  type TransferReporter,
  type TransferTotals,
} from "../core/remote/progress.ts";
import type { OutStream } from "./output.ts";

/** Objects at least this big get a bar of their own while they move. */
export const LARGE_OBJECT_BYTES = 32 * 1024 * 1024;

/** Progress figures go to the bars at most this often (ms). */
const PROGRESS_MS = 100;

/** At most this many per-object bars at once. */
const MAX_OBJECT_BARS = 4;

/** `1.5 MiB`-style sizes. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** `1h02m`, `3m04s`, `12s`, or `--` when unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  const s = Math.round(seconds);
  if (s >= 3600) {
    return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  }
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** The stream `cli-progress` writes to: a terminal view of an {@link OutStream}. */
function terminalStream(out: OutStream, columns: () => number) {
  return {
    isTTY: true,
    get columns() {
      return columns();
    },
    write(s: string, cb?: () => void) {
      out.write(s);
      cb?.();
      return true;
    },
  };
}

type Bar = ReturnType<cliProgress.MultiBar["create"]>;

type CliProgress = typeof cliProgress;

let library: Promise<CliProgress> | undefined;

/** Loads `cli-progress` (once per process). */
export function loadProgressBars(): Promise<CliProgress> {
  return library ??= import("cli-progress").then((m) => m.default);
}

interface Moving {
  name: string;
  size?: number;
  done: number;
  bar?: Bar;
}

/** Renders transfer events as progress bars (see the module doc). */
export class BarReporter implements TransferReporter {
  readonly #out: OutStream;
  readonly #columns: () => number;
  readonly #now: () => number;
  #multi?: cliProgress.MultiBar;
  #total?: Bar;
  #direction = "download";
  #objects = 0;
  #finished = 0;
  #bytes = 0;
  #moved = 0;
  #started = 0;
  /** When the bars last took new figures (see {@link PROGRESS_MS}). */
  #updatedAt = -Infinity;
  readonly #moving = new Map<string, Moving>();
  #lib?: CliProgress;
  /** A transfer with objects is under way (its bars are drawn once the library is in). */
  #active = false;
  #ready?: Promise<void>;

  constructor(out: OutStream, opts: { columns?: () => number; now?: () => number } = {}) {
    this.#out = out;
    this.#columns = opts.columns ?? terminalColumns;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Settles once the bars' library is loaded (or failed to), if a transfer asked for it. */
  ready(): Promise<void> {
    return this.#ready ?? Promise.resolve();
  }

  /** Loads the bars' library, then draws the transfer under way, if any. */
  #load(): void {
    this.#ready ??= loadProgressBars().then(
      (lib) => {
        this.#lib = lib;
        this.#attach();
      },
      () => {}, // no library, no bars: the transfer goes on
    );
  }

  /** Creates the bars of the transfer under way, if the library is in and there are none. */
  #attach(): void {
    if (this.#lib === undefined || !this.#active || this.#multi !== undefined) return;
    this.#multi = new this.#lib.MultiBar({
      stream: terminalStream(this.#out, this.#columns),
      format: "{label} [{bar}] {percentage}% | {amount} | {rate} | ETA {left} | {count}",
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      autopadding: true,
      fps: 8,
    });
    this.#total = this.#multi.create(
      Math.max(1, this.#bytes),
      Math.min(this.#moved, Math.max(1, this.#bytes)),
      this.#payload(),
    );
    for (const m of this.#moving.values()) this.#objectBar(m);
  }

  /** A bar of its own for a large object, while there are fewer than the maximum. */
  #objectBar(m: Moving): void {
    if (
      m.bar === undefined && this.#multi && (m.size ?? 0) >= LARGE_OBJECT_BYTES &&
      [...this.#moving.values()].filter((x) => x.bar).length < MAX_OBJECT_BARS
    ) {
      m.bar = this.#multi.create(m.size!, m.done, this.#objectPayload(m));
    }
  }

  start(t: TransferTotals): void {
    this.finish(); // a reporter may serve several transfers one after the other
    this.#direction = t.direction;
    this.#objects = t.objects;
    this.#bytes = t.bytes;
    this.#finished = 0;
    this.#moved = 0;
    this.#moving.clear();
    this.#started = this.#now();
    this.#active = t.objects > 0;
    if (this.#active) this.#load();
    this.#attach();
  }

  objectStart(o: TransferObject): void {
    const m = this.#moving.get(o.sha) ?? { name: o.name, done: 0 };
    if (m.size === undefined && o.size !== undefined) {
      m.size = o.size;
      if (this.#direction === "download") {
        this.#bytes += o.size;
        this.#total?.setTotal(Math.max(1, this.#bytes));
      }
    }
    // A restart (from a resumed offset, or from 0) moves the object's count back.
    this.#moved += o.from - m.done;
    m.done = o.from;
    this.#objectBar(m);
    this.#moving.set(o.sha, m);
    this.#redraw();
  }

  objectProgress(sha: string, done: number): void {
    const m = this.#moving.get(sha);
    if (!m) return;
    this.#moved += done - m.done;
    m.done = done;
    // Called for every chunk (thousands a second): the bars take the new figures at
    // most every PROGRESS_MS (they redraw on their own timer anyway).
    const now = this.#now();
    if (now - this.#updatedAt < PROGRESS_MS) return;
    this.#updatedAt = now;
    for (const x of this.#moving.values()) x.bar?.update(x.done, this.#objectPayload(x));
    this.#redraw();
  }

  objectDone(sha: string, _outcome: TransferOutcome): void {
    this.#finished++;
    const m = this.#moving.get(sha);
    if (m?.bar) this.#multi?.remove(m.bar);
    this.#moving.delete(sha);
    this.#redraw();
  }

  finish(): void {
    this.#active = false;
    this.#multi?.stop();
    this.#multi = undefined;
    this.#total = undefined;
  }

  #rate(): number {
    const secs = (this.#now() - this.#started) / 1000;
    return secs > 0.2 ? this.#moved / secs : 0;
  }

  #payload() {
    const rate = this.#rate();
    const left = Math.max(0, this.#bytes - this.#moved);
    return {
      label: this.#direction === "download" ? "getting" : "sending",
      amount: `${formatBytes(this.#moved)}/${formatBytes(this.#bytes)}`,
      rate: `${formatBytes(Math.round(rate))}/s`,
      left: rate > 0 ? formatEta(left / rate) : "--",
      count: `${this.#finished}/${this.#objects} objects`,
    };
  }

  #objectPayload(m: Moving) {
    const name = m.name.length > 20 ? "…" + m.name.slice(-19) : m.name;
    return {
      label: name,
      amount: `${formatBytes(m.done)}/${formatBytes(m.size ?? 0)}`,
      rate: "",
      left: "",
      count: "",
    };
  }

  #redraw(): void {
    this.#total?.update(Math.min(this.#moved, Math.max(1, this.#bytes)), this.#payload());
  }
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/**
 * The reporter for a command: bars on `stderr` when it is a terminal and `quiet` is
 * off, else the null reporter.
 */
export function transferReporter(stderr: OutStream, quiet: boolean): TransferReporter {
  return stderr.isTerminal && !quiet ? new BarReporter(stderr) : NULL_TRANSFER_REPORTER;
}
