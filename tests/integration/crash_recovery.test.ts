/**
 * Crash consistency: commit, checkout, merge and import are run as `pvr` subprocesses
 * and killed with SIGKILL at random moments (13 trials each); every trial must leave
 * the old or the new state, recover on the next command and pass `pvr fsck`. Plus the
 * repository lock: a second writer fails fast (exit 6), `--wait` waits, and a killed
 * holder does not block anyone.
 *
 * The kill moments come from a seeded PRNG: `PVR_CRASH_SEED=<seed>` replays a run (the
 * seed is in every test name). More trials: `deno run -A scripts/stress_crash.ts`.
 */

import assert from "node:assert/strict";
import {
  buildFixtures,
  canWatchLocks,
  CRASH_OPS,
  type CrashOp,
  type Fixture,
  type FixtureSet,
  pvrCommand,
  type PvrPlace,
  readStateBytes,
  runPvr,
  runPvrInProcess,
  runTrial,
  sameBytes,
  seedFromEnv,
  snapshotTree,
  treeDifference,
  type TrialOutcome,
  waitForLock,
  workspace,
} from "../support/crash_scenarios.ts";

const SEED = seedFromEnv();
const TRIALS_PER_OP = 13;

let built: Promise<FixtureSet> | null = null;
let builtRoot: string | null = null;

/** The fixtures, built once for the whole file (removed when the file's tests end). */
function fixture(op: CrashOp): Promise<Fixture> {
  built ??= buildFixtures().then((set) => {
    builtRoot = set.root;
    return set;
  });
  return built.then((set) => set.get(op));
}

globalThis.addEventListener("unload", () => {
  if (builtRoot) Deno.removeSync(builtRoot, { recursive: true });
});

const WHAT_HOLDS: Record<CrashOp, string> = {
  commit: "leaves the old or the new state, an unchanged tree and intact objects",
  checkout: "leaves old or new files and recovers",
  merge: "leaves the old or the merged state and intact objects",
  import: "leaves the old or the imported state and intact objects",
};

for (const op of CRASH_OPS) {
  Deno.test(
    `${op} killed with SIGKILL at ${TRIALS_PER_OP} random moments always ${
      WHAT_HOLDS[op]
    }, and fsck is clean (seed ${SEED})`,
    async (t) => {
      const fx = await fixture(op);
      const outcomes: TrialOutcome[] = [];
      for (let trial = 0; trial < TRIALS_PER_OP; trial++) {
        await t.step(
          `${op} killed at a random moment ${WHAT_HOLDS[op]} (seed ${SEED}, trial ${trial})`,
          async () => {
            outcomes.push(await runTrial(fx, { seed: SEED, trial }));
          },
        );
      }
      if (outcomes.length === TRIALS_PER_OP) {
        assert.ok(outcomes.some((o) => o.killed), `no ${op} trial was killed (seed ${SEED})`);
      }
    },
  );
}

// ---------------------------------------------------------------------------------
// The repository lock

const LOCK_TESTS = canWatchLocks(); // they watch the lock through /proc/locks (Linux)

/**
 * Starts `pvr <args>` on a copy of `fx`, stops it (SIGSTOP) once it holds the lock,
 * runs `during`, then lets it go on (SIGCONT) and returns its exit code. Retries on a
 * fresh copy when the process finished before it was seen holding the lock.
 */
async function whileLockHeld(
  fx: Fixture,
  args: string[],
  during: (ws: PvrPlace) => Promise<void>,
): Promise<{ ws: PvrPlace & { cleanup: () => Promise<void> }; holderCode: number }> {
  for (let attempt = 1;; attempt++) {
    const ws = await workspace(fx);
    const holder = pvrCommand(args, ws, "null").spawn();
    const status = holder.status;
    let exited = false;
    status.then(() => exited = true);
    try {
      if (!(await waitForLock(ws.cwd, holder.pid, "held", status))) {
        await status;
        await ws.cleanup();
        if (attempt < 5) continue;
        assert.fail(`pvr ${args.join(" ")} was never seen holding the lock`);
      }
      holder.kill("SIGSTOP");
      try {
        await during(ws);
      } finally {
        holder.kill("SIGCONT");
      }
      return { ws, holderCode: (await status).code };
    } catch (err) {
      if (!exited) {
        try {
          holder.kill("SIGKILL");
        } catch {
          // it has just exited
        }
      }
      await status;
      await ws.cleanup();
      throw err;
    }
  }
}

Deno.test({
  name: "pvr commit fails at once with exit code 6 and one ERROR: line while a checkout holds " +
    "the lock, and changes nothing",
  ignore: !LOCK_TESTS,
  async fn() {
    const fx = await fixture("checkout");
    const { ws, holderCode } = await whileLockHeld(fx, ["checkout"], async (ws) => {
      const r = await runPvr(["commit"], ws, 30_000);
      assert.equal(r.timedOut, false, "pvr commit waited for the lock (holder is stopped)");
      assert.equal(r.code, 6, r.stderr);
      assert.equal(r.stdout, "");
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^ERROR: .*lock/);
      assert.ok(r.ms < 10_000, `pvr commit took ${r.ms.toFixed(0)} ms to give up`);
    });
    try {
      assert.equal(holderCode, 0);
      assert.ok(sameBytes(await readStateBytes(ws.cwd), fx.oldJson));
      assert.equal(treeDifference(await snapshotTree(ws.cwd), fx.newTree), "");
    } finally {
      await ws.cleanup();
    }
  },
});

Deno.test({
  name: "pvr --wait commit waits while another commit holds the lock, then succeeds",
  ignore: !LOCK_TESTS,
  async fn() {
    const fx = await fixture("commit");
    const waiter: { out?: Promise<Deno.CommandOutput> } = {};
    let held;
    try {
      held = await whileLockHeld(fx, ["commit", "-m", "B"], async (ws) => {
        const child = pvrCommand(["--wait", "commit", "-m", "again"], ws).spawn();
        const out = waiter.out = child.output();
        if (!(await waitForLock(ws.cwd, child.pid, "waiting", out))) {
          const r = await out;
          assert.fail(
            `pvr --wait commit did not wait: exit ${r.code}, ${new TextDecoder().decode(r.stderr)}`,
          );
        }
      });
    } finally {
      await waiter.out; // it ends once the holder is gone, whatever happened
    }
    const { ws, holderCode } = held;
    try {
      assert.equal(holderCode, 0);
      const out = await waiter.out!;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.ok(sameBytes(await readStateBytes(ws.cwd), fx.newJson), "not the committed state");
      assert.equal(await Deno.readTextFile(`${ws.cwd}/.pvr/commitmsg`), "again");
      assert.equal((await runPvrInProcess(["fsck"], ws)).code, 0);
    } finally {
      await ws.cleanup();
    }
  },
});

Deno.test({
  name: "a checkout killed while it holds the lock does not block the next pvr commit, " +
    "which finishes the checkout first",
  ignore: !LOCK_TESTS,
  async fn() {
    const fx = await fixture("checkout");
    for (let attempt = 1;; attempt++) {
      const ws = await workspace(fx);
      try {
        const holder = pvrCommand(["checkout"], ws, "null").spawn();
        const status = holder.status;
        let exited = false;
        status.then(() => exited = true);
        // Mid-checkout: the journal is written (under the lock) and not yet removed.
        while (!exited) {
          const journal = await Deno.lstat(`${ws.cwd}/.pvr/journal`).catch(() => null);
          if (journal) break;
          await new Promise((r) => setTimeout(r, 1));
        }
        if (!exited) holder.kill("SIGKILL");
        if (!(await status).signal) {
          assert.ok(attempt < 5, "the checkout always finished before it could be killed");
          continue;
        }
        const r = await runPvr(["commit"], ws, 30_000);
        assert.equal(r.timedOut, false, "pvr commit hung");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(treeDifference(await snapshotTree(ws.cwd), fx.newTree), "");
        assert.ok(
          sameBytes(await readStateBytes(ws.cwd), fx.oldJson),
          "the commit after recovery committed something else than the checked-out state",
        );
        assert.equal(await Deno.lstat(`${ws.cwd}/.pvr/journal`).catch(() => null), null);
        return;
      } finally {
        await ws.cleanup();
      }
    }
  },
});
