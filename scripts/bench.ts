// deno-lint-ignore-file no-console
/**
 * `deno task bench`: pvr against the standard tools doing the same work, in the same
 * run, on the workload W1 (10,000 files of 4 KiB in 100 dirs, 200 JSON files, 4 files
 * of 256 MiB of random bytes). Prints each figure as our time over the standard tool's
 * time (or throughput over throughput), with its target and PASS/MISS.
 *
 * Method: one warm-up run of each side, then N timed runs interleaved (the order
 * alternates each round), median reported. Caches cannot be dropped here, so every
 * figure is warm-cache. Figures that write a lot `sync` before each timed run (outside
 * the timing). Processes are timed whole (spawn to exit). Every Deno process timed (pvr
 * and the empty script of figure 6) runs with a Deno cache of the benchmark's own, in
 * D (see `benchDenoDir` in bench/harness.ts).
 *
 * Usage:
 *
 *     deno task bench [--dir D] [--keep] [--only 1,2,...] [--runs N] [--long-runs N]
 *                     [--no-tgz] [--quick] [--out FILE]
 *
 * --dir D        build the workload in D, or reuse the one already there
 * --keep         keep the temp dir (printed) instead of removing it
 * --only LIST    figures to run (1 hashing, 2 status, 3 checkout, 4 export/import,
 *                5 peak RSS, 6 --version, 7 commit, info only)
 * --runs N       timed runs of short figures (default 9; at least 5)
 * --long-runs N  timed runs of long figures (default 3)
 * --no-tgz       skip the gzip rows of figure 4 (about 3 minutes)
 * --quick        a tiny workload, to check that the script works (figures meaningless)
 * --out FILE     also write the results (machine, table, samples) as Markdown to FILE
 *
 * @module
 */

import { sha256File } from "../core/store/hash.ts";
import {
  benchDenoDir,
  compare,
  compareMany,
  type Figure,
  fmtMs,
  fmtSamples,
  median,
  proc,
  progress,
  progressDone,
  run,
  sh,
  table,
} from "./bench/harness.ts";
import { bigFilePaths, buildWorkload, W1, type WorkloadSpec } from "./bench/workload.ts";
import { planFloors } from "./bench/floors.ts";

// -- options -------------------------------------------------------------------------

interface Options {
  dir?: string;
  keep: boolean;
  only: Set<string>;
  runs: number;
  longRuns: number;
  tgz: boolean;
  quick: boolean;
  out?: string;
}

function parseOptions(args: string[]): Options {
  const o: Options = {
    keep: false,
    only: new Set(["1", "2", "3", "4", "5", "6", "7"]),
    runs: 9,
    longRuns: 3,
    tgz: true,
    quick: false,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--dir":
        o.dir = value();
        break;
      case "--keep":
        o.keep = true;
        break;
      case "--only":
        o.only = new Set(value().split(",").map((s) => s.trim()).filter(Boolean));
        break;
      case "--runs":
        o.runs = Math.max(1, Number(value()));
        break;
      case "--long-runs":
        o.longRuns = Math.max(1, Number(value()));
        break;
      case "--no-tgz":
        o.tgz = false;
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--out":
        o.out = value();
        break;
      case "-h":
      case "--help":
        console.log(
          "deno task bench [--dir D] [--keep] [--only 1,2,...] [--runs N] " +
            "[--long-runs N] [--no-tgz] [--quick] [--out FILE]",
        );
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

const opts = parseOptions(Deno.args);
const SPEC: WorkloadSpec = opts.quick
  ? { smallFiles: 500, smallSize: 4096, smallDirs: 10, jsonFiles: 20, bigFiles: 2, bigMiB: 8 }
  : W1;

// -- paths and tools -------------------------------------------------------------------

const REPO_ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const DENO = Deno.execPath();
const ownTemp = opts.dir === undefined;
const R = opts.dir !== undefined
  ? absolute(opts.dir)
  : await Deno.makeTempDir({ prefix: "pvr-bench-" });
const P = {
  tree: `${R}/w1`,
  objects: `${R}/objects`,
  config: `${R}/config`,
  git: `${R}/git`,
  bundle: `${R}/pvr.js`,
  empty: `${R}/empty.ts`,
  scratch: `${R}/scratch`,
  ready: `${R}/ready.json`,
  big: `${R}/big`,
  tar: `${R}/x.tar`,
  tgz: `${R}/x.tgz`,
};
/** Every Deno process timed here runs with the benchmark's own cache (see benchDenoDir). */
const DENO_ENV = { ...Deno.env.toObject(), DENO_DIR: await benchDenoDir(R) };
const PVR_ENV = { ...DENO_ENV, PVR_CONFIG_DIR: P.config, NO_COLOR: "1" };
delete (PVR_ENV as Record<string, string | undefined>).PVR_NO_FFI;
const GIT_ENV = {
  ...Deno.env.toObject(),
  GIT_DIR: P.git,
  GIT_WORK_TREE: P.tree,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.com",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: R,
};

/** pvr as the main module (`deno run -A main.ts`) and as the bundle. */
const PVR_MAIN = [DENO, "run", "-A", `${REPO_ROOT}/main.ts`];
const PVR_BUNDLE = [DENO, "run", "-A", P.bundle];

function absolute(p: string): string {
  return p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
}

function pvr(entry: string[], args: string[], cwd: string): () => Promise<number> {
  return proc([...entry, ...args], { cwd, env: PVR_ENV });
}

async function rmrf(path: string): Promise<void> {
  await Deno.remove(path, { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

// -- setup -----------------------------------------------------------------------------

async function setup(): Promise<void> {
  const want = JSON.stringify(SPEC);
  const ready = await Deno.readTextFile(P.ready).catch(() => "");
  if (ready !== want) {
    progress(`building the workload in ${R} …`);
    for (const p of [P.tree, P.objects, P.config, P.git, P.big, P.tar, P.tgz]) await rmrf(p);
    await buildWorkload(P.tree, SPEC);
    progress("pvr init, add, commit …");
    await run([...PVR_MAIN, "init", "-o", P.objects], { cwd: P.tree, env: PVR_ENV });
    await run([...PVR_MAIN, "add"], { cwd: P.tree, env: PVR_ENV });
    await run([...PVR_MAIN, "commit", "-m", "W1"], { cwd: P.tree, env: PVR_ENV });
    progress("git init, add, commit …");
    await run(["git", "init", "-q"], { env: GIT_ENV });
    // The same tree; .pvr excluded (in info/exclude, so that no .gitignore file appears
    // in the tree for pvr to list as untracked).
    await Deno.writeTextFile(`${P.git}/info/exclude`, "/.pvr/\n");
    await run(["git", "add", "-A"], { env: GIT_ENV });
    await run(["git", "commit", "-q", "-m", "W1"], { env: GIT_ENV });
    await Deno.writeTextFile(P.ready, want);
  }
  await Deno.mkdir(P.scratch, { recursive: true });
  await Deno.writeTextFile(P.empty, "\n");
  progress("bundling main.ts (scripts/bundle.ts, as deno task bundle) …");
  await run([DENO, "run", "-A", "scripts/bundle.ts", P.bundle], { cwd: REPO_ROOT });
  // Both trees clean and their caches warm.
  const st = await run([...PVR_BUNDLE, "status"], { cwd: P.tree, env: PVR_ENV, capture: true });
  if (st.stdout.trim() !== "") throw new Error(`pvr status of W1 is not clean:\n${st.stdout}`);
  const gs = await run(["git", "status", "--porcelain"], { env: GIT_ENV, capture: true });
  if (gs.stdout.trim() !== "") throw new Error(`git status of W1 is not clean:\n${gs.stdout}`);
}

// -- figures ---------------------------------------------------------------------------

const figures: Figure[] = [];
const details: string[] = [];
const MiB = 2 ** 20;

function ratioFigure(
  id: string,
  what: string,
  ours: number,
  theirName: string,
  theirs: number,
  max: number | null,
  samples?: { ours: number[]; theirs: number[] },
): void {
  const ratio = ours / theirs;
  figures.push({
    id,
    what,
    ours: fmtMs(ours),
    theirs: `${theirName} ${fmtMs(theirs)}`,
    ratio: `${ratio.toFixed(2)}×`,
    target: max === null ? "info" : `≤ ${max}×`,
    pass: max === null ? null : ratio <= max,
  });
  if (samples) {
    details.push(
      `${id} ${what}: pvr [${fmtSamples(samples.ours)}] ms; ${theirName} [${
        fmtSamples(samples.theirs)
      }] ms`,
    );
  }
}

/** 1. Hashing throughput: in-process sha256File, and the CLI (fsck), vs openssl. */
async function figureHashing(): Promise<void> {
  const files = bigFilePaths(SPEC).map((p) => `${P.tree}/${p}`);
  const bytes = SPEC.bigFiles * SPEC.bigMiB * MiB;
  const mbps = (ms: number) => bytes / MiB / (ms / 1000);
  const inProcess = async () => {
    const t0 = performance.now();
    for (const f of files) await sha256File(f);
    return performance.now() - t0;
  };
  const s = await compareMany([
    { timed: inProcess },
    { timed: proc(["openssl", "dgst", "-sha256", ...files]) },
    { timed: proc(["sha256sum", ...files]) },
  ], { runs: opts.runs, label: "1 hashing" });
  const [ours, ossl, sum] = s.map(median);
  const tp = (ms: number) => `${mbps(ms).toFixed(0)} MB/s`;
  figures.push({
    id: "1a",
    what: `sha256 of ${SPEC.bigFiles}×${SPEC.bigMiB} MiB, in-process sha256File`,
    ours: tp(ours),
    theirs: `openssl dgst ${tp(ossl)}`,
    ratio: `${(ossl / ours).toFixed(2)}×`,
    target: "≥ 0.9×",
    pass: ossl / ours >= 0.9,
  });
  figures.push({
    id: "1b",
    what: "same, sha256sum for context",
    ours: tp(ours),
    theirs: `sha256sum ${tp(sum)}`,
    ratio: `${(sum / ours).toFixed(2)}×`,
    target: "info",
    pass: null,
  });
  details.push(
    `1a/1b hashing ${SPEC.bigFiles}×${SPEC.bigMiB} MiB: sha256File [${
      fmtSamples(s[0])
    }] ms; openssl [${fmtSamples(s[1])}] ms; sha256sum [${fmtSamples(s[2])}] ms`,
  );

  // End to end: `pvr fsck` of a repo whose state holds only the large files (it re-hashes
  // every object), against openssl on the same object files.
  if (!(await exists(`${P.big}/.pvr/json`))) {
    await rmrf(P.big);
    await Deno.mkdir(`${P.big}/bsp`, { recursive: true });
    // Copies (hardlinks would change the ctime of W1's files, and so its stat cache).
    for (const p of bigFilePaths(SPEC)) await Deno.copyFile(`${P.tree}/${p}`, `${P.big}/${p}`);
    await run([...PVR_MAIN, "init", "-o", P.objects], { cwd: P.big, env: PVR_ENV });
    await run([...PVR_MAIN, "add"], { cwd: P.big, env: PVR_ENV });
    await run([...PVR_MAIN, "commit"], { cwd: P.big, env: PVR_ENV });
    // fsck needs only .pvr and the objects.
    await rmrf(`${P.big}/bsp`);
  }
  const state = JSON.parse(await Deno.readTextFile(`${P.big}/.pvr/json`));
  const objectFiles = Object.entries(state)
    .filter(([k]) => k !== "#spec")
    .map(([, sha]) => `${P.objects}/${sha}`);
  const f = await compare(
    { timed: pvr(PVR_BUNDLE, ["fsck"], P.big) },
    { timed: proc(["openssl", "dgst", "-sha256", ...objectFiles]) },
    { runs: opts.runs, label: "1 fsck" },
  );
  const fo = median(f.ours), ft = median(f.theirs);
  figures.push({
    id: "1c",
    what: `CLI: pvr fsck (bundle) re-hashing the ${SPEC.bigFiles} large objects`,
    ours: tp(fo),
    theirs: `openssl dgst ${tp(ft)}`,
    ratio: `${(ft / fo).toFixed(2)}×`,
    target: "≥ 0.9×",
    pass: ft / fo >= 0.9,
  });
  details.push(
    `1c pvr fsck [${fmtSamples(f.ours)}] ms; openssl [${fmtSamples(f.theirs)}] ms ` +
      `(includes process start-up)`,
  );
}

/**
 * `main.ts` with statically analysable dynamic imports loaded when executed, not at
 * start-up: the closest measurable form to the compiled binary, which loads modules from
 * its embedded graph on first use and resolves no npm packages at start-up.
 */
const PVR_LAZY = [DENO, "run", "-A", "--unstable-lazy-dynamic-imports", `${REPO_ROOT}/main.ts`];

/** The floor programs of figures 2 and 3b (scripts/bench/floors.ts), planned once. */
const FLOORS = `${REPO_ROOT}/scripts/bench/floors.ts`;
let floorPlans: Promise<{ statList: string; placePlan: string }> | undefined;
function floors(): Promise<{ statList: string; placePlan: string }> {
  return floorPlans ??= planFloors(P.tree, P.objects, R);
}

/** 2. Unchanged `pvr status` vs `git status`, whole processes. */
async function figureStatus(): Promise<void> {
  // Every timed run must be answered from the status snapshot (no file read but the
  // stat cache): check that the warm-up left one.
  await run([...PVR_MAIN, "status"], { cwd: P.tree, env: PVR_ENV });
  const head = new Uint8Array(8);
  {
    using f = await Deno.open(`${P.tree}/.pvr/stat-cache`);
    await f.read(head);
  }
  if (new TextDecoder().decode(head) !== "PVRSNAP1") {
    progress("warning: no status snapshot in W1's stat cache; status runs compute in full");
  }
  const s = await compareMany([
    { timed: pvr(PVR_BUNDLE, ["status"], P.tree) },
    { timed: pvr(PVR_MAIN, ["status"], P.tree) },
    { timed: pvr(PVR_LAZY, ["status"], P.tree) },
    { timed: proc(["git", "status"], { env: GIT_ENV }) },
    { timed: proc([DENO, "run", "-A", P.empty], { env: DENO_ENV }) },
    {
      timed: proc([DENO, "run", "-A", FLOORS, "stat", (await floors()).statList, P.tree], {
        env: DENO_ENV,
      }),
    },
  ], { runs: Math.max(opts.runs, 11), label: "2 status" });
  const [bundle, main, lazy, git, empty, floor] = s.map(median);
  ratioFigure("2a", "unchanged status of W1, bundle (dist/pvr.js)", bundle, "git status", git, 2);
  ratioFigure("2b", "unchanged status of W1, main.ts", main, "git status", git, 2);
  ratioFigure(
    "2c",
    "unchanged status of W1, main.ts, lazy dynamic imports (compiled-binary proxy)",
    lazy,
    "git status",
    git,
    2,
  );
  ratioFigure(
    "2f",
    "floor: a Deno script that only statx's every path an unchanged status looks at",
    floor,
    "git status",
    git,
    null,
  );
  details.push(
    `2 status: bundle [${fmtSamples(s[0])}] ms; main.ts [${fmtSamples(s[1])}] ms; ` +
      `main.ts lazy [${fmtSamples(s[2])}] ms; git [${fmtSamples(s[3])}] ms; ` +
      `\`deno run\` of an empty script [${fmtSamples(s[4])}] ms (median ${fmtMs(empty)}); ` +
      `floor (scripts/bench/floors.ts stat) [${fmtSamples(s[5])}] ms`,
  );
}

/**
 * A fresh empty checkout target holding a copy of W1's `.pvr` (same objects dir), its
 * stat cache left out. `trusted` (the state right after `pvr commit` or `pvr import`,
 * which record every object they wrote and hashed as verified; also after an fsck or
 * an earlier checkout): the clone's stat cache vouches for every object, set up here
 * with an untimed `pvr fsck` (W1 may have been committed by an older pvr that recorded
 * nothing). Untrusted: no object was ever verified by this repo, so checkout hashes
 * each one.
 */
async function freshClone(dir: string, trusted: boolean): Promise<void> {
  await rmrf(dir);
  await Deno.mkdir(dir, { recursive: true });
  await sh(`cp -a ${q(P.tree)}/.pvr ${q(dir)}/.pvr`);
  await rmrf(`${dir}/.pvr/stat-cache`);
  if (trusted) await run([...PVR_BUNDLE, "fsck"], { cwd: dir, env: PVR_ENV });
}

function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** 3. Checkout into an empty tree vs `cp -a`, hardlink checkout vs `cp -al`. */
async function figureCheckout(): Promise<void> {
  const co = `${P.scratch}/co`;
  const cp = `${P.scratch}/cp`;
  // 3a/3b: as after commit or import (the objects they wrote are recorded as verified);
  // 3c/3d: objects this repo never verified (each is hashed on the way).
  const variants = [
    ["3a", [], "-a", 1.2, true],
    ["3b", ["--hardlink"], "-al", 1.5, true],
    ["3c", [], "-a", null, false],
    ["3d", ["--hardlink"], "-al", null, false],
  ] as const;
  for (const [id, flag, cpFlag, max, trusted] of variants) {
    const s = await compare(
      {
        setup: () => freshClone(co, trusted),
        timed: pvr(PVR_BUNDLE, ["checkout", ...flag], co),
        cleanup: () => rmrf(co),
      },
      {
        setup: () => rmrf(cp),
        timed: proc(["cp", cpFlag, P.tree, cp]),
        cleanup: () => rmrf(cp),
      },
      { runs: Math.max(opts.longRuns, 5), sync: true, label: `${id} checkout ${flag.join(" ")}` },
    );
    const how = trusted
      ? "as after commit/import: objects already verified"
      : "objects never verified by this repo: each is hashed";
    ratioFigure(
      id,
      `checkout${flag.length ? " " + flag.join(" ") : ""} of W1 into an empty tree (${how})`,
      median(s.ours),
      `cp ${cpFlag}`,
      median(s.theirs),
      max,
      s,
    );
  }
  // Like for like: the hardlink checkout ends with one syncfs (the tree is durable when
  // it exits 0); `cp -al` leaves its links in the page cache.
  const d = await compare(
    {
      setup: () => freshClone(co, true),
      timed: pvr(PVR_BUNDLE, ["checkout", "--hardlink"], co),
      cleanup: () => rmrf(co),
    },
    {
      setup: () => rmrf(cp),
      timed: proc(["bash", "-c", `cp -al ${q(P.tree)} ${q(cp)} && sync -f ${q(cp)}`]),
      cleanup: () => rmrf(cp),
    },
    { runs: Math.max(opts.longRuns, 5), sync: true, label: "3e checkout --hardlink, durable" },
  );
  ratioFigure(
    "3e",
    "checkout --hardlink as 3b, against cp -al followed by a syncfs (`sync -f`)",
    median(d.ours),
    "cp -al && sync -f",
    median(d.theirs),
    null,
    d,
  );
  // The floor of 3b: what no hardlink checkout can skip (make the directories, link
  // every blob, create the inline JSON files), done by a bare Deno script.
  const { placePlan } = await floors();
  const f = await compare(
    {
      setup: () => rmrf(co),
      timed: proc([DENO, "run", "-A", FLOORS, "place", placePlan, co], { env: DENO_ENV }),
      cleanup: () => rmrf(co),
    },
    {
      setup: () => rmrf(cp),
      timed: proc(["cp", "-al", P.tree, cp]),
      cleanup: () => rmrf(cp),
    },
    { runs: Math.max(opts.longRuns, 5), sync: true, label: "3f hardlink floor" },
  );
  ratioFigure(
    "3f",
    "floor: a Deno script that only makes the directories, links the blobs and writes the " +
      "inline JSON files of W1",
    median(f.ours),
    "cp -al",
    median(f.theirs),
    null,
    f,
  );
}

/** 4. Export vs `tar -cf`, import vs `tar -xf`; gzip variants for information. */
async function figureArchive(): Promise<void> {
  const out = `${P.scratch}/out.tar`;
  const tout = `${P.scratch}/tout.tar`;
  const rmOut = async () => {
    await rmrf(out);
    await rmrf(tout);
  };
  const tarCreate = ["tar", "-cf", tout, "-C", P.tree, "--exclude=./.pvr", "."];
  // As after commit or import, the repository has verified its objects (W1 may have been
  // committed by an older pvr that recorded nothing: an untimed fsck records them).
  await run([...PVR_BUNDLE, "fsck"], { cwd: P.tree, env: PVR_ENV });
  // The same state in a repository that never verified the objects: each is hashed.
  const fresh = `${P.scratch}/export-untrusted`;
  await freshClone(fresh, false);
  const e = await compareMany([
    { setup: rmOut, timed: pvr(PVR_BUNDLE, ["export", out], P.tree), cleanup: rmOut },
    { setup: rmOut, timed: proc(tarCreate), cleanup: rmOut },
    { setup: rmOut, timed: pvr(PVR_BUNDLE, ["export", "--fsync", out], P.tree), cleanup: rmOut },
    {
      setup: rmOut,
      timed: proc(["bash", "-c", `${tarCreate.map(q).join(" ")} && sync ${q(tout)}`]),
      cleanup: rmOut,
    },
    { setup: rmOut, timed: pvr(PVR_BUNDLE, ["export", out], fresh), cleanup: rmOut },
  ], { runs: opts.longRuns, sync: true, label: "4 export" });
  await rmrf(fresh);
  ratioFigure(
    "4a",
    "export W1 to .tar (bundle; objects verified before, as after commit/import)",
    median(e[0]),
    "tar -cf",
    median(e[1]),
    1.2,
  );
  ratioFigure(
    "4a'",
    "export --fsync (the archive made durable), against tar -cf followed by its fsync",
    median(e[2]),
    "tar -cf && sync",
    median(e[3]),
    null,
  );
  ratioFigure(
    "4e",
    "export as 4a from a repository that never verified the objects (each is hashed)",
    median(e[4]),
    "tar -cf",
    median(e[1]),
    null,
  );
  details.push(
    `4a export [${fmtSamples(e[0])}] ms; tar -cf [${fmtSamples(e[1])}] ms; export --fsync [${
      fmtSamples(e[2])
    }] ms; tar -cf && sync FILE [${fmtSamples(e[3])}] ms; export, unverified objects [${
      fmtSamples(e[4])
    }] ms`,
  );

  if (!(await exists(P.tar))) {
    await run([...PVR_BUNDLE, "export", P.tar], { cwd: P.tree, env: PVR_ENV });
  }
  const imp = `${P.scratch}/imp`;
  const untar = `${P.scratch}/untar`;
  const freshImport = async () => {
    await rmrf(imp);
    await Deno.mkdir(imp, { recursive: true });
    await run([...PVR_BUNDLE, "init", "-o", `${imp}-objects`], { cwd: imp, env: PVR_ENV });
  };
  const cleanImport = async () => {
    await rmrf(imp);
    await rmrf(`${imp}-objects`);
  };
  const freshUntar = async () => {
    await rmrf(untar);
    await Deno.mkdir(untar, { recursive: true });
  };
  const im = await compareMany([
    { setup: freshImport, timed: pvr(PVR_BUNDLE, ["import", P.tar], imp), cleanup: cleanImport },
    {
      setup: freshUntar,
      timed: proc(["tar", "-xf", P.tar, "-C", untar]),
      cleanup: () => rmrf(untar),
    },
    {
      // Like for like: import makes every object durable before the state names it.
      setup: freshUntar,
      timed: proc(["bash", "-c", `tar -xf ${q(P.tar)} -C ${q(untar)} && sync -f ${q(untar)}`]),
      cleanup: () => rmrf(untar),
    },
  ], { runs: opts.longRuns, sync: true, label: "4 import" });
  ratioFigure(
    "4b",
    "import W1's .tar into a new repo and store (bundle)",
    median(im[0]),
    "tar -xf",
    median(im[1]),
    1.2,
  );
  ratioFigure(
    "4b'",
    "same, against tar -xf followed by a syncfs (`sync -f`)",
    median(im[0]),
    "tar -xf && sync -f",
    median(im[2]),
    null,
  );
  details.push(
    `4b import [${fmtSamples(im[0])}] ms; tar -xf [${fmtSamples(im[1])}] ms; ` +
      `tar -xf && sync -f [${fmtSamples(im[2])}] ms`,
  );

  if (!opts.tgz) return;
  const outz = `${P.scratch}/out.tgz`;
  const toutz = `${P.scratch}/tout.tgz`;
  const rmOutz = async () => {
    await rmrf(outz);
    await rmrf(toutz);
  };
  const ez = await compare(
    { setup: rmOutz, timed: pvr(PVR_BUNDLE, ["export", outz], P.tree), cleanup: rmOutz },
    {
      setup: rmOutz,
      timed: proc(["tar", "-czf", toutz, "-C", P.tree, "--exclude=./.pvr", "."]),
      cleanup: rmOutz,
    },
    { runs: opts.longRuns, sync: true, label: "4 export .tgz" },
  );
  ratioFigure(
    "4c",
    "export W1 to .tgz (bundle)",
    median(ez.ours),
    "tar -czf",
    median(ez.theirs),
    null,
    ez,
  );
  if (!(await exists(P.tgz))) {
    await run([...PVR_BUNDLE, "export", P.tgz], { cwd: P.tree, env: PVR_ENV });
  }
  const iz = await compare(
    { setup: freshImport, timed: pvr(PVR_BUNDLE, ["import", P.tgz], imp), cleanup: cleanImport },
    {
      setup: freshUntar,
      timed: proc(["tar", "-xzf", P.tgz, "-C", untar]),
      cleanup: () => rmrf(untar),
    },
    { runs: opts.longRuns, sync: true, label: "4 import .tgz" },
  );
  ratioFigure(
    "4d",
    "import W1's .tgz (bundle)",
    median(iz.ours),
    "tar -xzf",
    median(iz.theirs),
    null,
    iz,
  );
}

/** Peak RSS (KiB) and wall time of a process, with `/usr/bin/time`. */
async function peak(cmd: string[], cwd: string): Promise<{ kib: number; ms: number }> {
  const out = `${P.scratch}/time.out`;
  const r = await run(["/usr/bin/time", "-o", out, "-f", "%M", ...cmd], { cwd, env: PVR_ENV });
  const kib = Number((await Deno.readTextFile(out)).trim().split("\n").pop());
  return { kib, ms: r.ms };
}

/** 5. Peak RSS while committing a 4 GiB (sparse) file. */
async function figureRss(): Promise<void> {
  const dir = `${P.scratch}/rss`;
  const objs = `${P.scratch}/rss-objects`;
  const size = opts.quick ? "64M" : "4G";
  const fresh = async () => {
    await rmrf(dir);
    await rmrf(objs);
    await Deno.mkdir(dir, { recursive: true });
    await run(["truncate", "-s", size, `${dir}/huge.img`]);
    await run([...PVR_BUNDLE, "init", "-o", objs], { cwd: dir, env: PVR_ENV });
    await run([...PVR_BUNDLE, "add"], { cwd: dir, env: PVR_ENV });
  };
  const results: { kib: number; ms: number }[] = [];
  const sums: { kib: number; ms: number }[] = [];
  for (let i = 0; i < 2; i++) {
    progress(`5 peak RSS: run ${i + 1}/2`);
    await fresh();
    await sh("sync");
    results.push(await peak([...PVR_BUNDLE, "commit"], dir));
    sums.push(await peak(["sha256sum", `${dir}/huge.img`], dir));
  }
  const empty = await peak([DENO, "run", "-A", P.empty], R);
  await rmrf(dir);
  await rmrf(objs);
  const mb = (kib: number) => kib * 1024 / 1e6;
  const ours = Math.max(...results.map((r) => r.kib));
  figures.push({
    id: "5",
    what: `peak RSS of pvr commit of a ${size}iB sparse file (bundle)`,
    ours: `${mb(ours).toFixed(0)} MB`,
    theirs: `sha256sum ${mb(Math.max(...sums.map((r) => r.kib))).toFixed(1)} MB`,
    ratio: `${(mb(ours) / 200).toFixed(2)}× of target`,
    target: "≤ 200 MB",
    pass: mb(ours) <= 200,
  });
  details.push(
    `5 peak RSS (MB): pvr commit [${results.map((r) => mb(r.kib).toFixed(1)).join(", ")}] in [${
      fmtSamples(results.map((r) => r.ms))
    }] ms; sha256sum [${sums.map((r) => mb(r.kib).toFixed(1)).join(", ")}] in [${
      fmtSamples(sums.map((r) => r.ms))
    }] ms; \`deno run\` of an empty script ${mb(empty.kib).toFixed(1)} MB`,
  );
}

/** 6. `pvr --version` vs `deno run` of an empty script. */
async function figureVersion(): Promise<void> {
  const s = await compareMany([
    { timed: proc([...PVR_BUNDLE, "--version"]) },
    { timed: proc([...PVR_MAIN, "--version"]) },
    { timed: proc([...PVR_LAZY, "--version"]) },
    { timed: proc([DENO, "run", "-A", P.empty], { env: DENO_ENV }) },
  ], { runs: Math.max(opts.runs, 11), label: "6 --version" });
  const [bundle, main, lazy, empty] = s.map(median);
  ratioFigure("6a", "pvr --version, bundle", bundle, "deno run empty.ts", empty, 1.5);
  ratioFigure("6b", "pvr --version, main.ts", main, "deno run empty.ts", empty, 1.5);
  ratioFigure(
    "6c",
    "pvr --version, main.ts, lazy dynamic imports (compiled-binary proxy)",
    lazy,
    "deno run empty.ts",
    empty,
    1.5,
  );
  details.push(
    `6 --version: bundle [${fmtSamples(s[0])}] ms; main.ts [${fmtSamples(s[1])}] ms; ` +
      `main.ts lazy [${fmtSamples(s[2])}] ms; empty [${fmtSamples(s[3])}] ms`,
  );
}

/** 7 (information). add + commit of W1 into an empty store vs git add -A + commit. */
async function figureCommit(): Promise<void> {
  const dir = `${P.scratch}/commit`;
  const objs = `${P.scratch}/commit-objects`;
  const gdir = `${P.scratch}/commit-git`;
  const genv = { ...GIT_ENV, GIT_DIR: gdir };
  const s = await compare(
    {
      setup: async () => {
        await rmrf(objs);
        await rmrf(dir);
        // A copy of the tree (not hardlinks: they would change the ctime of W1's files
        // and so invalidate W1's stat cache and git index), without .pvr.
        await sh(`cp -a ${q(P.tree)} ${q(dir)} && rm -rf ${q(dir)}/.pvr`);
        await run([...PVR_BUNDLE, "init", "-o", objs], { cwd: dir, env: PVR_ENV });
      },
      timed: async () =>
        (await run([...PVR_BUNDLE, "add"], { cwd: dir, env: PVR_ENV })).ms +
        (await run([...PVR_BUNDLE, "commit"], { cwd: dir, env: PVR_ENV })).ms,
      cleanup: async () => {
        await rmrf(dir);
        await rmrf(objs);
      },
    },
    {
      setup: async () => {
        await rmrf(gdir);
        await run(["git", "init", "-q"], { env: genv });
        await Deno.writeTextFile(`${gdir}/info/exclude`, "/.pvr/\n");
      },
      timed: async () =>
        (await run(["git", "add", "-A"], { env: genv })).ms +
        (await run(["git", "commit", "-q", "-m", "W1"], { env: genv })).ms,
      cleanup: () => rmrf(gdir),
    },
    { runs: opts.longRuns, sync: true, label: "7 commit" },
  );
  ratioFigure(
    "7",
    "add + commit of W1 into an empty store (bundle)",
    median(s.ours),
    "git add -A && git commit",
    median(s.theirs),
    null,
    s,
  );
}

// -- main ------------------------------------------------------------------------------

const loadAtStart = await loadAverage();

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3)
    .join(" ");
}

async function machine(): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  const fs = (await run(["df", "-T", R], { capture: true })).stdout.trim().split("\n").pop()
    ?.split(/\s+/)[1] ?? "unknown";
  const ver = (await run([DENO, "--version"], { capture: true })).stdout.split("\n")[0];
  const mem = (await Deno.readTextFile("/proc/meminfo").catch(() => ""))
    .match(/^MemTotal:\s*(\d+)/m)?.[1];
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${navigator.hardwareConcurrency} CPUs (nproc), ${cpu}, ${
      mem ? (Number(mem) / 2 ** 20).toFixed(0) : "?"
    } GiB RAM; ${ver}; temp dir ${R} on ${fs}`,
    `workload: ${SPEC.smallFiles} files of ${SPEC.smallSize} B in ${SPEC.smallDirs} dirs, ${SPEC.jsonFiles} JSON files, ${SPEC.bigFiles} files of ${SPEC.bigMiB} MiB (random)`,
    `method: warm cache (caches cannot be dropped); one warm-up run per side; median of ${opts.runs}+ (short) / ${opts.longRuns} (long) interleaved runs; whole-process wall time`,
    `load average (1, 5, 15 min): ${loadAtStart} at the start, ${await loadAverage()} at the end`,
  ].join("\n");
}

try {
  await setup();
  const steps: [string, () => Promise<void>][] = [
    ["1", figureHashing],
    ["2", figureStatus],
    ["6", figureVersion],
    ["3", figureCheckout],
    ["4", figureArchive],
    ["5", figureRss],
    ["7", figureCommit],
  ];
  for (const [id, fn] of steps) if (opts.only.has(id)) await fn();
  progressDone();
  const order = (id: string) => parseFloat(id) + (id.charCodeAt(1) || 0) / 1000;
  figures.sort((a, b) => order(a.id) - order(b.id));
  const report = [
    await machine(),
    "",
    table(figures),
    "",
    "samples (ms):",
    ...details.map((d) => `- ${d}`),
  ].join("\n");
  console.log(report);
  if (opts.out) await Deno.writeTextFile(opts.out, report + "\n");
} finally {
  if (ownTemp && !opts.keep) await rmrf(R);
  else console.error(`workload kept in ${R} (reuse with --dir)`);
}
