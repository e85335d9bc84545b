/** `pvr device ps` (and the deprecated top-level `pvr ps`). */

import { Command } from "../args.ts";
import { devicePs } from "../../core/ops/device_ps.ts";
import type { CliContext } from "../context.ts";
import { pantahubOptions } from "../pantahub.ts";
import { formatPsTable } from "./format.ts";

/** The notice the deprecated `pvr ps` prints first (stdout, as the Go pvr). */
export const PS_DEPRECATED =
  "\nDEPRECATED: the pvr ps command is deprecated and will go away in some future release. " +
  "It can now be found as a device subcommand:pvr device ps\n";

/** Builds `ps`: the device subcommand, or (`deprecated`) the old top-level one. */
export function psCommand(ctx: CliContext, deprecated = false) {
  return new Command("ps")
    .description(
      deprecated ? "show owned devices (deprecated: use pvr device ps)" : "show owned devices",
    )
    .option("--json", "print the device summaries as JSON")
    .action(async (opts) => {
      // With --json the notice goes to stderr, so that stdout stays one JSON document.
      if (deprecated) (opts.json ? ctx.err : ctx.out).call(ctx, PS_DEPRECATED);
      const r = await devicePs(pantahubOptions(ctx));
      if (opts.json) ctx.out(JSON.stringify(r.devices) + "\n");
      else ctx.out(formatPsTable(r.devices, Date.now()));
    });
}

/** The deprecated top-level `pvr ps`. */
export function psDeprecatedCommand(ctx: CliContext) {
  return psCommand(ctx, true);
}
