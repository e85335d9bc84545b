// deno-lint-ignore-file no-console
/**
 * `deno task demo`: a short tour in a temp dir — init, add, commit, status, diff,
 * export, import into a second repo, checkout — running the real CLI in-process.
 */

import { runCli } from "../commands/cli.ts";
import { processIo } from "../commands/output.ts";

const root = await Deno.makeTempDir({ prefix: "pvr-demo-" });
const repo = `${root}/device`;
const env = { ...Deno.env.toObject(), PVR_CONFIG_DIR: `${root}/config` };

async function pvr(cwd: string, ...args: string[]): Promise<void> {
  console.log(`\n$ pvr ${args.join(" ")}`);
  const code = await runCli(args, { ...processIo(), env, cwd });
  if (code !== 0) throw new Error(`pvr ${args.join(" ")} exited ${code}`);
}

await Deno.mkdir(`${repo}/bsp`, { recursive: true });
await pvr(repo, "init");
await Deno.writeTextFile(`${repo}/bsp/kernel.img`, "not really a kernel\n");
await Deno.writeTextFile(`${repo}/bsp/run.json`, '{"linux":"kernel.img","initrd":"pantavisor"}');
await pvr(repo, "status");
await pvr(repo, "add");
await pvr(repo, "commit", "-m", "first state");
await pvr(repo, "json");
await Deno.writeTextFile(`${repo}/bsp/run.json`, '{"linux":"kernel.img","initrd":"pv2"}');
await pvr(repo, "status");
await pvr(repo, "diff");
await pvr(repo, "commit", "-m", "new initrd");
await pvr(repo, "export", `${root}/device.tgz`);
await Deno.mkdir(`${root}/copy`);
await pvr(`${root}/copy`, "init");
await pvr(`${root}/copy`, "import", `${root}/device.tgz`);
await pvr(`${root}/copy`, "checkout");
await pvr(`${root}/copy`, "fsck");
await pvr(`${root}/copy`, "status");
console.log(`\n(demo files are in ${root})`);
