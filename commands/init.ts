/** `pvr init` (alias `i`). */

import { Command } from "./args.ts";
import { init } from "../core/ops/init.ts";
import type { CliContext } from "./context.ts";

/** Builds the `init` command. */
export function initCommand(ctx: CliContext) {
  return new Command("init")
    .alias("i")
    .description("initialize the current directory as a pvr repository")
    .option(
      "-o, --objects <dir>",
      "objects dir (env PVR_OBJECTS_DIR); default <config-dir>/objects",
    )
    .option("-s, --spec <spec>", "#spec of the new state", "pantavisor-service-system@1")
    .action(async (opts) => {
      const g = ctx.globals();
      await init({
        dir: ctx.io.cwd,
        configDir: g.configDir,
        objectsDir: opts.objects ?? ctx.env("PVR_OBJECTS_DIR"),
        spec: opts.spec,
      });
    });
}
