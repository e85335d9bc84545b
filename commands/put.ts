/** `pvr put` (alias `p`). */

import { Command } from "./args.ts";
import { put } from "../core/ops/put.ts";
import type { CliContext } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions, reportUpload } from "./remote.ts";

/** Builds the `put` command. */
export function putCommand(ctx: CliContext) {
  return new Command("put")
    .alias("p")
    .description(
      "put the committed state and its objects into a repo dir (json + objects/) or a remote step",
    )
    .argument("[target]", "directory or URL (default: .pvr/config DefaultPutUrl)")
    .option("-f, --force", "send objects even if the target has them")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (target, opts) => {
      const r = await put({
        ...ctx.repo(),
        ...remoteOptions(ctx, opts),
        target,
        force: opts.force,
      });
      if (r.objects) reportUpload(ctx, r.objects, opts.quiet ?? false);
      else ctx.err(`put ${r.sent} objects (${r.skipped} already there) to ${r.target}\n`);
    });
}
