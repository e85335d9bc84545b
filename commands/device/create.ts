/** `pvr device create [NICK]` (alias `cr`). */

import { Command } from "../args.ts";
import { deviceCreate } from "../../core/ops/device_create.ts";
import type { CliContext } from "../context.ts";
import { goPretty, pantahubOptions } from "../pantahub.ts";
import { blobTransport, JOBS_HELP, parseJobs, QUIET_HELP } from "../remote.ts";
import { transferReporter } from "../progress.ts";

/** Builds `device create`. */
export function deviceCreateCommand(ctx: CliContext) {
  return new Command("create")
    .alias("cr")
    .description(
      "create a device on Pantahub whose factory state is this repository's committed state",
    )
    .argument("[nick]", "the device's nick (default: Pantahub picks one)")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (nick, opts) => {
      const r = await deviceCreate({
        ...ctx.repo(),
        ...pantahubOptions(ctx),
        nick,
        transfer: {
          ...blobTransport(ctx),
          jobs: parseJobs(ctx, opts.jobs),
          reporter: transferReporter(ctx.io.stderr, opts.quiet ?? false),
        },
      });
      ctx.out(goPretty(r.device));
      ctx.out("Device Created Successfully\n");
    });
}
