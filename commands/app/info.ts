/** `pvr app info <name>` (alias `i`). */

import { Command } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { appInfo } from "../../core/ops/app_info.ts";
import type { CliContext } from "../context.ts";

/** Builds `app info`: the app's `src.json`, 4-space indented, keys sorted. */
export function appInfoCommand(ctx: CliContext) {
  return new Command("info")
    .alias("i")
    .description("print an app's src.json")
    .argument("[name]", "the app")
    .action(async (name) => {
      if (name === undefined) throw new PvrError("USAGE", "an app name is required");
      const r = await appInfo({ ...ctx.repo(), name });
      ctx.out(r.text + "\n");
    });
}
