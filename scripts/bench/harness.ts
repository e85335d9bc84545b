/**
 * Benchmark plumbing: run processes and time them, compare two sides in the same run
 * (interleaved, warm-up first, median of N), and format the results.
 *
 * Everything here is wall-clock time measured around a whole process (spawn to exit)
 * or around an in-process call, with `performance.now()`.
 *
 * @module
 */

/** Options for {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Keep stdout (default: discarded). */
  capture?: boolean;
  /** Accept a non-zero exit code instead of throwing. */
  allowFail?: boolean;
}

/** The outcome of {@link run}. */
export interface RunResult {
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

/**
 * Runs `cmd` (argv, no shell) and returns its wall time. stdout is discarded unless
 * `capture`; stderr is always kept (for error messages). Throws on a non-zero exit
 * unless `allowFail`.
 */
export async function run(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: opts.capture ? "piped" : "null",
    stderr: "piped",
  });
  const t0 = performance.now();
  const child = command.spawn();
  const out = await child.output();
  const ms = performance.now() - t0;
  const result = {
    ms,
    code: out.code,
    stdout: opts.capture ? decoder.decode(out.stdout) : "",
    stderr: decoder.decode(out.stderr),
  };
  if (out.code !== 0 && !opts.allowFail) {
    throw new Error(
      `command failed (exit ${out.code}): ${cmd.join(" ")}${opts.cwd ? ` (in ${opts.cwd})` : ""}\n${
        result.stderr.slice(0, 2000)
      }`,
    );
  }
  return result;
}

/** Runs a shell command line (`bash -c`), for setup steps. */
export function sh(line: string, opts: RunOptions = {}): Promise<RunResult> {
  return run(["bash", "-c", line], opts);
}

/** Flushes dirty pages (outside any timing), so that writeback of one run does not land in the next. */
export async function settle(): Promise<void> {
  await run(["sync"]);
}

/** One side of a comparison: optional untimed setup, then the timed action (returns ms). */
export interface Side {
  /** Untimed preparation before each run (e.g. an empty target dir). */
  setup?: () => Promise<void>;
  /** The timed action; returns its time in ms. */
  timed: () => Promise<number>;
  /** Untimed clean-up after each run. */
  cleanup?: () => Promise<void>;
}

/** Options for {@link compare}. */
export interface CompareOptions {
  /** Timed runs per side (after one warm-up run each). */
  runs: number;
  /** Run `sync` before every timed run (for figures that write a lot). */
  sync?: boolean;
  /** Skip the warm-up run. */
  noWarmup?: boolean;
  /** Progress label. */
  label?: string;
}

/** Samples of both sides of a comparison. */
export interface Samples {
  ours: number[];
  theirs: number[];
}

/**
 * Runs both sides `runs` times, interleaved (the order alternates each round, so a
 * load spike from elsewhere hits both sides alike), after one warm-up run of each.
 */
export async function compare(ours: Side, theirs: Side, opts: CompareOptions): Promise<Samples> {
  const once = async (side: Side): Promise<number> => {
    if (side.setup) await side.setup();
    if (opts.sync) await settle();
    try {
      return await side.timed();
    } finally {
      if (side.cleanup) await side.cleanup();
    }
  };
  if (!opts.noWarmup) {
    await once(ours);
    await once(theirs);
  }
  const samples: Samples = { ours: [], theirs: [] };
  for (let i = 0; i < opts.runs; i++) {
    if (opts.label) progress(`${opts.label}: run ${i + 1}/${opts.runs}`);
    if (i % 2 === 0) {
      samples.ours.push(await once(ours));
      samples.theirs.push(await once(theirs));
    } else {
      samples.theirs.push(await once(theirs));
      samples.ours.push(await once(ours));
    }
  }
  return samples;
}

/** Times several sides (more than two), interleaved in a rotating order. */
export async function compareMany(
  sides: Side[],
  opts: CompareOptions,
): Promise<number[][]> {
  const once = async (side: Side): Promise<number> => {
    if (side.setup) await side.setup();
    if (opts.sync) await settle();
    try {
      return await side.timed();
    } finally {
      if (side.cleanup) await side.cleanup();
    }
  };
  if (!opts.noWarmup) { for (const s of sides) await once(s); }
  const samples: number[][] = sides.map(() => []);
  for (let i = 0; i < opts.runs; i++) {
    if (opts.label) progress(`${opts.label}: run ${i + 1}/${opts.runs}`);
    for (let j = 0; j < sides.length; j++) {
      const k = (i + j) % sides.length;
      samples[k].push(await once(sides[k]));
    }
  }
  return samples;
}

/** A timed process run as a {@link Side} action. */
export function proc(cmd: string[], opts: RunOptions = {}): () => Promise<number> {
  return async () => (await run(cmd, opts)).ms;
}

/** The median of `xs` (mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Progress line on stderr (only when it is a terminal, else one line each). */
export function progress(text: string): void {
  const enc = new TextEncoder();
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(enc.encode(`\r\x1b[K${text}`));
  else Deno.stderr.writeSync(enc.encode(`${text}\n`));
}

/** Clears the progress line. */
export function progressDone(): void {
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
}

/** One result line of the report. */
export interface Figure {
  /** "1", "2a", ... */
  id: string;
  what: string;
  /** Our value, formatted (e.g. "412 ms", "1890 MB/s"). */
  ours: string;
  /** The standard tool and its value (e.g. "openssl 2010 MB/s"). */
  theirs: string;
  /** Ours relative to theirs, as the target states it (e.g. "1.34×"). */
  ratio: string;
  /** The target (e.g. "≤ 2×"), or "info". */
  target: string;
  /** true PASS, false MISS, null information only. */
  pass: boolean | null;
  /** Samples and notes for the details section. */
  detail?: string;
}

/** Formats ms for the table. */
export function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

/** Samples as a compact list of ms. */
export function fmtSamples(xs: number[]): string {
  return xs.map((x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1))).join(", ");
}

/** Renders the figures as a Markdown table. */
export function table(figures: Figure[]): string {
  const head = ["#", "figure", "pvr", "standard tool", "ratio", "target", "result"];
  const rows = figures.map((f) => [
    f.id,
    f.what,
    f.ours,
    f.theirs,
    f.ratio,
    f.target,
    f.pass === null ? "info" : f.pass ? "PASS" : "MISS",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(head),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

/** The Deno cache of this process (`DENO_DIR`, else Deno's default on Linux). */
export function callerDenoDir(): string {
  const env = Deno.env.toObject();
  return env.DENO_DIR || `${env.XDG_CACHE_HOME || `${env.HOME ?? "/root"}/.cache`}/deno`;
}

/**
 * A Deno cache directory of the benchmark's own (`<root>/deno-dir`), for every Deno
 * process it times (pvr and the empty script alike), seeded once with the npm packages
 * of the caller's cache so that `main.ts` starts offline.
 *
 * Why not the caller's cache: Deno keeps compiled code in one SQLite file there that
 * only grows. On the development VM it reached 78 MB after a day of test runs, and every
 * module or Node built-in that a process loads then costs 3–4× as much (a `pvr` command
 * that loads the CLI: about +70 ms; loading `node:module`: 18 → 65 ms). A compiled
 * `pvr` keeps its code cache apart from `DENO_DIR`, and a user's machine does not run
 * our test suite all day: a cache that holds only what the benchmark runs is the
 * faithful stand-in for both.
 */
export async function benchDenoDir(root: string): Promise<string> {
  const dir = `${root}/deno-dir`;
  const callers = callerDenoDir();
  await Deno.mkdir(dir, { recursive: true });
  const seeded = await Deno.stat(`${dir}/npm`).then(() => true, () => false);
  const source = await Deno.stat(`${callers}/npm`).then(() => true, () => false);
  if (!seeded && source && callers !== dir) {
    await run(["cp", "-a", `${callers}/npm`, `${dir}/npm`]);
  }
  return dir;
}
