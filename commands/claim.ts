/** `pvr claim [-c CHALLENGE] <device-endpoint | device-id>` (alias `cl`). */

import { Command } from "./args.ts";
import { claim } from "../core/ops/claim.ts";
import type { CliContext } from "./context.ts";
import { pantahubOptions } from "./pantahub.ts";

/** Builds the `claim` command. */
export function claimCommand(ctx: CliContext) {
  return new Command("claim")
    .alias("cl")
    .description(
      "claim ownership of a device that registered itself, with its secret challenge " +
        "(asked for when not given)",
    )
    .argument("<device>", "device URL (https://api.pantahub.com/devices/<id>) or device id")
    .option("-c, --challenge <challenge>", "the device's secret challenge")
    .action(async (device, opts) => {
      await claim({ ...pantahubOptions(ctx), device, challenge: opts.challenge });
    });
}
