/** `pvr putobjects` (its Go alias `po` is shadowed by post). */

import { Command } from "./args.ts";
import { putObjects } from "../core/ops/putobjects.ts";
import type { CliContext } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions, reportUpload } from "./remote.ts";

/** Builds the `putobjects` command. */
export function putObjectsCommand(ctx: CliContext) {
  return new Command("putobjects")
    .description("send every object of the committed state to an objects endpoint")
    .argument("<objects-endpoint>", "e.g. https://api.pantahub.com/objects")
    .option("-f, --force", "send objects even if the server has them")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (endpoint, opts) => {
      const r = await putObjects({
        ...ctx.repo(),
        ...remoteOptions(ctx, opts),
        endpoint,
        force: opts.force,
      });
      reportUpload(ctx, r.objects, opts.quiet ?? false);
    });
}
