/** `pvr self-upgrade`: replace this pvr binary with the one of the pvr image. */

import { Command } from "./args.ts";
import {
  selfUpgrade,
  type SelfUpgradeResult,
  UPGRADE_IMAGE_ENV,
} from "../core/ops/self_upgrade.ts";
import type { CliContext } from "./context.ts";

/** Builds the `self-upgrade` command. */
export function selfUpgradeCommand(ctx: CliContext) {
  return new Command("self-upgrade")
    .description(
      `replace this (compiled) pvr with the one of the pvr image (env ${UPGRADE_IMAGE_ENV})`,
    )
    .action(async () => {
      const g = ctx.globals();
      const r = await selfUpgrade({
        configDir: g.configDir,
        exePath: Deno.execPath(),
        compiled: (Deno.build as { standalone?: boolean }).standalone === true,
        image: ctx.env(UPGRADE_IMAGE_ENV) || undefined,
        dockerEnv: { HOME: ctx.env("HOME"), DOCKER_CONFIG: ctx.env("DOCKER_CONFIG") },
        progress: (line) => ctx.err(line + "\n"),
      });
      for (const line of upgradeReport(r)) ctx.err(line + "\n");
    });
}

/** The Go pvr's closing lines (all on stderr) for a finished upgrade or a current one. */
export function upgradeReport(r: SelfUpgradeResult): string[] {
  if (r.upToDate) return ["You already have the latest version of PVR :) "];
  return [
    `Pvr installed on ${r.exe}`,
    `Docker layers are going to be cache on: ${r.cacheDir}`,
    "PVR has been updated!",
  ];
}
