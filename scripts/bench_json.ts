/**
 * Times the lossless JSON parser (`core/model/json_parse.ts`) against the reference
 * parser it replaced (`tests/support/json_parse_reference.ts`) and native
 * `JSON.parse`, on the benchmark workload's state (when present) and on the
 * Pantavisor fixture states.
 *
 * Two figures per input, each the median of `--runs` samples (default 20):
 * * warm: one process, the three parsers interleaved, after a few unmeasured rounds;
 * * first call: a fresh process per sample, timing its first parse, which is what a
 *   pvr command pays (it parses `.pvr/json` once, before the JIT has warmed up).
 *
 * Usage: `deno run -A scripts/bench_json.ts [--runs N] [--no-cold] [file.json …]`
 *
 * @module
 */
// deno-lint-ignore-file no-console

import { parseJson } from "../core/model/json_parse.ts";
import { parseJsonReference } from "../tests/support/json_parse_reference.ts";

const W1_STATE = "/tmp/pvrb/w1/.pvr/json";
const FIXTURES = new URL("../../shared/fixtures/pantavisor/", import.meta.url);

type Impl = "old" | "new" | "native";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Parses `bytes` with one of the parsers (all from bytes, as pvr reads files). */
function run(impl: Impl, bytes: Uint8Array): unknown {
  switch (impl) {
    case "old":
      return parseJsonReference(bytes);
    case "new":
      return parseJson(bytes);
    case "native":
      return JSON.parse(utf8.decode(bytes));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function warm(bytes: Uint8Array, runs: number): Record<Impl, number> {
  const impls: Impl[] = ["old", "new", "native"];
  const samples: Record<Impl, number[]> = { old: [], new: [], native: [] };
  for (let r = -3; r < runs; r++) {
    for (const impl of impls) {
      const t = performance.now();
      run(impl, bytes);
      const dt = performance.now() - t;
      if (r >= 0) samples[impl].push(dt);
    }
  }
  return { old: median(samples.old), new: median(samples.new), native: median(samples.native) };
}

async function firstCall(path: string, runs: number): Promise<Record<Impl, number>> {
  const impls: Impl[] = ["old", "new", "native"];
  const samples: Record<Impl, number[]> = { old: [], new: [], native: [] };
  for (let r = 0; r < runs; r++) {
    for (const impl of impls) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename ?? "", "--child", impl, path],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`child ${impl} ${path} failed`);
      samples[impl].push(Number(new TextDecoder().decode(out.stdout).trim()));
    }
  }
  return { old: median(samples.old), new: median(samples.new), native: median(samples.native) };
}

function inputs(files: string[]): string[] {
  if (files.length > 0) return files;
  const list: string[] = [];
  try {
    if (Deno.statSync(W1_STATE).isFile) list.push(W1_STATE);
  } catch {
    console.error(`(${W1_STATE} absent: run the workload benchmark to create it)`);
  }
  const dir = FIXTURES.pathname;
  const names = [...Deno.readDirSync(dir)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name)
    .sort();
  for (const n of names) list.push(dir + n);
  return list;
}

function label(path: string): string {
  return path === W1_STATE ? "W1 .pvr/json" : path.slice(path.lastIndexOf("/") + 1);
}

const ms = (x: number) => x.toFixed(x < 1 ? 3 : 2);
const ratio = (x: number) => x.toFixed(1) + "×";

async function main(args: string[]): Promise<void> {
  if (args[0] === "--child") {
    // One first call in a fresh process: print its time in ms.
    const bytes = Deno.readFileSync(args[2]);
    const t = performance.now();
    run(args[1] as Impl, bytes);
    console.log(performance.now() - t);
    return;
  }
  let runs = 20;
  let cold = true;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--runs") runs = Number(args[++i]);
    else if (args[i] === "--no-cold") cold = false;
    else files.push(args[i]);
  }
  console.log(`medians of ${runs}; ms; speed-up = old / new; ×native = new / JSON.parse`);
  console.log(
    "| input | KB | warm old | warm new | speed-up | ×native |" +
      (cold ? " 1st old | 1st new | speed-up | 1st native |" : ""),
  );
  console.log("|---|--:|--:|--:|--:|--:|" + (cold ? "--:|--:|--:|--:|" : ""));
  for (const path of inputs(files)) {
    const bytes = Deno.readFileSync(path);
    const w = warm(bytes, runs);
    let row = `| ${label(path)} | ${(bytes.length / 1024).toFixed(0)} | ${ms(w.old)} | ` +
      `${ms(w.new)} | ${ratio(w.old / w.new)} | ${ratio(w.new / w.native)} |`;
    if (cold) {
      const c = await firstCall(path, runs);
      row += ` ${ms(c.old)} | ${ms(c.new)} | ${ratio(c.old / c.new)} | ${ms(c.native)} |`;
    }
    console.log(row);
  }
}

if (import.meta.main) await main(Deno.args);
