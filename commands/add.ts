/** `pvr add` (alias `a`). */

import { Command } from "./args.ts";
import { add } from "../core/ops/add.ts";
import { type CliContext, envFlag } from "./context.ts";

/** Builds the `add` command. */
export function addCommand(ctx: CliContext) {
  return new Command("add")
    .alias("a")
    .description("add files (paths, directories or globs; default: everything) to be committed")
    .argument("[paths...]", "files, directories or globs relative to the repository")
    .option("-r, --raw", "commit matching .json files as objects, not inline (env PVR_ADD_RAW)")
    .action(async (paths, opts) => {
      await add({ ...ctx.repo(), paths, raw: opts.raw ?? envFlag(ctx, "PVR_ADD_RAW") });
    });
}
