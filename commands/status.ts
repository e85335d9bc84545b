/** `pvr status` (alias `s`). */

import { Command } from "./args.ts";
import { status } from "../core/ops/status.ts";
import { formatStatusLines } from "../core/model/status.ts";
import type { CliContext } from "./context.ts";

/** Builds the `status` command. */
export function statusCommand(ctx: CliContext) {
  return new Command("status")
    .alias("s")
    .description("show added (A), removed (D), changed (C) and untracked (?) files")
    .option("--json", "print the result as JSON")
    .action(async (opts) => {
      const s = await status(ctx.repo());
      ctx.out(opts.json ? JSON.stringify(s) + "\n" : formatStatusLines(s));
    });
}
