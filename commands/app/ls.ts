/** `pvr app ls` (alias `l`). */

import { Command } from "../args.ts";
import { appLs } from "../../core/ops/app_ls.ts";
import type { CliContext } from "../context.ts";

/** Builds `app ls`: one app name a line, sorted. */
export function appLsCommand(ctx: CliContext) {
  return new Command("ls")
    .alias("l")
    .description("list the apps (top-level directories with a src.json)")
    .option("--json", "print the names as a JSON array")
    .action(async (opts) => {
      const { apps } = await appLs(ctx.repo());
      if (opts.json) ctx.out(JSON.stringify(apps) + "\n");
      else ctx.out(apps.map((a) => a + "\n").join(""));
    });
}
