/** `pvr device get <NICK|ID | OWNER/NICK>`. */

import { Command } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { deviceGet } from "../../core/ops/device_get.ts";
import type { CliContext } from "../context.ts";
import { goPretty, pantahubOptions } from "../pantahub.ts";

/** Builds `device get`. */
export function deviceGetCommand(ctx: CliContext) {
  return new Command("get")
    .description("show a device (yours, or another user's public one as OWNER/NICK)")
    .argument("[device]", "NICK, ID or OWNER/NICK")
    .option("--json", "print compact JSON")
    .action(async (device, opts) => {
      if (device === undefined) {
        throw new PvrError("USAGE", "Device ID or Nick is required. See --help");
      }
      const r = await deviceGet({ ...pantahubOptions(ctx), device });
      ctx.out(opts.json ? JSON.stringify(r.device) + "\n" : goPretty(r.device));
    });
}
