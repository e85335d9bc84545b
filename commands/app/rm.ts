/** `pvr app rm <name>` (alias `r`). */

import { Command } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { appRm } from "../../core/ops/app_rm.ts";
import type { CliContext } from "../context.ts";

/** Builds `app rm`: removes `<repo>/<name>` (nothing is committed). */
export function appRmCommand(ctx: CliContext) {
  return new Command("rm")
    .alias("r")
    .description("remove an app's directory from the working tree")
    .argument("[name]", "the app")
    .action(async (name) => {
      if (name === undefined) throw new PvrError("USAGE", "an app name is required");
      await appRm({ ...ctx.repo(), name });
    });
}
