/** `pvr app` (alias `ap`): add, install, update, ls, info, rm. */

import { Command } from "./args.ts";
import { addCommandTable, type CliContext, type CommandEntry } from "./context.ts";

/** The subcommands of `app`, each module loaded when the command line names it. */
export const APP_COMMANDS: readonly CommandEntry[] = [
  {
    name: "add",
    aliases: ["aa"],
    description: "add an app from an image, a rootfs or a pvr repo (writes <name>/)",
    load: async () => (await import("./app/add.ts")).appAddCommand,
  },
  {
    name: "install",
    aliases: ["ai"],
    description: "install an app from its src.json (re-render its templates)",
    load: async () => (await import("./app/install.ts")).appInstallCommand,
  },
  {
    name: "update",
    aliases: ["au"],
    description: "update an app's image and install it",
    load: async () => (await import("./app/install.ts")).appUpdateCommand,
  },
  {
    name: "ls",
    aliases: ["l"],
    description: "list the apps (top-level directories with a src.json)",
    load: async () => (await import("./app/ls.ts")).appLsCommand,
  },
  {
    name: "info",
    aliases: ["i"],
    description: "print an app's src.json",
    load: async () => (await import("./app/info.ts")).appInfoCommand,
  },
  {
    name: "rm",
    aliases: ["r"],
    description: "remove an app's directory from the working tree",
    load: async () => (await import("./app/rm.ts")).appRmCommand,
  },
];

/** Builds `app` and its subcommands. */
export function appCommand(ctx: CliContext) {
  const app = new Command("app")
    .alias("ap")
    .description("work with the apps (containers) of the working tree");
  addCommandTable(app, APP_COMMANDS, ctx);
  return app;
}
