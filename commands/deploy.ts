/** `pvr deploy` (its Go alias `d` is shadowed by diff). */

import { Command } from "./args.ts";
import { deploy } from "../core/ops/deploy.ts";
import type { CliContext } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions } from "./remote.ts";

/** Builds the `deploy` command. */
export function deployCommand(ctx: CliContext) {
  return new Command("deploy")
    .description(
      "deploy sources into a trail directory: merge, clean, hardlink checkout, .pv/ links",
    )
    .argument("<deploy-dir>", "the directory to deploy into")
    .argument("[repositories...]", "sources (default: the repository in the current directory)")
    .option("-n, --nomerge", "replace instead of merge")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (deployDir, refs, opts) => {
      ctx.out("Starting deployment ...\n");
      const r = await deploy({
        ...remoteOptions(ctx, opts),
        deployDir,
        refs,
        noMerge: opts.nomerge,
        cwd: ctx.io.cwd,
        configDir: ctx.globals().configDir,
      });
      if (r.initialized) ctx.out("... initializing deploy repository ...\n");
      for (const s of r.sources) {
        ctx.out(`   - deploying ${s.ref}\n`);
        for (const o of s.objects) {
          ctx.err(`${o.key.slice(0, 15)} ${o.cached ? "[OK cache]" : "[OK]"}\n`);
        }
      }
      ctx.out("... Cleanup repo ...\n... deploying hardlinks ...\n... deploying .pv/ links...\n");
      ctx.out(`Deployment finished. Now now available at: ${r.dir}\n`);
    });
}
