/**
 * `pvr app add` benchmark: an image of about 200 MiB (3 gzip layers: many small files,
 * mid-sized libraries, a few big files; a mix of compressible and random data) pushed to
 * a local `docker-registry` on 127.0.0.1, against the same work done with the standard
 * tools — `skopeo copy` to an OCI dir + `umoci unpack --rootless` + `mksquashfs` — in the
 * same run, with the same compression (`-comp xz`, pvr's default; `-comp gzip` for
 * information).
 *
 * Each timed pvr run gets a fresh repository and a fresh config dir (a cold layer cache).
 * Then a second `app add` of the same image into a new repository with the same config
 * dir (a warm layer cache), and a third into that same repository ("already up to
 * date"). Rounds alternate which side goes first; one untimed warm-up round comes first
 * (warm page cache and Deno module cache). Prints figures and ratios; asserts nothing.
 *
 * ```sh
 * deno run -A scripts/bench_app.ts [--size-mib 200] [--runs 3] [--gzip-runs 1] [--rootfs-runs 3] [--keep]
 * ```
 *
 * rootfs apps (`--rootfs-runs`, 0 to skip): the unpacked image as a directory and as a
 * `.tar.gz`, `pvr app add -t rootfs` against `mksquashfs <dir> -all-root` (and `tar -xzf`
 * + `mksquashfs` for the tarball), interleaved, same compression.
 *
 * Needs `docker-registry`, `skopeo`, `umoci` and `squashfs-tools`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  callerDenoDir,
  type Figure,
  fmtMs,
  fmtSamples,
  median,
  run,
  settle,
  table,
} from "./bench/harness.ts";
import { startRegistry, type TestRegistry, which } from "../tests/support/registry.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "size-mib": { type: "string", default: "200" },
    runs: { type: "string", default: "3" },
    "gzip-runs": { type: "string", default: "1" },
    "rootfs-runs": { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
  },
});

const MiB = 1024 * 1024;
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const enc = new TextEncoder();
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";

function say(line: string): void {
  Deno.stdout.writeSync(enc.encode(line + "\n"));
}

function note(line: string): void {
  Deno.stderr.writeSync(enc.encode(`[bench_app] ${line}\n`));
}

// ---------------------------------------------------------------- the image

/** Deterministic PRNG (xorshift32). */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>>= 0;
  };
}

const WORDS = (
  "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt " +
  "ut labore et dolore magna aliqua config service daemon socket buffer kernel module " +
  "return static const struct unsigned int char void include define error warning"
).split(" ");

/** `n` bytes of text-like data (words, numbers, newlines): compresses about 3–4×. */
function textBytes(n: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const r = rnd();
    const w = (r & 7) === 0 ? String(r >>> 8) : WORDS[r % WORDS.length];
    for (let k = 0; k < w.length && i < n; k++) out[i++] = w.charCodeAt(k);
    if (i < n) out[i++] = (r & 0x1f00) === 0 ? 10 : 32;
  }
  return out;
}

/** `n` bytes, binary-like: random bytes from a 16-symbol alphabet with runs (about 2×). */
function binBytes(n: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const r = rnd();
    if ((r & 3) === 0) {
      const run = 4 + ((r >>> 2) & 63);
      const b = (r >>> 8) & 0xff;
      for (let k = 0; k < run && i < n; k++) out[i++] = b;
    } else {
      for (let k = 0; k < 4 && i < n; k++) out[i++] = 0x40 + ((r >>> (8 + k * 4)) & 15);
    }
  }
  return out;
}

/** `n` incompressible bytes. */
function randomBytes(n: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n);
  const u32 = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < u32.length; i++) u32[i] = rnd();
  return out;
}

interface LayerInfo {
  digest: string;
  diffId: string;
  size: number;
  uncompressed: number;
  files: number;
}

async function sha256sum(path: string): Promise<string> {
  const r = await run(["sha256sum", path], { capture: true });
  return r.stdout.split(" ")[0];
}

async function writeFile(path: string, data: Uint8Array): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  await Deno.writeFile(path, data);
}

/** Tars `dir` reproducibly into a gzip layer blob of `layout`. */
async function packLayer(dir: string, layout: string, files: number): Promise<LayerInfo> {
  const tar = `${dir}.tar`;
  await run([
    "tar",
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@1700000000",
    "-C",
    dir,
    "-cf",
    tar,
    ".",
  ]);
  const diffId = await sha256sum(tar);
  const uncompressed = (await Deno.stat(tar)).size;
  await run(["gzip", "-6", "-n", tar]);
  const digest = await sha256sum(`${tar}.gz`);
  const size = (await Deno.stat(`${tar}.gz`)).size;
  await Deno.rename(`${tar}.gz`, `${layout}/blobs/sha256/${digest}`);
  await Deno.remove(dir, { recursive: true });
  return { digest, diffId, size, uncompressed, files };
}

/**
 * Writes an OCI layout (one linux/amd64 manifest under an index, tag `1`) of about
 * `sizeMiB` MiB unpacked: layer 0 an OS-like tree of many small files, layer 1
 * libraries of 0.25–2 MiB, layer 2 an application with a few big files, an overwritten
 * file and a whiteout.
 */
async function buildImage(work: string, sizeMiB: number): Promise<LayerInfo[]> {
  const layout = `${work}/layout`;
  await Deno.mkdir(`${layout}/blobs/sha256`, { recursive: true });
  const rnd = prng(0x5eed);
  const layers: LayerInfo[] = [];
  const scale = sizeMiB / 200;

  // Layer 0: ~15% in ~6,000 small files (0.5–9 KiB), mostly text, some binary.
  {
    const dir = `${work}/l0`;
    const budget = 0.15 * sizeMiB * MiB;
    let used = 0;
    let n = 0;
    while (used < budget) {
      const size = 512 + (rnd() % (8.5 * 1024));
      const d = `usr/share/pkg${n % 120}/sub${n % 7}`;
      const data = n % 5 === 0 ? binBytes(size, rnd) : textBytes(size, rnd);
      await writeFile(`${dir}/${d}/f${n}.${n % 5 === 0 ? "bin" : "txt"}`, data);
      used += size;
      n++;
    }
    await writeFile(`${dir}/etc/os-release`, enc.encode("ID=bench\nVERSION_ID=1\n"));
    await writeFile(`${dir}/etc/obsolete.conf`, enc.encode("to be removed\n"));
    await Deno.symlink("share/pkg0", `${dir}/usr/pkg0-link`);
    layers.push(await packLayer(dir, layout, n + 2));
  }
  // Layer 1: ~35% in libraries of 0.25–2 MiB: binary-like, a quarter of them random.
  {
    const dir = `${work}/l1`;
    const budget = 0.35 * sizeMiB * MiB;
    let used = 0;
    let n = 0;
    while (used < budget) {
      const size = Math.round((0.25 + (rnd() % 1000) / 571) * MiB);
      const data = n % 4 === 3 ? randomBytes(size, rnd) : binBytes(size, rnd);
      await writeFile(`${dir}/usr/lib/x86_64-linux-gnu/lib${n}.so.1`, data);
      used += size;
      n++;
    }
    layers.push(await packLayer(dir, layout, n));
  }
  // Layer 2: ~50% in an application: 2 big text-like files, 1 big binary-like, 1 random.
  {
    const dir = `${work}/l2`;
    const big = (f: number) => Math.round(f * 200 * scale * MiB);
    await writeFile(`${dir}/opt/app/data/corpus.txt`, textBytes(big(0.15), rnd));
    await writeFile(`${dir}/opt/app/data/index.db`, textBytes(big(0.1), rnd));
    await writeFile(`${dir}/opt/app/bin/app`, binBytes(big(0.15), rnd));
    await writeFile(`${dir}/opt/app/assets/blob.pak`, randomBytes(big(0.1), rnd));
    await writeFile(`${dir}/etc/os-release`, enc.encode("ID=bench\nVERSION_ID=2\n"));
    await writeFile(`${dir}/etc/.wh.obsolete.conf`, new Uint8Array());
    layers.push(await packLayer(dir, layout, 6));
  }

  const blob = async (doc: unknown) => {
    const bytes = enc.encode(JSON.stringify(doc));
    const path = `${layout}/blobs/sha256/tmp`;
    await Deno.writeFile(path, bytes);
    const digest = await sha256sum(path);
    await Deno.rename(path, `${layout}/blobs/sha256/${digest}`);
    return { digest: `sha256:${digest}`, size: bytes.length };
  };
  const platform = { os: "linux", architecture: "amd64" };
  const config = await blob({
    ...platform,
    config: { Cmd: ["/opt/app/bin/app"], Env: ["PATH=/usr/bin:/bin"], WorkingDir: "/opt/app" },
    rootfs: { type: "layers", diff_ids: layers.map((l) => `sha256:${l.diffId}`) },
  });
  const manifest = await blob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: `sha256:${l.digest}`,
      size: l.size,
    })),
  });
  const index = await blob({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...manifest,
      platform,
    }],
  });
  await Deno.writeTextFile(`${layout}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await Deno.writeTextFile(
    `${layout}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.index.v1+json",
        ...index,
        annotations: { "org.opencontainers.image.ref.name": "1" },
      }],
    }),
  );
  return layers;
}

// ---------------------------------------------------------------- the two sides

let seq = 0;

async function fresh(root: string, prefix: string): Promise<string> {
  const d = `${root}/${prefix}-${++seq}`;
  await Deno.mkdir(d, { recursive: true });
  return d;
}

function pvrEnv(repo: string, config: string, comp: string): Record<string, string> {
  return {
    PATH,
    HOME: repo,
    // Deno's cache of this process: pvr must not start with an empty one.
    DENO_DIR: callerDenoDir(),
    NO_COLOR: "1",
    PVR_CONFIG_DIR: config,
    PVR_FORMAT_OPTIONS: comp,
  };
}

/** Runs `pvr <args>` in `repo` (see {@link pvrEnv}). */
function pvr(repo: string, config: string, comp: string, args: string[]) {
  return run([Deno.execPath(), "run", "-A", "--quiet", `${ROOT}/main.ts`, ...args], {
    cwd: repo,
    env: pvrEnv(repo, config, comp),
  });
}

/** `pvr init` (untimed), then the timed `pvr app add`. */
async function pvrInit(repo: string, config: string, comp: string): Promise<void> {
  await pvr(repo, config, comp, ["init"]);
}

async function pvrAppAdd(
  repo: string,
  config: string,
  from: string,
  comp: string,
): Promise<{ ms: number; stderr: string }> {
  const r = await pvr(repo, config, comp, [
    "app",
    "add",
    "app",
    "--from",
    from,
    "--platform",
    "linux/amd64",
  ]);
  return { ms: r.ms, stderr: r.stderr };
}

/** skopeo copy + umoci unpack + mksquashfs, timed as one. */
async function standard(
  work: string,
  from: string,
  comp: string,
): Promise<{ ms: number; parts: number[]; out: string }> {
  const oci = `${work}/oci`;
  const bundle = `${work}/bundle`;
  const out = `${work}/out.sqfs`;
  const t = [
    await run([
      "skopeo",
      "--insecure-policy",
      "copy",
      "--quiet",
      "--src-tls-verify=false",
      "--override-os",
      "linux",
      "--override-arch",
      "amd64",
      `docker://${from}`,
      `oci:${oci}:1`,
    ]),
    await run(["umoci", "unpack", "--rootless", "--image", `${oci}:1`, bundle]),
    await run([
      "mksquashfs",
      `${bundle}/rootfs`,
      out,
      ...comp.split(" "),
      "-noappend",
      "-no-progress",
      "-quiet",
    ]),
  ].map((r) => r.ms);
  return { ms: t[0] + t[1] + t[2], parts: t, out };
}

// ---------------------------------------------------------------- rootfs apps

/** `pvr app add -t rootfs` into a fresh repo and config dir; `ms` of the add alone. */
async function pvrRootfs(root: string, from: string, comp: string): Promise<number> {
  const config = await fresh(root, "rconfig");
  const repo = await fresh(root, "rrepo");
  await pvrInit(repo, config, comp);
  await settle();
  const r = await pvr(repo, config, comp, ["app", "add", "app", "-t", "rootfs", "--from", from]);
  for (const d of [config, repo]) await Deno.remove(d, { recursive: true });
  return r.ms;
}

/** The standard tools: (`tar -xzf` of a tarball, then) `mksquashfs <dir> -all-root`. */
async function stdRootfs(root: string, from: string, comp: string): Promise<number> {
  const work = await fresh(root, "rstd");
  let ms = 0;
  let dir = from;
  if (!from.endsWith("/")) {
    dir = `${work}/x`;
    await Deno.mkdir(dir);
    await settle();
    ms += (await run(["tar", "-xzf", from, "-C", dir])).ms;
  } else {
    await settle();
  }
  ms += (await run([
    "mksquashfs",
    dir,
    `${work}/out.sqfs`,
    ...comp.split(" "),
    "-all-root",
    "-noappend",
    "-no-progress",
    "-quiet",
  ])).ms;
  await Deno.remove(work, { recursive: true });
  return ms;
}

/** R1 (a directory) and R2 (a .tar.gz): pvr against the standard tools, interleaved. */
async function rootfsFigures(root: string, dir: string, n: number): Promise<Figure[]> {
  const tgz = `${root}/rootfs.tar.gz`;
  await run(["tar", "--sort=name", "-C", dir, "-czf", tgz, "."]);
  const figures: Figure[] = [];
  for (const [id, what, from] of [["R1", "a directory", `${dir}/`], ["R2", "a .tar.gz", tgz]]) {
    const ours: number[] = [];
    const theirs: number[] = [];
    // One untimed warm-up each, then alternate which side goes first.
    await pvrRootfs(root, from, "-comp xz");
    await stdRootfs(root, from, "-comp xz");
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) {
        ours.push(await pvrRootfs(root, from, "-comp xz"));
        theirs.push(await stdRootfs(root, from, "-comp xz"));
      } else {
        theirs.push(await stdRootfs(root, from, "-comp xz"));
        ours.push(await pvrRootfs(root, from, "-comp xz"));
      }
      note(
        `rootfs ${what} round ${i + 1}: pvr ${fmtMs(ours.at(-1)!)}, standard ${
          fmtMs(theirs.at(-1)!)
        }`,
      );
    }
    const ratio = median(ours) / median(theirs);
    figures.push({
      id,
      what: `app add -t rootfs from ${what}, -comp xz`,
      ours: fmtMs(median(ours)),
      theirs: `${from.endsWith("/") ? "" : "tar -xzf + "}mksquashfs ${fmtMs(median(theirs))}`,
      ratio: `${ratio.toFixed(2)}×`,
      target: "info",
      pass: null,
      detail:
        `pvr [${
          fmtSamples(ours)
        }] ms (the whole \`pvr app add\` process, Deno start included); standard [${
          fmtSamples(theirs)
        }] ms; per-round ` +
        `ratios ${ours.map((o, i) => (o / theirs[i]).toFixed(2)).join(", ")}`,
    });
  }
  return figures;
}

// ---------------------------------------------------------------- main

interface Round {
  cold: number[];
  warm: number[];
  same: number[];
  std: number[];
  stdParts: number[][];
  upToDate: boolean[];
  /** Layers the warm run reported as taken from the cache. */
  warmCached: number[];
  pvrSize: number;
  stdSize: number;
}

async function rounds(
  root: string,
  from: string,
  comp: string,
  n: number,
  label: string,
): Promise<Round> {
  const res: Round = {
    cold: [],
    warm: [],
    same: [],
    std: [],
    stdParts: [],
    upToDate: [],
    warmCached: [],
    pvrSize: 0,
    stdSize: 0,
  };
  const pvrSide = async (timed: boolean) => {
    const config = await fresh(root, "config");
    const repo1 = await fresh(root, "repo");
    const repo2 = await fresh(root, "repo");
    await pvrInit(repo1, config, comp);
    await pvrInit(repo2, config, comp);
    await settle();
    const cold = await pvrAppAdd(repo1, config, from, comp);
    res.pvrSize = (await Deno.stat(`${repo1}/app/root.squashfs`)).size;
    await Deno.remove(repo1, { recursive: true });
    await settle();
    const warm = await pvrAppAdd(repo2, config, from, comp);
    await settle();
    const same = await pvrAppAdd(repo2, config, from, comp);
    const up = /root\.squashfs: already up to date\./.test(same.stderr);
    const cached = (warm.stderr.match(/downloaded\(cache\)/g) ?? []).length;
    res.warmCached.push(cached);
    for (const d of [config, repo2]) await Deno.remove(d, { recursive: true });
    note(
      `${label} pvr${timed ? "" : " (warm-up)"}: cold ${fmtMs(cold.ms)}, warm cache ${
        fmtMs(warm.ms)
      } (${cached} layers from cache), same repo ${fmtMs(same.ms)}${
        up ? " (already up to date)" : " (REBUILT)"
      }`,
    );
    if (!timed) return;
    res.cold.push(cold.ms);
    res.warm.push(warm.ms);
    res.same.push(same.ms);
    res.upToDate.push(up);
  };
  const stdSide = async (timed: boolean) => {
    const work = await fresh(root, "std");
    await settle();
    const s = await standard(work, from, comp);
    res.stdSize = (await Deno.stat(s.out)).size;
    await run(["chmod", "-R", "u+rwX", work]);
    await Deno.remove(work, { recursive: true });
    note(
      `${label} standard${timed ? "" : " (warm-up)"}: ${fmtMs(s.ms)} (skopeo ${
        fmtMs(s.parts[0])
      } + umoci ${fmtMs(s.parts[1])} + mksquashfs ${fmtMs(s.parts[2])})`,
    );
    if (!timed) return;
    res.std.push(s.ms);
    res.stdParts.push(s.parts);
  };
  await pvrSide(false);
  await stdSide(false);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      await pvrSide(true);
      await stdSide(true);
    } else {
      await stdSide(true);
      await pvrSide(true);
    }
  }
  return res;
}

function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const sizeMiB = Number(args["size-mib"]);
  const runs = Number(args.runs);
  const gzipRuns = Number(args["gzip-runs"]);
  const missing = ["docker-registry", "skopeo", "umoci", "mksquashfs"].filter((t) => !which(t));
  if (missing.length > 0) {
    throw new Error(
      `missing tools: ${missing.join(", ")} (apt-get install docker-registry ` +
        "skopeo umoci squashfs-tools)",
    );
  }
  const root = await Deno.makeTempDir({ prefix: "pvr-bench-app-" });
  let reg: TestRegistry | null = null;
  const onInt = () => {
    (async () => {
      if (reg) await reg.close();
      await run(["chmod", "-R", "u+rwX", root], { allowFail: true });
      await Deno.remove(root, { recursive: true }).catch(() => {});
      Deno.exit(130);
    })();
  };
  Deno.addSignalListener("SIGINT", onInt);
  try {
    note(`building a ~${sizeMiB} MiB image in ${root}`);
    const layers = await buildImage(root, sizeMiB);
    const unpacked = layers.reduce((a, l) => a + l.uncompressed, 0);
    const packed = layers.reduce((a, l) => a + l.size, 0);
    await Deno.mkdir(`${root}/registry`);
    reg = await startRegistry({ dir: `${root}/registry` });
    const from = `${reg.host}/bench/img:1`;
    await run([
      "skopeo",
      "--insecure-policy",
      "copy",
      "--quiet",
      "--all",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${root}/layout:1`,
      `docker://${from}`,
    ]);
    const rootfsRuns = Number(args["rootfs-runs"]);
    const rootfsDir = `${root}/rootfs`;
    if (rootfsRuns > 0) {
      // The image's layers unpacked (in order) as a rootfs directory.
      await Deno.mkdir(rootfsDir);
      for (const l of layers) {
        await run(["tar", "-xzf", `${root}/layout/blobs/sha256/${l.digest}`, "-C", rootfsDir]);
      }
      await run(["bash", "-c", `find '${rootfsDir}' -name '.wh.*' -delete`]);
    }
    await Deno.remove(`${root}/layout`, { recursive: true });

    const xz = await rounds(root, from, "-comp xz", runs, "xz");
    const gz = gzipRuns > 0 ? await rounds(root, from, "-comp gzip", gzipRuns, "gzip") : null;

    const figures: Figure[] = [];
    const ratioFig = (
      id: string,
      what: string,
      r: Round,
      target: number | null,
    ): Figure => {
      const ratio = median(r.cold) / median(r.std);
      const parts = [0, 1, 2].map((k) => median(r.stdParts.map((p) => p[k])));
      return {
        id,
        what,
        ours: fmtMs(median(r.cold)),
        theirs: `skopeo+umoci+mksquashfs ${fmtMs(median(r.std))}`,
        ratio: `${ratio.toFixed(2)}×`,
        target: target === null ? "info" : `≤ ${target}×`,
        pass: target === null ? null : ratio <= target,
        detail: `pvr [${fmtSamples(r.cold)}] ms; standard [${fmtSamples(r.std)}] ms ` +
          `(medians: skopeo ${fmtMs(parts[0])}, umoci ${fmtMs(parts[1])}, mksquashfs ${
            fmtMs(parts[2])
          }); per-round ratios ${
            r.cold.map((c, i) => (c / r.std[i]).toFixed(2)).join(", ")
          }; squashfs pvr ${mib(r.pvrSize)}, standard ${mib(r.stdSize)}`,
      };
    };
    figures.push(ratioFig("A1", "app add, cold cache, -comp xz", xz, 1.3));
    if (gz) figures.push(ratioFig("A2", "app add, cold cache, -comp gzip", gz, null));
    const warmFig = (id: string, comp: string, r: Round, target: number | null): Figure => {
      const ratio = median(r.warm) / median(r.cold);
      return {
        id,
        what: `second app add (warm cache, new repo), ${comp}`,
        ours: fmtMs(median(r.warm)),
        theirs: `first app add ${fmtMs(median(r.cold))}`,
        ratio: `${ratio.toFixed(2)}×`,
        target: target === null ? "info" : `≤ ${target}×`,
        pass: target === null ? null : ratio <= target,
        detail: `warm [${fmtSamples(r.warm)}] ms; cold [${fmtSamples(r.cold)}] ms; layers ` +
          `from the cache in the warm runs: ${r.warmCached.slice(-r.warm.length).join(", ")}`,
      };
    };
    figures.push(warmFig("A3", "-comp xz", xz, 0.2));
    if (gz) figures.push(warmFig("A4", "-comp gzip", gz, null));
    const sameRatio = median(xz.same) / median(xz.cold);
    figures.push({
      id: "A5",
      what: "app add again into the same repo, -comp xz",
      ours: fmtMs(median(xz.same)),
      theirs: `first app add ${fmtMs(median(xz.cold))}`,
      ratio: `${sameRatio.toFixed(2)}×`,
      target: "info",
      pass: null,
      detail: `[${fmtSamples(xz.same)}] ms; "already up to date" printed: ${
        xz.upToDate.every((u) => u) ? "every run" : `runs ${JSON.stringify(xz.upToDate)}`
      }`,
    });

    if (rootfsRuns > 0) figures.push(...await rootfsFigures(root, rootfsDir, rootfsRuns));

    say(
      `# pvr app add vs skopeo copy + umoci unpack + mksquashfs (local docker-registry, ` +
        `${new Date().toISOString()})`,
    );
    say("");
    say(
      `Image: 3 gzip layers, ${mib(unpacked)} of tar (${
        layers.map((l) => `${l.files} files ${mib(l.uncompressed)} → ${mib(l.size)}`).join("; ")
      }), ${mib(packed)} compressed. ${runs} timed rounds (xz), ${gzipRuns} (gzip), medians, ` +
        `after one untimed warm-up round; sides interleaved; warm page cache and Deno module ` +
        `cache; sync before every timed step; ${navigator.hardwareConcurrency} CPUs.`,
    );
    say("");
    say(table(figures));
    say("");
    for (const f of figures) say(`- ${f.id}: ${f.detail}`);
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
    if (reg) await reg.close();
    if (args.keep) {
      note(`kept ${root}`);
    } else {
      await run(["chmod", "-R", "u+rwX", root], { allowFail: true });
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }
}

if (import.meta.main) await main();
