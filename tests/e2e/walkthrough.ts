/**
 * The worked example of the reference (spec Appendix B), extended by a short export →
 * clone, as a transcript: every step, its stdout, stderr and exit code. The in-process
 * run (cli.test.ts) and the subprocess runs of `main.ts` and the bundle
 * (subprocess.test.ts) must all produce the golden transcript
 * `golden/appendix_b.txt`, with the temp dir replaced by `<TMP>`.
 */

import type { PvrRun } from "../support/cli.ts";

/** Runs pvr with `args` in `cwd` with exactly the environment `env`. */
export type Runner = (args: string[], cwd: string, env: Record<string, string>) => Promise<PvrRun>;

/** Where the golden transcript lives. */
export const GOLDEN = new URL("./golden/appendix_b.txt", import.meta.url);

/** Set `PVR_UPDATE_GOLDEN=1` to rewrite the golden files from the in-process run. */
export const UPDATE_GOLDEN = Deno.env.get("PVR_UPDATE_GOLDEN") === "1";

function block(text: string): string {
  if (text === "") return "";
  return text.endsWith("\n") ? text : `${text}\n\\ No newline at end of file\n`;
}

/**
 * Runs the walkthrough under `root` (an empty temp dir) and returns its transcript with
 * `root` replaced by `<TMP>`.
 */
export async function walkthrough(run: Runner, root: string): Promise<string> {
  const env = { PVR_CONFIG_DIR: `${root}/config` };
  const demo = `${root}/demo`;
  await Deno.mkdir(demo);
  let out = "";
  let cwd = demo;

  const pvr = async (...args: string[]) => {
    const r = await run(args, cwd, env);
    out += `$ pvr ${args.join(" ")}\n${block(r.stdout)}`;
    if (r.stderr !== "") out += `[stderr]\n${block(r.stderr)}`;
    if (r.code !== 0) out += `[exit ${r.code}]\n`;
  };
  const cat = async (rel: string) => {
    out += `$ cat ${rel}\n${block(await Deno.readTextFile(`${cwd}/${rel}`))}`;
  };
  const shell = (line: string) => {
    out += `$ ${line}\n`;
  };

  shell("mkdir demo && cd demo");
  await pvr("init");
  await cat(".pvr/json");
  await cat(".pvr/config");
  shell(`printf 'hello\\n' > a.txt; printf '{"b": 1.50, "a": "<x>"}\\n' > c.json`);
  await Deno.writeTextFile(`${demo}/a.txt`, "hello\n");
  await Deno.writeTextFile(`${demo}/c.json`, '{"b": 1.50, "a": "<x>"}\n');
  await pvr("status");
  await pvr("add");
  await cat(".pvr/new");
  await pvr("status");
  await pvr("json");
  await pvr("diff");
  await pvr("commit");
  await cat(".pvr/json");
  shell("ls ../config/objects");
  const objects = [];
  for await (const e of Deno.readDir(`${root}/config/objects`)) objects.push(e.name);
  out += objects.sort().map((n) => `${n}\n`).join("");
  shell("rm c.json");
  await Deno.remove(`${demo}/c.json`);
  await pvr("checkout");
  await cat("c.json");
  await pvr("status");
  await pvr("fsck");
  await pvr("export", "../demo.tgz");
  shell("cd ..");
  cwd = root;
  await pvr("clone", "demo.tgz", "copy");
  shell("cd copy");
  cwd = `${root}/copy`;
  await pvr("json", "-c");
  await pvr("status");
  return out.split(root).join("<TMP>");
}

/** Where the golden transcript of {@link errorsTranscript} lives. */
export const ERRORS_GOLDEN = new URL("./golden/errors.txt", import.meta.url);

/**
 * Usage and repository errors, run in an empty directory under `root`: each command's
 * stdout, stderr and exit code, with `root` replaced by `<TMP>`.
 */
export async function errorsTranscript(run: Runner, root: string): Promise<string> {
  const env = { PVR_CONFIG_DIR: `${root}/config` };
  await Deno.mkdir(`${root}/empty`);
  let out = "";
  for (
    const args of [
      ["nope"],
      ["--bogus"],
      ["status", "--bogus"],
      ["status", "extra"],
      ["clone"],
      ["export"],
      ["diff", "--format", "yaml"],
      ["status"],
      ["status", "--json"],
      ["init", "-s"],
    ]
  ) {
    const r = await run(args, `${root}/empty`, env);
    out += `$ pvr ${args.join(" ")}\n${r.stdout}[stderr] ${r.stderr}[exit ${r.code}]\n`;
  }
  return out.split(root).join("<TMP>");
}
