/** `pvr device set <NICK|ID> KEY=VALUE...` (alias `se`). */

import { Command } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { deviceSet, parseMetaArgs } from "../../core/ops/device_set.ts";
import type { CliContext } from "../context.ts";
import { goPretty, pantahubOptions } from "../pantahub.ts";

/** Builds `device set`. */
export function deviceSetCommand(ctx: CliContext) {
  return new Command("set")
    .alias("se")
    .description(
      "set device metadata: user-meta when logged in as a user, device-meta as the device " +
        "(KEY without = sets null)",
    )
    .argument("[device]", "NICK or ID")
    .argument("[settings...]", "KEY=VALUE pairs")
    .action(async (device, settings) => {
      if (device === undefined) throw new PvrError("USAGE", "<NICK|ID> is required. See --help");
      if (settings.length === 0) {
        throw new PvrError("USAGE", "<KEY1>=<VALUE1> [KEY2]=[VALUE2].. is required. See --help");
      }
      const r = await deviceSet({ ...pantahubOptions(ctx), device, meta: parseMetaArgs(settings) });
      ctx.out(goPretty(r.reply));
      ctx.out(`${r.field} field Updated Successfully\n`);
    });
}
