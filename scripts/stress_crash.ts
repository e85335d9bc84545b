// deno-lint-ignore-file no-console
/**
 * Stress test of crash consistency: the scenarios of
 * `tests/integration/crash_recovery.test.ts` (commit, checkout, merge, import run as
 * `pvr` subprocesses and killed with SIGKILL at seeded random moments), with many more
 * trials, and a summary.
 *
 * ```sh
 * deno run -A scripts/stress_crash.ts [--trials N] [--seed S] [--ops commit,checkout]
 *                                     [--keep-failed]
 * ```
 *
 * `--trials` is the total (default 500), spread evenly over the operations. A failure
 * prints its seed and trial; `PVR_CRASH_SEED=S deno test -A
 * tests/integration/crash_recovery.test.ts` replays the first 13 trials of a seed.
 * Set `TMPDIR` to choose the file system the repositories live on. Exit code 1 when a
 * trial failed.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  buildFixtures,
  CRASH_OPS,
  type CrashOp,
  parseSeed,
  randomSeed,
  runTrial,
  type TrialOutcome,
} from "../tests/support/crash_scenarios.ts";

const USAGE =
  "usage: deno run -A scripts/stress_crash.ts [--trials N] [--seed S] [--ops op,op] [--keep-failed]";

function parseOptions() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "500" },
      seed: { type: "string" },
      ops: { type: "string", default: CRASH_OPS.join(",") },
      "keep-failed": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const trials = Number(values.trials);
  const seed = values.seed === undefined ? randomSeed() : parseSeed(values.seed, "--seed");
  const ops = values.ops.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = ops.filter((o) => !(CRASH_OPS as readonly string[]).includes(o));
  if (!Number.isSafeInteger(trials) || trials < 1) throw new Error(`bad --trials\n${USAGE}`);
  if (bad.length > 0 || ops.length === 0) {
    throw new Error(`unknown operation ${bad.join(", ")}; choose from ${CRASH_OPS.join(", ")}`);
  }
  return { trials, seed, ops: ops as CrashOp[], keepFailed: values["keep-failed"] };
}

interface Tally {
  trials: number;
  killed: number;
  finished: number;
  old: number;
  new: number;
  withTemps: number;
  failures: string[];
  ms: number;
}

function emptyTally(): Tally {
  return { trials: 0, killed: 0, finished: 0, old: 0, new: 0, withTemps: 0, failures: [], ms: 0 };
}

function pct(n: number, of: number): string {
  return of === 0 ? "-" : `${Math.round((100 * n) / of)}%`;
}

async function main(): Promise<number> {
  const { trials, seed, ops, keepFailed } = parseOptions();
  console.log(`pvr crash stress: ${trials} trials over ${ops.join(", ")}, seed ${seed}`);
  const t0 = performance.now();
  const set = await buildFixtures(ops);
  console.log(`fixtures built in ${((performance.now() - t0) / 1000).toFixed(1)} s (${set.root})`);
  for (const fx of set.fixtures) {
    for (const v of fx.variants) {
      console.log(`  pvr ${v.label}: ${v.ms.toFixed(0)} ms uninterrupted`);
    }
  }

  const tally = new Map<CrashOp, Tally>(
    ops.map((op) => [op, emptyTally()]),
  );
  const perOp = Math.ceil(trials / ops.length);
  let done = 0;
  let failed = 0;
  const started = performance.now();
  // Interleaved (commit 0, checkout 0, ..., commit 1, ...): a partial run covers every op.
  // Trials run one at a time: copies share inodes with the fixtures (see crash_scenarios.ts).
  for (let trial = 0; trial < perOp && done < trials; trial++) {
    for (const op of ops) {
      if (done >= trials) break;
      const t = tally.get(op)!;
      const s = performance.now();
      t.trials++;
      done++;
      try {
        const o: TrialOutcome = await runTrial(set.get(op), { seed, trial, keepFailed });
        if (o.killed) t.killed++;
        else t.finished++;
        t[o.ended]++;
        if (o.leftoverTemps > 0) t.withTemps++;
      } catch (err) {
        failed++;
        const message = err instanceof Error ? err.message : String(err);
        t.failures.push(message);
        console.log(`FAIL ${message}`);
      }
      t.ms += performance.now() - s;
      if (done % 50 === 0) {
        const secs = (performance.now() - started) / 1000;
        console.log(`  ${done}/${trials} trials, ${failed} failed, ${secs.toFixed(0)} s`);
      }
    }
  }

  console.log("");
  console.log(
    "op        trials  killed  finished  ended old  ended new  temps left  failed  s/trial",
  );
  const total = emptyTally();
  const row = (name: string, t: Tally) =>
    console.log(
      `${name.padEnd(8)} ${String(t.trials).padStart(7)} ${String(t.killed).padStart(7)} ` +
        `${String(t.finished).padStart(9)} ` +
        `${String(t.old).padStart(10)} ${String(t.new).padStart(10)} ` +
        `${(`${t.withTemps} (${pct(t.withTemps, t.trials)})`).padStart(11)} ` +
        `${String(t.failures.length).padStart(7)} ${
          (t.ms / 1000 / Math.max(1, t.trials)).toFixed(2).padStart(8)
        }`,
    );
  for (const [op, t] of tally) {
    row(op, t);
    for (const k of ["trials", "killed", "finished", "old", "new", "withTemps", "ms"] as const) {
      total[k] += t[k];
    }
    total.failures.push(...t.failures);
  }
  row("total", total);
  console.log(
    `\n"finished": the operation ended before the kill. "temps left": trials that left temp ` +
      `files (objects dir or .pvr/) after recovery — garbage, not damage.`,
  );
  console.log(
    `${total.failures.length === 0 ? "PASS" : "FAIL"}: seed ${seed}, ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (keepFailed && total.failures.length > 0) {
    console.log(`failed trials kept under ${set.root}/trials`);
  } else {
    await set.cleanup();
  }
  return total.failures.length === 0 ? 0 : 1;
}

Deno.exit(await main());
