/** `pvr get` (alias `g`) and `pvr merge` (alias `m`). */

import { Command } from "./args.ts";
import { get, type GetResult, merge } from "../core/ops/get.ts";
import type { CliContext } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions } from "./remote.ts";

function report(ctx: CliContext, r: GetResult, quiet: boolean): void {
  if (!quiet) {
    for (const o of r.objects) {
      ctx.err(`${o.key.slice(0, 15)} ${o.cached ? "[OK cache]" : "[OK]"}\n`);
    }
  }
  ctx.out(`\nImported ${r.imported} objects to ${r.objectsDir}\n`);
  ctx.out("\n\nRun pvr checkout to checkout the changed files into the workspace.\n");
}

/** Builds the `get` command. */
export function getCommand(ctx: CliContext) {
  return new Command("get")
    .alias("g")
    .description("get a state (or #parts of it) and its objects; the working tree is not touched")
    .argument("[repository]", "repo dir, export tarball, URL or user/device, with optional #parts")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (ref, opts) => {
      const r = await get({ ...ctx.repo(), ...remoteOptions(ctx, opts), ref });
      report(ctx, r, opts.quiet ?? false);
    });
}

/** Builds the `merge` command. */
export function mergeCommand(ctx: CliContext) {
  return new Command("merge")
    .alias("m")
    .description("merge a state (or #parts of it) into the committed state")
    .argument("[repository]", "repo dir, export tarball, URL or user/device, with optional #parts")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (ref, opts) => {
      const r = await merge({ ...ctx.repo(), ...remoteOptions(ctx, opts), ref });
      report(ctx, r, opts.quiet ?? false);
    });
}
