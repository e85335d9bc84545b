/** `pvr clone` (alias `c`). */

import { Command } from "./args.ts";
import { clone } from "../core/ops/clone.ts";
import { type CliContext, envFlag } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions } from "./remote.ts";

/** Builds the `clone` command. */
export function cloneCommand(ctx: CliContext) {
  return new Command("clone")
    .alias("c")
    .description("clone a repository into a new directory and check it out")
    .argument("<repository>", "repo dir, export tarball, URL or user/device, with optional #parts")
    .argument("[directory]", "target directory (default: the source's name)")
    .option("-o, --objects <dir>", "objects dir (env PVR_OBJECTS_DIR)")
    .option("-c, --canonical", "write JSON files canonically (env PVR_CANONICAL_JSON)")
    .option("-s, --spec <spec>", "#spec of the initial state", "pantavisor-service-system@1")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (ref, target, opts) => {
      const g = ctx.globals();
      const r = await clone({
        ...remoteOptions(ctx, opts),
        ref,
        target,
        cwd: ctx.io.cwd,
        configDir: g.configDir,
        objectsDir: opts.objects ?? ctx.env("PVR_OBJECTS_DIR"),
        canonical: opts.canonical ?? envFlag(ctx, "PVR_CANONICAL_JSON"),
        spec: opts.spec,
      });
      ctx.out(`Successfully cloned: ${r.dir}\n`);
    });
}
