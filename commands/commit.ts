/** `pvr commit` (alias `ci`). */

import { Command } from "./args.ts";
import { commit } from "../core/ops/commit.ts";
import type { CliContext } from "./context.ts";

/** Builds the `commit` command. */
export function commitCommand(ctx: CliContext) {
  return new Command("commit")
    .alias("ci")
    .description("commit the working state")
    .option("-m, --message <msg>", "commit message")
    .option("-c, --checkpoint", "also commit checkpoint.json marking a major revision")
    .action(async (opts) => {
      const r = await commit({ ...ctx.repo(), message: opts.message, checkpoint: opts.checkpoint });
      // Same lines, streams and order of kinds as the Go pvr.
      for (const f of r.changed) {
        ctx.err(f.inline ? `Committing (inline): ${f.path}\n` : `Committing (raw): ${f.path}\n`);
      }
      for (const f of r.added) {
        ctx.err(f.inline ? `Adding inline ${f.key}\n` : `Adding raw ${f.path} with ${f.sha}\n`);
      }
      for (const key of r.removed) ctx.err(`Removing ${key}\n`);
    });
}
