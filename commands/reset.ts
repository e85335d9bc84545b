/** `pvr reset` (aliases `r`, `checkout`, `co`). */

import { Command, Option } from "./args.ts";
import { checkout } from "../core/ops/checkout.ts";
import { type CliContext, envFlag } from "./context.ts";

/** Builds the `reset`/`checkout` command. */
export function resetCommand(ctx: CliContext) {
  return new Command("reset")
    .aliases(["r", "checkout", "co"])
    .description("check out the committed state into the working tree")
    .option("--hardlink", "hardlink objects from the store (read-only files); also --hl")
    .addOption(new Option("--hl").hideHelp())
    .option("-c, --canonical", "write JSON files canonically (env PVR_CANONICAL_JSON)")
    .option("-v, --verbose", "report how many files were written and how")
    .action(async (opts) => {
      const r = await checkout({
        ...ctx.repo(),
        hardlink: opts.hardlink || opts.hl,
        canonical: opts.canonical ?? envFlag(ctx, "PVR_CANONICAL_JSON"),
      });
      if (opts.verbose) {
        const w = r.written;
        ctx.err(
          `checked out: ${w.inline} inline, ${w.hardlink} hardlinked, ${w.reflink} reflinked, ` +
            `${w.copy} copied, ${r.unchanged} unchanged, ${r.removed.length} removed\n`,
        );
      }
    });
}
