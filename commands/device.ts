/** `pvr device` (alias `dev`): ps, logs, scan, create, get, set. */

import { Command } from "@commander-js/extra-typings";
import type { CliContext } from "./context.ts";
import { psCommand } from "./device/ps.ts";
import { logsCommand } from "./device/logs.ts";
import { scanCommand } from "./device/scan.ts";
import { deviceCreateCommand } from "./device/create.ts";
import { deviceGetCommand } from "./device/get.ts";
import { deviceSetCommand } from "./device/set.ts";

/** Builds `device` and its subcommands, in the Go pvr's order. */
export function deviceCommand(ctx: CliContext) {
  const device = new Command("device")
    .alias("dev")
    .description("work with your Pantahub devices");
  for (
    const sub of [
      psCommand(ctx),
      logsCommand(ctx),
      scanCommand(ctx),
      deviceCreateCommand(ctx),
      deviceGetCommand(ctx),
      deviceSetCommand(ctx),
    ]
  ) {
    device.addCommand(
      sub.exitOverride().configureOutput({
        writeOut: (s) => ctx.io.stdout.write(s),
        writeErr: (s) => ctx.io.stderr.write(s),
        outputError: (s, write) => write(s.startsWith("error:") ? `ERROR: ${s.slice(7)}` : s),
      }),
    );
  }
  return device;
}
