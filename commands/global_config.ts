/** `pvr global-config`. */

import { Command } from "./args.ts";
import { globalConfig } from "../core/ops/global_config.ts";
import type { CliContext } from "./context.ts";

/** Builds the `global-config` command. */
export function globalConfigCommand(ctx: CliContext) {
  return new Command("global-config")
    .description("show or set global configuration (KEY=VALUE, e.g. AutoUpgrade=false)")
    .argument("[settings...]", "KEY=VALUE pairs")
    .option("--json", "print compact JSON")
    .action(async (settings, opts) => {
      const r = await globalConfig({ configDir: ctx.globals().configDir, set: settings });
      ctx.out(JSON.stringify(r.config, null, opts.json ? undefined : 4) + "\n");
    });
}
