/**
 * Remote transfer benchmark: `pvr post` and `pvr get` of W1's large files (4 × 256 MiB)
 * through the stand-in Pantahub, against `curl` moving the same bytes to and from the
 * same server's signed URLs (4 in parallel), in the same run. Then a second post after
 * one file changed (what is sent), and the peak RSS of pvr moving one 4 GiB object.
 *
 * Prints every sample, then medians and ratios against curl with PASS/MISS against the
 * target (≥ 0.7× curl's throughput), and get against curl + sync for information (pvr
 * fsyncs what it stores, curl does not); asserts nothing.
 *
 * The hub runs as a process of its own (`--hub process`, the default), as a real server
 * does: it does not share this process's JavaScript thread and heap, and its CPU time per
 * GiB served is printed for both sides. `--hub inline` runs it in this process instead.
 *
 * ```sh
 * deno run -A scripts/bench_remote.ts [--big-mib 256] [--files 4] [--rounds 5] [--rss-gib 4]
 *   [--hub process|inline] [--keep]
 * ```
 *
 * `--rss-gib 0` skips the 4 GiB part (it needs about 5 × that much free disk).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Hub, startHub } from "../tests/support/hub/server.ts";
import { add, commit, init } from "../mod.ts";
import { buildWorkload, type WorkloadSpec } from "./bench/workload.ts";
import { benchDenoDir, median, run, settle } from "./bench/harness.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    "big-mib": { type: "string", default: "256" },
    files: { type: "string", default: "4" },
    "rss-gib": { type: "string", default: "4" },
    rounds: { type: "string", default: "5" },
    hub: { type: "string", default: "process" },
    keep: { type: "boolean", default: false },
    // Internal: this script as the hub's own process (see BenchHub).
    "serve-hub": { type: "string" },
  },
});

const MiB = 1024 * 1024;
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SPEC = "pantavisor-service-system@1";
const enc = new TextEncoder();

function say(line: string): void {
  Deno.stdout.writeSync(enc.encode(line + "\n"));
}

function rate(bytes: number, ms: number): string {
  return `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
}

/** What the benchmark needs of the stand-in hub, in this process or in its own. */
interface BenchHub extends AsyncDisposable {
  url: string;
  /** The hub's process (this one when inline). */
  pid: number;
  addUser(nick: string, password: string): Promise<void>;
  /** Adds a device owned by `owner` with a trail holding `state`; returns its id. */
  addDeviceWithTrail(owner: string, nick: string, state: Record<string, string>): Promise<string>;
  clearRequests(): Promise<void>;
  /** `Content-Length` of every blob PUT since the last {@link BenchHub.clearRequests}. */
  blobPuts(): Promise<number[]>;
}

/** The hub's side of {@link BenchHub}: one JSON command a line. */
type HubCommand =
  | { op: "addUser"; nick: string; password: string }
  | { op: "addDeviceWithTrail"; owner: string; nick: string; state: Record<string, string> }
  | { op: "clearRequests" }
  | { op: "blobPuts" };

async function hubCommand(hub: Hub, c: HubCommand): Promise<unknown> {
  switch (c.op) {
    case "addUser":
      hub.addUser(c.nick, c.password);
      return null;
    case "addDeviceWithTrail": {
      const dev = hub.addDevice({ owner: c.owner, nick: c.nick });
      await hub.addTrail(dev.id, c.state);
      return dev.id;
    }
    case "clearRequests":
      hub.clearRequests();
      return null;
    case "blobPuts":
      return hub.requests.filter((q) => q.method === "PUT" && /s3\//.test(q.path))
        .map((q) => Number(q.request["content-length"] ?? 0));
  }
}

/** The lines of a byte stream. */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

/** The hub in this process. */
async function inlineHub(blobDir: string): Promise<BenchHub> {
  const hub = await startHub({ blobDir });
  return {
    url: hub.url,
    pid: Deno.pid,
    addUser: async (nick, password) =>
      void await hubCommand(hub, { op: "addUser", nick, password }),
    addDeviceWithTrail: async (owner, nick, state) =>
      await hubCommand(hub, { op: "addDeviceWithTrail", owner, nick, state }) as string,
    clearRequests: async () => void await hubCommand(hub, { op: "clearRequests" }),
    blobPuts: async () => await hubCommand(hub, { op: "blobPuts" }) as number[],
    [Symbol.asyncDispose]: () => hub.close(),
  };
}

/**
 * This script as the hub's process (`--serve-hub <blob dir>`): prints the hub's URL,
 * then answers one JSON command a line on stdin with one JSON line on stdout.
 */
async function serveHub(blobDir: string): Promise<void> {
  const hub = await startHub({ blobDir });
  say(JSON.stringify({ url: hub.url }));
  for await (const line of linesOf(Deno.stdin.readable)) {
    if (line === "") continue;
    try {
      say(JSON.stringify({ ok: await hubCommand(hub, JSON.parse(line)) }));
    } catch (err) {
      say(JSON.stringify({ error: String(err) }));
    }
  }
  await hub.close();
}

/** The hub in a process of its own (this script with `--serve-hub`). */
async function processHub(blobDir: string): Promise<BenchHub> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", import.meta.filename!, "--serve-hub", blobDir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = linesOf(child.stdout);
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error("the hub process stopped");
    return JSON.parse(r.value);
  };
  const { url } = await next();
  // One command at a time: each answer is the next line.
  let queue: Promise<unknown> = Promise.resolve();
  const send = (c: HubCommand): Promise<unknown> => {
    const p = queue.then(async () => {
      await writer.write(enc.encode(JSON.stringify(c) + "\n"));
      const a = await next();
      if ("error" in a) throw new Error(`hub: ${a.error}`);
      return a.ok;
    });
    queue = p.catch(() => {});
    return p;
  };
  return {
    url,
    pid: child.pid,
    addUser: async (nick, password) => void await send({ op: "addUser", nick, password }),
    addDeviceWithTrail: async (owner, nick, state) =>
      await send({ op: "addDeviceWithTrail", owner, nick, state }) as string,
    clearRequests: async () => void await send({ op: "clearRequests" }),
    blobPuts: async () => await send({ op: "blobPuts" }) as number[],
    [Symbol.asyncDispose]: async () => {
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based) of the whole line; clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Logs in through `POST /auth/login`; returns the token. */
async function login(hub: BenchHub, username: string, password: string): Promise<string> {
  const res = await fetch(`${hub.url}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const doc = await res.json();
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status}`);
  return doc.token;
}

/** Peak resident set size (VmHWM) of a process, in bytes, while it runs. */
function watchRss(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // gone
    }
  };
  const timer = setInterval(read, 20);
  read();
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Runs pvr (main.ts) as a process; returns its wall time and peak RSS. */
async function pvr(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ ms: number; rss: number }> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/main.ts`, ...argv],
    cwd,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const rss = watchRss(child.pid);
  const out = await child.output();
  const ms = performance.now() - t0;
  const peak = rss.stop();
  if (out.code !== 0) {
    throw new Error(`pvr ${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { ms, rss: peak };
}

/** Runs one curl per item in parallel; returns the wall time of the whole batch. */
async function curls(cmds: string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(cmds.map((c) => run(["curl", "-sS", "-f", ...c])));
  return performance.now() - t0;
}

async function register(
  hubUrl: string,
  token: string,
  name: string,
  sha: string,
  size: number,
): Promise<{ put: string; get: string }> {
  const res = await fetch(`${hubUrl}/objects/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ objectname: name, sha256sum: sha, size: String(size) }),
  });
  const doc = await res.json();
  if (res.status !== 200) throw new Error(`register ${name}: ${res.status}`);
  return { put: doc["signed-puturl"], get: doc["signed-geturl"] };
}

async function main(): Promise<void> {
  const bigMiB = Number(args["big-mib"]);
  const files = Number(args.files);
  const rssGiB = Number(args["rss-gib"]);
  const inline = args.hub === "inline";
  if (!inline && args.hub !== "process") throw new Error("--hub must be process or inline");
  const root = await Deno.makeTempDir({ prefix: "pvr-bench-remote-" });
  await Deno.mkdir(`${root}/hub-blobs`);
  await using hub = inline
    ? await inlineHub(`${root}/hub-blobs`)
    : await processHub(`${root}/hub-blobs`);
  try {
    say(
      `# pvr remote transfers vs curl, through the stand-in hub ${
        inline ? "in this process" : `in a process of its own (pid ${hub.pid})`
      } (${root})`,
    );
    const load = Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
    say(`load average at start: ${load} (${navigator.hardwareConcurrency} CPUs)`);
    await hub.addUser("alice", "secret");
    const deviceId = await hub.addDeviceWithTrail("alice", "bench", { "#spec": SPEC });
    const alice = await login(hub, "alice", "secret");
    const trail = `${hub.url}/trails/${deviceId}`;
    const configDir = `${root}/config`;
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: root,
      DENO_DIR: await benchDenoDir(root),
      PVR_CONFIG_DIR: configDir,
      PVR_ACCESSTOKEN: alice,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
    };

    // The workload: W1's large files, committed (not timed).
    const repo = `${root}/repo`;
    const spec: WorkloadSpec = {
      smallFiles: 0,
      smallSize: 0,
      smallDirs: 1,
      jsonFiles: 0,
      bigFiles: files,
      bigMiB,
    };
    await init({ dir: repo, configDir });
    await buildWorkload(repo, spec);
    await add({ dir: repo, configDir });
    const committed = await commit({ dir: repo, configDir });
    void committed;
    const state = JSON.parse(await Deno.readTextFile(`${repo}/.pvr/json`));
    const blobs = Object.entries(state).filter(([k]) => k.startsWith("bsp/")) as [
      string,
      string,
    ][];
    const total = files * bigMiB * MiB;
    say(`workload: ${files} × ${bigMiB} MiB = ${(total / MiB).toFixed(0)} MiB`);

    // Push and get, interleaved rounds (which side goes first alternates); each round
    // a fresh account, so nothing is on the server yet. curl moves the same bytes
    // through signed URLs (4 in parallel). Every timed run starts after a `sync`.
    const rounds = Number(args.rounds);
    const pushes: number[] = [];
    const curlPuts: number[] = [];
    const gets: number[] = [];
    const curlGets: number[] = [];
    const curlGetsSynced: number[] = [];
    // The hub's CPU time while serving each side's get (ms).
    const hubCpuPvr: number[] = [];
    const hubCpuCurl: number[] = [];
    let rssPush = 0;
    let rssGet = 0;
    const getDir = `${root}/get`;
    await init({ dir: getDir, configDir, objectsDir: `${root}/get-objects` });
    await Deno.mkdir(`${root}/curl-out`);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    for (let r = 0; r < rounds; r++) {
      await hub.addUser(`curl${r}`, "secret");
      const curlToken = await login(hub, `curl${r}`, "secret");
      const urls = await Promise.all(
        blobs.map(([k, sha]) => register(hub.url, curlToken, k, sha, bigMiB * MiB)),
      );
      await hub.addUser(`pvr${r}`, "secret");
      const devId = await hub.addDeviceWithTrail(`pvr${r}`, "bench", { "#spec": SPEC });
      const url = `${hub.url}/trails/${devId}`;
      const asUser = { ...env, PVR_ACCESSTOKEN: await login(hub, `pvr${r}`, "secret") };
      const pvrFirst = r % 2 === 1;

      const curlPut = async () => {
        await settle();
        curlPuts.push(
          await curls(
            blobs.map(([k], i) => ["-o", "/dev/null", "-T", `${repo}/${k}`, urls[i].put]),
          ),
        );
      };
      const pvrPush = async () => {
        await settle();
        const push = await pvr(["post", "-q", url], repo, asUser);
        pushes.push(push.ms);
        rssPush = Math.max(rssPush, push.rss);
      };
      for (const side of pvrFirst ? [pvrPush, curlPut] : [curlPut, pvrPush]) await side();

      const curlGet = async () => {
        await Deno.remove(`${root}/curl-out`, { recursive: true });
        await Deno.mkdir(`${root}/curl-out`);
        await settle();
        const t0 = performance.now();
        const c0 = cpuMs(hub.pid);
        curlGets.push(await curls(urls.map((u, i) => [u.get, "-o", `${root}/curl-out/${i}`])));
        hubCpuCurl.push(cpuMs(hub.pid) - c0);
        await settle(); // what pvr does on top: its objects are on disk when it exits
        curlGetsSynced.push(performance.now() - t0);
      };
      const pvrGet = async () => {
        await Deno.remove(`${root}/get-objects`, { recursive: true });
        await Deno.mkdir(`${root}/get-objects`);
        await settle();
        const c0 = cpuMs(hub.pid);
        const got = await pvr(["get", "-q", url], getDir, asUser);
        hubCpuPvr.push(cpuMs(hub.pid) - c0);
        gets.push(got.ms);
        rssGet = Math.max(rssGet, got.rss);
      };
      for (const side of pvrFirst ? [pvrGet, curlGet] : [curlGet, pvrGet]) await side();
      say(
        `round ${r + 1}: push pvr ${s(pushes[r])}, curl ${s(curlPuts[r])}; get pvr ${
          s(gets[r])
        }, curl ${s(curlGets[r])} (+sync ${s(curlGetsSynced[r])}); hub CPU serving pvr ${
          s(hubCpuPvr[r])
        }, curl ${s(hubCpuCurl[r])}`,
      );
    }
    const mb = (total / MiB).toFixed(0);
    const TARGET = 0.7;
    const line = (
      what: string,
      ours: number[],
      theirs: number[],
      rss: number | undefined,
      note: string,
      verdict = true,
    ) => {
      const o = median(ours);
      const t = median(theirs);
      const ratio = t / o;
      const mark = verdict ? (ratio >= TARGET ? "PASS" : "MISS") + ` (target ≥ ${TARGET}×)` : "";
      say(
        `${what} ${mb} MiB: pvr ${s(o)} (${rate(total, o)}), ${note} ${s(t)} (${
          rate(total, t)
        }) → ${ratio.toFixed(2)}× ${mark}` +
          (rss === undefined ? "" : `; pvr peak RSS ${(rss / MiB).toFixed(0)} MiB`) +
          `  [medians of ${rounds}]`,
      );
    };
    say("pvr post also registers the objects and posts the step; pvr get also hashes,");
    say("fsyncs and renames every object (curl only writes, and never fsyncs).");
    line("push", pushes, curlPuts, rssPush, "curl");
    line("get ", gets, curlGets, rssGet, "curl");
    line("get ", gets, curlGetsSynced, undefined, "curl + sync (information)", false);
    say(
      `hub CPU time serving the get (user + system, ${
        inline ? "the whole bench process" : "its process"
      }): ` +
        `pvr ${s(median(hubCpuPvr))}, curl ${s(median(hubCpuCurl))}  [medians of ${rounds}]`,
    );

    // A second push after one file changed: only that object is sent.
    await pvr(["post", "-q", trail], repo, env);
    const [changed] = blobs[Math.min(1, blobs.length - 1)];
    {
      using f = await Deno.open(`${repo}/${changed}`, { write: true });
      await f.write(crypto.getRandomValues(new Uint8Array(4096)));
    }
    await add({ dir: repo, configDir });
    await commit({ dir: repo, configDir });
    await hub.clearRequests();
    const again = await pvr(["post", "-q", trail], repo, env);
    const puts = await hub.blobPuts();
    const sent = puts.reduce((n, q) => n + q, 0);
    say(
      `second push after ${changed} changed: ${puts.length} object PUT, ${
        (sent / MiB).toFixed(0)
      } MiB sent of ${(total / MiB).toFixed(0)} MiB (${(again.ms / 1000).toFixed(2)} s)`,
    );

    // Peak RSS moving one large object.
    if (rssGiB > 0) {
      await Deno.remove(`${root}/get-objects`, { recursive: true });
      const big = `${root}/big`;
      await init({ dir: big, configDir, objectsDir: `${root}/big-objects` });
      const chunk = new Uint8Array(8 * MiB);
      {
        using f = await Deno.open(`${big}/huge.img`, { write: true, create: true });
        for (let i = 0; i < rssGiB * 128; i++) {
          crypto.getRandomValues(chunk.subarray(0, 65536));
          chunk[65536 + (i % 1000)] = i & 0xff;
          let off = 0;
          while (off < chunk.length) off += await f.write(chunk.subarray(off));
        }
      }
      await add({ dir: big, configDir });
      await commit({ dir: big, configDir });
      await Deno.remove(`${big}/huge.img`);
      const dev2 = await hub.addDeviceWithTrail("alice", "huge", { "#spec": SPEC });
      const url2 = `${hub.url}/trails/${dev2}`;
      const up = await pvr(["post", "-q", url2], big, env);
      await Deno.remove(`${root}/big-objects`, { recursive: true });
      await Deno.mkdir(`${root}/big-objects`);
      const down = await pvr(["get", "-q", url2], big, env);
      const bytes = rssGiB * 1024 * MiB;
      say(
        `one ${rssGiB} GiB object: post ${rate(bytes, up.ms)}, peak RSS ${
          (up.rss / MiB).toFixed(0)
        } MiB; get ${rate(bytes, down.ms)}, peak RSS ${(down.rss / MiB).toFixed(0)} MiB ` +
          `(target ≤ 200 MB)`,
      );
    }
  } finally {
    if (!args.keep) await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (args["serve-hub"] !== undefined) await serveHub(args["serve-hub"]);
else await main();
