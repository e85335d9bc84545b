/** `pvr app` (alias `ap`): add, install, update, ls, info, rm. */

import { Command } from "@commander-js/extra-typings";
import type { CliContext } from "./context.ts";
import { appAddCommand } from "./app/add.ts";
import { appLsCommand } from "./app/ls.ts";
import { appInfoCommand } from "./app/info.ts";
import { appRmCommand } from "./app/rm.ts";
import { appInstallCommand, appUpdateCommand } from "./app/install.ts";

/** Builds `app` and its subcommands. */
export function appCommand(ctx: CliContext) {
  const app = new Command("app")
    .alias("ap")
    .description("work with the apps (containers) of the working tree");
  for (
    const sub of [
      appAddCommand(ctx),
      appInstallCommand(ctx),
      appUpdateCommand(ctx),
      appLsCommand(ctx),
      appInfoCommand(ctx),
      appRmCommand(ctx),
    ]
  ) {
    app.addCommand(
      sub.exitOverride().configureOutput({
        writeOut: (s) => ctx.io.stdout.write(s),
        writeErr: (s) => ctx.io.stderr.write(s),
        outputError: (s, write) => write(s.startsWith("error:") ? `ERROR: ${s.slice(7)}` : s),
      }),
    );
  }
  return app;
}
