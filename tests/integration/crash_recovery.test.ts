/**
 * Crash consistency: commit, checkout, merge and import are run as `pvr` subprocesses
 * and killed with SIGKILL at random moments (13 trials each); every trial must leave
 * the old or the new state, recover on the next command and pass `pvr fsck`. Plus the
 * repository lock: a second writer fails fast (exit 6), `--wait` waits, and a killed
 * holder does not block anyone.
 *
 * The kill moments come from a seeded PRNG: `PVR_CRASH_SEED=<seed>` replays a run (the
 * seed is in every test name). More trials: `deno run -A scripts/stress_crash.ts`. A
 * hardlink checkout into an empty tree (files linked straight to their final names) has
 * its own trials.
 */

import assert from "node:assert/strict";
import {
  buildFixtures,
  canWatchLocks,
  CRASH_OPS,
  type CrashOp,
  type Fixture,
  type FixtureSet,
  mulberry32,
  pvrCommand,
  type PvrPlace,
  readStateBytes,
  runPvr,
  runPvrInProcess,
  runPvrKilledAfter,
  runTrial,
  sameBytes,
  seedFromEnv,
  snapshotTree,
  treeDifference,
  type TrialOutcome,
  waitForLock,
  workspace,
} from "../support/crash_scenarios.ts";
import { add, commit, init } from "../../mod.ts";

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

// ---------------------------------------------------------------------------------
// A hardlink checkout into an empty tree (files are linked straight to their names)

const HARDLINK_TRIALS = 8;

/**
 * A committed repository (600 small files in 30 directories, 10 inline JSON files) and
 * a checkout root holding only a copy of its `.pvr`: `pvr checkout --hardlink` there
 * links each object straight to its final name (the directories are new).
 */
async function hardlinkFixture(root: string): Promise<{ src: string; configDir: string }> {
  const src = `${root}/src`;
  const configDir = `${root}/config`;
  const files: Record<string, string> = {};
  for (let i = 0; i < 600; i++) files[`d${i % 30}/f${i}.bin`] = `small ${i}\n`.repeat(1 + i % 7);
  for (let i = 0; i < 10; i++) files[`cfg/c${i}.json`] = JSON.stringify({ n: i, on: true });
  for (const [k, v] of Object.entries(files)) {
    await Deno.mkdir(`${src}/${k.slice(0, k.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${src}/${k}`, v);
  }
  await init({ dir: src, configDir });
  await add({ dir: src, configDir });
  await commit({ dir: src, configDir, message: "H" });
  return { src, configDir };
}

/** A fresh empty checkout root with a copy of `src`'s `.pvr` (no stat cache). */
async function emptyCheckoutRoot(src: string, dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/.pvr`, { recursive: true });
  for (const e of Deno.readDirSync(`${src}/.pvr`)) {
    if (e.isFile && e.name !== "stat-cache") {
      await Deno.copyFile(`${src}/.pvr/${e.name}`, `${dir}/.pvr/${e.name}`);
    }
  }
}

/** Every path below `dir` but `.pvr` (directories end in `/`). */
function treeNames(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(rel ? `${dir}/${rel}` : dir)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (p === ".pvr") continue;
    if (e.isDirectory) out.push(`${p}/`, ...treeNames(dir, p));
    else out.push(p);
  }
  return out.sort();
}

/** Kills land this many ms (at most) after the journal appears: while files are written. */
const WRITE_WINDOW_MS = 40;

Deno.test(
  `checkout --hardlink into an empty tree killed with SIGKILL at ${HARDLINK_TRIALS} random ` +
    `moments leaves nothing or a partial tree that the next command completes into hardlinks ` +
    `(seed ${SEED})`,
  async (t) => {
    const root = await Deno.makeTempDir({ prefix: "pvr-crash-hardlink-" });
    try {
      const { src, configDir } = await hardlinkFixture(root);
      const state = JSON.parse(await Deno.readTextFile(`${src}/.pvr/json`)) as Record<
        string,
        unknown
      >;
      const blobs = Object.entries(state).filter(([k, v]) =>
        !k.startsWith("#") && !k.endsWith(".json") && typeof v === "string"
      ) as [string, string][];
      // An uninterrupted run: its duration sets the kill window, its tree the goal.
      const ref = `${root}/ref`;
      await emptyCheckoutRoot(src, ref);
      const full = await runPvr(["checkout", "--hardlink"], { cwd: ref, configDir });
      assert.equal(full.code, 0, full.stderr);
      const want = treeNames(ref);
      assert.equal(want.filter((p) => !p.endsWith("/")).length, 610);
      let killed = 0;
      for (let trial = 0; trial < HARDLINK_TRIALS; trial++) {
        await t.step(
          `hardlink checkout killed at a random moment (seed ${SEED}, trial ${trial})`,
          async () => {
            const place = { cwd: `${root}/t${trial}`, configDir };
            await emptyCheckoutRoot(src, place.cwd);
            const fraction = mulberry32((SEED ^ Math.imul(trial + 1, 0x9e3779b1)) >>> 0)();
            const run = await runPvrKilledAfter(
              ["checkout", "--hardlink"],
              place,
              fraction * WRITE_WINDOW_MS,
              `${place.cwd}/.pvr/journal`,
            );
            if (run.killed) killed++;
            else assert.equal(run.code, 0, run.stderr);
            const journal = await Deno.lstat(`${place.cwd}/.pvr/journal`).catch(() => null);
            const before = treeNames(place.cwd);
            // No journal: nothing may have been written (the journal comes first).
            if (journal === null && run.killed) {
              assert.ok(
                before.length === 0 || before.join() === want.join(),
                `killed without a journal, yet the tree is partial: ${before.length} entries`,
              );
            }
            // The next command finishes the checkout (or there was none to finish).
            const st = await runPvrInProcess(["status", "--json"], place);
            assert.equal(st.code, 0, st.stderr);
            const after = treeNames(place.cwd);
            if (after.length === 0) {
              assert.ok(
                run.killed && journal === null,
                "the tree is empty after a finished checkout",
              );
              return;
            }
            assert.deepEqual(after, want);
            const s = JSON.parse(st.stdout);
            assert.deepEqual([s.added, s.removed, s.changed], [[], [], []], st.stdout);
            for (const [key, sha] of blobs) {
              const file = Deno.lstatSync(`${place.cwd}/${key}`);
              const obj = Deno.statSync(`${configDir}/objects/${sha}`);
              assert.equal(file.ino, obj.ino, `${key} is not a hardlink to its object`);
            }
            assert.equal(await Deno.lstat(`${place.cwd}/.pvr/journal`).catch(() => null), null);
            const tmp = `${place.cwd}/.pvr/tmp`;
            const left = await Deno.lstat(tmp).then(() => [...Deno.readDirSync(tmp)], () => []);
            assert.deepEqual(left, [], "temp files left in .pvr/tmp");
            assert.equal((await runPvrInProcess(["fsck"], place)).code, 0);
          },
        );
      }
      assert.ok(killed > 0, `no hardlink checkout trial was killed (seed ${SEED})`);
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
);
