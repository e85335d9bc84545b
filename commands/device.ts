/** `pvr device` (alias `dev`): ps, logs, scan, create, get, set. */

import { Command } from "./args.ts";
import { addCommandTable, type CliContext, type CommandEntry } from "./context.ts";

/**
 * The subcommands of `device`, in the Go pvr's order, each module loaded when the
 * command line names it.
 */
export const DEVICE_COMMANDS: readonly CommandEntry[] = [
  {
    name: "ps",
    aliases: [],
    description: "show owned devices",
    load: async () => (await import("./device/ps.ts")).psCommand,
  },
  {
    name: "logs",
    aliases: ["log"],
    description: "show the logs of devices you own; with --follow, keep streaming new entries",
    load: async () => (await import("./device/logs.ts")).logsCommand,
  },
  {
    name: "scan",
    aliases: [],
    description: "scan the local network for Pantavisor devices (mDNS _ssh._tcp)",
    load: async () => (await import("./device/scan.ts")).scanCommand,
  },
  {
    name: "create",
    aliases: ["cr"],
    description:
      "create a device on Pantahub whose factory state is this repository's committed state",
    load: async () => (await import("./device/create.ts")).deviceCreateCommand,
  },
  {
    name: "get",
    aliases: [],
    description: "show a device (yours, or another user's public one as OWNER/NICK)",
    load: async () => (await import("./device/get.ts")).deviceGetCommand,
  },
  {
    name: "set",
    aliases: ["se"],
    description:
      "set device metadata: user-meta when logged in as a user, device-meta as the device (KEY without = sets null)",
    load: async () => (await import("./device/set.ts")).deviceSetCommand,
  },
];

/** Builds `device` and its subcommands. */
export function deviceCommand(ctx: CliContext) {
  const device = new Command("device")
    .alias("dev")
    .description("work with your Pantahub devices");
  addCommandTable(device, DEVICE_COMMANDS, ctx);
  return device;
}
