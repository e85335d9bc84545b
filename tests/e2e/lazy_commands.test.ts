/**
 * Commands are loaded on demand: `pvr json` and `pvr checkout` load their own command
 * module and the CLI's few shared modules, no other command and no npm package; the
 * progress bar package is loaded only for a terminal. What
 * a process loaded is read from the V8 coverage that `deno run --coverage` writes (one
 * file per script).
 */

import assert from "node:assert/strict";
import { PROJECT_ROOT, pvrProcess, withRepo } from "../support/cli.ts";
import { withTempDir } from "../support/temp.ts";

/** Runs main.ts with `args` in `cwd` and returns the URLs of the scripts it loaded. */
async function loadedBy(args: string[], cwd: string, env: Record<string, string>) {
  return await withTempDir(async (coverage) => {
    const out = await pvrProcess(args, { cwd, env, denoFlags: [`--coverage=${coverage}`] })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const urls: string[] = [];
    for await (const e of Deno.readDir(coverage)) {
      if (e.isFile) urls.push(JSON.parse(await Deno.readTextFile(`${coverage}/${e.name}`)).url);
    }
    return urls;
  });
}

const SHARED = ["commands/args.ts", "commands/cli.ts", "commands/context.ts", "commands/output.ts"];

Deno.test("pvr json and checkout load only their command and no npm package; get no bars", async () => {
  await withRepo(async (r) => {
    for (const [args, module] of [[["json"], "json.ts"], [["checkout"], "reset.ts"]] as const) {
      const urls = await loadedBy([...args], r.dir, r.env);
      const root = new URL(`file://${PROJECT_ROOT}/`).href;
      const commands = urls.filter((u) => u.startsWith(`${root}commands/`))
        .map((u) => u.slice(root.length)).sort();
      assert.deepEqual(commands, [...SHARED, `commands/${module}`].sort(), args.join(" "));
      const npm = urls.filter((u) => u.startsWith("npm:") || u.includes("/npm/"));
      assert.deepEqual(npm, [], args.join(" "));
    }
    // A transfer without a terminal shows no progress bars: their package stays unloaded.
    const get = await loadedBy(["get", r.dir], r.dir, r.env);
    assert.ok(get.some((u) => u.endsWith("/commands/progress.ts")));
    assert.deepEqual(get.filter((u) => u.includes("cli-progress")), []);
    // Help lists every command: it loads them all.
    const help = await loadedBy(["--help"], r.dir, r.env);
    assert.ok(help.some((u) => u.endsWith("/commands/device/logs.ts")));
  });
});
