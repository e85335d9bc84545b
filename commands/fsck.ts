/** `pvr fsck` (beyond the Go pvr). */

import { Command } from "./args.ts";
import { fsck } from "../core/ops/fsck.ts";
import { PvrProblemsError } from "../core/errors.ts";
import type { CliContext } from "./context.ts";

/** Builds the `fsck` command. */
export function fsckCommand(ctx: CliContext) {
  return new Command("fsck")
    .description("verify that every object of the committed state exists and hashes right")
    .option("--json", "print the result as JSON")
    .action(async (opts) => {
      const r = await fsck(ctx.repo());
      if (opts.json) ctx.out(JSON.stringify(r) + "\n");
      else for (const p of r.problems) ctx.out(`${p.kind} ${p.sha} ${p.key}\n`);
      if (r.problems.length > 0) {
        throw new PvrProblemsError(
          "FSCK",
          `${r.problems.length} of ${r.objects} objects are missing or damaged`,
          r.problems.map((p) => `${p.kind} ${p.sha} ${p.key}`),
        );
      }
      if (!opts.json) ctx.err(`${r.objects} objects checked, all intact\n`);
    });
}
