/** `pvr app install <name>` (alias `ai`) and `pvr app update <name>` (alias `au`). */

import { Command, Option } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { appInstall, type AppInstallResult, appUpdate } from "../../core/ops/app_install.ts";
import type { AppSourceType } from "../../core/app/src_json.ts";
import { type CliContext, envFlag } from "../context.ts";
import { imageHooks } from "./image_hooks.ts";

const TYPES = ["docker", "rootfs", "pvr"];

function sourceType(ctx: CliContext, flag: string | undefined): AppSourceType | undefined {
  const t = flag ?? ctx.env("PVR_SOURCE_TYPE");
  if (t === undefined || t === "") return undefined;
  if (!TYPES.includes(t)) {
    throw new PvrError("USAGE", `unknown source type "${t}" (docker, rootfs or pvr)`);
  }
  return t as AppSourceType;
}

/** Prints the notes of an install to stderr. */
function report(ctx: CliContext, r: AppInstallResult): void {
  for (const w of r.warnings) ctx.err(w + "\n");
  for (const s of r.squashes) {
    if (s.upToDate) {
      ctx.err(`${s.app === r.name ? "" : `${s.app}/`}${s.squash}: already up to date.\n`);
    }
  }
}

const NOT_DOCKER = "The application is not a docker app, therefore doesn't need to be installed.\n";

/** Builds `app install`. */
export function appInstallCommand(ctx: CliContext) {
  return new Command("install")
    .alias("ai")
    .description("install an app from its src.json (re-render its templates)")
    .argument("[name]", "the app")
    .option("-u, --username <user>", "registry user (env PVR_REGISTRY_USERNAME)")
    .option("-p, --password <pass>", "registry password (env PVR_REGISTRY_PASSWORD)")
    .option("-t, --type <type>", "docker, rootfs or pvr (env PVR_SOURCE_TYPE)")
    .option("--source <list>", "remote,local (default: src.json docker_source)")
    .option("--base <app>", "install on top of another app's root.squashfs")
    .addOption(new Option("--runlevel <level>", "accepted for compatibility; unused").hideHelp())
    .action(async (name, opts) => {
      if (name === undefined) throw new PvrError("USAGE", "an app name is required");
      const hooks = imageHooks(ctx);
      const r = await appInstall({
        ...ctx.repo(),
        name,
        type: sourceType(ctx, opts.type),
        source: opts.source,
        base: opts.base,
        username: opts.username ?? ctx.env("PVR_REGISTRY_USERNAME"),
        password: opts.password ?? ctx.env("PVR_REGISTRY_PASSWORD"),
        buildRootfs: hooks.buildRootfs,
      });
      if (r.notDocker) {
        ctx.out(NOT_DOCKER);
        return;
      }
      report(ctx, r);
      ctx.out("Application installed\n");
    });
}

/** Builds `app update`. */
export function appUpdateCommand(ctx: CliContext) {
  return new Command("update")
    .alias("au")
    .description("update an app's image and install it")
    .argument("[name]", "the app")
    .option("-u, --username <user>", "registry user (env PVR_REGISTRY_USERNAME)")
    .option("-p, --password <pass>", "registry password (env PVR_REGISTRY_PASSWORD)")
    .option("-t, --type <type>", "docker, rootfs or pvr (env PVR_SOURCE_TYPE)")
    .option("--source <list>", "remote,local (default: src.json docker_source)")
    .option("--platform <platform>", "e.g. linux/arm/v7 (env PVR_PLATFORM)")
    .option("--newbase", "leave overlay mode (env PVR_APP_UPDATE_PATCH_CLEAN)")
    .option("--patch", "overlay mode (env PVR_APP_UPDATE_PATCH)")
    .option("--base <app>", "use another app's root.squashfs as the lower layer")
    .option("--from <image>", "a new source image (env PVR_APP_FROM)")
    .action(async (name, opts) => {
      if (name === undefined) throw new PvrError("USAGE", "an app name is required");
      const hooks = imageHooks(ctx);
      const r = await appUpdate({
        ...ctx.repo(),
        name,
        type: sourceType(ctx, opts.type),
        source: opts.source,
        base: opts.base,
        platform: opts.platform ?? ctx.env("PVR_PLATFORM"),
        newbase: opts.newbase ?? envFlag(ctx, "PVR_APP_UPDATE_PATCH_CLEAN"),
        patch: opts.patch ?? envFlag(ctx, "PVR_APP_UPDATE_PATCH"),
        from: opts.from ?? (ctx.env("PVR_APP_FROM") || undefined),
        username: opts.username ?? ctx.env("PVR_REGISTRY_USERNAME"),
        password: opts.password ?? ctx.env("PVR_REGISTRY_PASSWORD"),
        buildRootfs: hooks.buildRootfs,
        refreshSource: hooks.refreshSource,
      });
      ctx.err(r.overlay ? "Update ovl: root.ovl.squashfs\n" : "Update base: root.squashfs\n");
      if (!r.refreshed) {
        ctx.err("WARN: image support is not available: the image was not re-resolved\n");
      }
      if (r.notDocker) {
        ctx.out(NOT_DOCKER);
        return;
      }
      report(ctx, r);
      ctx.err(`Searching for dependencies of ${r.name}\n`);
      for (const d of r.dependents) ctx.err(`Updated ${d} (its base is ${r.name})\n`);
      ctx.out("Application updated\n");
    });
}
