/** `pvr app add <name> --from <image>` (alias `aa`), docker apps (spec §9.3). */

import { Command, Option } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { appAdd, readConfigJson } from "../../core/ops/app_add.ts";
import type { CliContext } from "../context.ts";
import { imageHookOptions } from "./image_hooks.ts";
import { remoteOptions } from "../remote.ts";

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A comma-separated environment variable as a list (unset or empty: none). */
function envList(ctx: CliContext, name: string): string[] {
  const v = ctx.env(name);
  return v === undefined || v === "" ? [] : v.split(",");
}

/** `~` and `~/…` expanded with `HOME`. */
function expandHome(ctx: CliContext, path: string): string {
  const home = ctx.env("HOME");
  if (home === undefined || home === "") return path;
  if (path === "~") return home;
  return path.startsWith("~/") ? `${home}/${path.slice(2)}` : path;
}

/** Builds `app add`. */
export function appAddCommand(ctx: CliContext) {
  return new Command("add")
    .alias("aa")
    .description("add an app from an image, a rootfs or a pvr repo (writes <name>/)")
    .argument("[name]", "the app")
    .option(
      "--from <image>",
      "docker: nginx:1.25, host:port/img@sha256:…, oci:<dir>; rootfs: a directory, " +
        "tarball or URL; pvr: <repo>#<part> (env PVR_FROM)",
    )
    .option("-t, --type <type>", "source type: docker, rootfs or pvr (env PVR_SOURCE_TYPE)")
    .option("--source <list>", "where to look: remote,local (env PVR_SOURCE)")
    .option(
      "--platform <platform>",
      "wanted platform, e.g. linux/arm/v7; repeatable or a comma list (env PVR_PLATFORM)",
      collect,
    )
    .option("-u, --username <user>", "registry user (env PVR_REGISTRY_USERNAME)")
    .option("-p, --password <pass>", "registry password (env PVR_REGISTRY_PASSWORD)")
    .option("--group <group>", "args.PV_GROUP (env PVR_GROUP)")
    .option("--runlevel <level>", "args.PV_RUNLEVEL, deprecated: use --group (env PVR_RUNLEVEL)")
    .option("--restart-policy <policy>", "args.PV_RESTART_POLICY (env PVR_RESTART_POLICY)")
    .option("--status-goal <goal>", "args.PV_STATUS_GOAL (env PVR_STATUS_GOAL)")
    .addOption(
      new Option(
        "--base <app>",
        "overlay on another docker app: root.ovl.squashfs (env PVR_APP_ADD_BASE)",
      ),
    )
    .option(
      "--config-json <file>",
      "JSON object merged into docker_config (env PVR_CONFIG_JSON)",
    )
    .option(
      "--arg <K=V>",
      "template argument; repeatable (env PVR_TEMPLATE_ARG, comma list)",
      collect,
    )
    .option(
      "--volume <path:spec>",
      "persistence: permanent, revision or boot[@disk]; repeatable (env PVR_PERSISTENCE_VOLUME)",
      collect,
    )
    .option(
      "-o, --format-options <opts>",
      "mksquashfs options, default -comp xz (env PVR_FORMAT_OPTIONS)",
    )
    .action(async (name, opts) => {
      if (name === undefined) throw new PvrError("USAGE", "an app name is required");
      const from = opts.from ?? ctx.env("PVR_FROM");
      if (!from) throw new PvrError("USAGE", " --from flag is required (e.g. --from=nginx)");
      const type = opts.type ?? (ctx.env("PVR_SOURCE_TYPE") || "docker");
      if (type !== "docker" && type !== "rootfs" && type !== "pvr") {
        throw new PvrError("USAGE", `unknown source type "${type}" (docker, rootfs or pvr)`);
      }
      const configPath = opts.configJson ?? (ctx.env("PVR_CONFIG_JSON") || undefined);
      const configJson = configPath === undefined
        ? undefined
        : await readConfigJson(expandHome(ctx, configPath));
      const r = await appAdd({
        ...ctx.repo(),
        ...imageHookOptions(ctx),
        name,
        from,
        type,
        source: opts.source ?? (ctx.env("PVR_SOURCE") || undefined),
        platforms: opts.platform ?? envList(ctx, "PVR_PLATFORM"),
        username: opts.username ?? ctx.env("PVR_REGISTRY_USERNAME"),
        password: opts.password ?? ctx.env("PVR_REGISTRY_PASSWORD"),
        group: opts.group ?? (ctx.env("PVR_GROUP") || undefined),
        runlevel: opts.runlevel ?? (ctx.env("PVR_RUNLEVEL") || undefined),
        restartPolicy: opts.restartPolicy ?? (ctx.env("PVR_RESTART_POLICY") || undefined),
        statusGoal: opts.statusGoal ?? (ctx.env("PVR_STATUS_GOAL") || undefined),
        base: opts.base ?? (ctx.env("PVR_APP_ADD_BASE") || undefined),
        configJson,
        args: opts.arg ?? envList(ctx, "PVR_TEMPLATE_ARG"),
        volumes: opts.volume ?? envList(ctx, "PVR_PERSISTENCE_VOLUME"),
        formatOptions: opts.formatOptions ?? (ctx.env("PVR_FORMAT_OPTIONS") || undefined),
        remote: type === "pvr" ? remoteOptions(ctx) : undefined,
      });
      if (r.fetched !== undefined) {
        for (const o of r.fetched) {
          ctx.err(`${o.key.slice(0, 15)} ${o.cached ? "[OK cache]" : "[OK]"}\n`);
        }
        ctx.out(`\nImported ${r.imported} objects to ${r.objectsDir}\n`);
      }
      if (r.notDocker) {
        ctx.out("The application is not a docker app, therefore doesn't need to be installed.\n");
      }
      for (const w of r.warnings) ctx.err(w + "\n");
      for (const s of r.squashes) {
        if (s.upToDate) ctx.err(`${s.squash}: already up to date.\n`);
      }
      ctx.out("Application added\n");
    });
}
