/** `pvr device logs [filter]` (alias `log`; and the deprecated top-level `pvr logs`). */

import { Command, Option } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import { deviceLogs } from "../../core/ops/device_logs.ts";
import type { CliContext } from "../context.ts";
import { pantahubOptions } from "../pantahub.ts";
import { formatLogLine } from "./format.ts";

/** The notice the deprecated `pvr logs` prints first (stdout, as the Go pvr). */
export const LOGS_DEPRECATED =
  "\nDEPRECATED: the pvr logs command is deprecated and will go away in some future release. " +
  "It can now be found as a device subcommand:pvr device logs\n";

function intArg(name: string) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new PvrError("USAGE", `--${name} must be a whole number: ${v}`);
    return Number(v);
  };
}

/** Builds `logs`: the device subcommand, or (`deprecated`) the old top-level one. */
export function logsCommand(ctx: CliContext, deprecated = false) {
  return new Command("logs")
    .alias("log")
    .description(
      (deprecated ? "(deprecated: use pvr device logs) " : "") +
        "show the logs of devices you own; with --follow, keep streaming new entries",
    )
    .argument("[filter]", "<deviceid|devicenick>[,…][/source][@Level][#Platform]")
    .addOption(
      new Option(
        "-f, --from <time>",
        "start: YYYY-MM-DD[Thh:mm:ss] (UTC), RFC 3339, or a duration ago (PT1H)",
      )
        .env("PVR_LOGS_FROM_DATE"),
    )
    .addOption(
      new Option("-t, --to <time>", "end: the same forms, or a duration after --from")
        .env("PVR_LOGS_TO_DATE"),
    )
    .addOption(
      new Option(
        "-r, --rev <rev>",
        "only this revision (-1: any; then --from defaults to 1 minute ago)",
      )
        .env("PVR_LOGS_REV").argParser(intArg("rev")).default(-1),
    )
    .addOption(
      new Option("-d, --device <devices>", "comma-separated device ids or nicks").env(
        "PVR_LOGS_DEVICE",
      ),
    )
    .addOption(
      new Option("--source <sources>", "comma-separated sources, e.g. /pantavisor.log")
        .env("PVR_LOGS_SOURCE"),
    )
    .addOption(new Option("--src <sources>", "same as --source").hideHelp())
    .addOption(
      new Option("-l, --level <levels>", "comma-separated levels, e.g. DEBUG,INFO").env(
        "PVR_LOGS_LEVEL",
      ),
    )
    .addOption(
      new Option("-p, --platform <platforms>", "comma-separated platforms").env(
        "PVR_LOGS_PLATFORM",
      ),
    )
    .addOption(
      new Option("-s, --template <template>", "json: one JSON entry a line; anything else: text")
        .env("PVR_LOGS_TEMPLATE"),
    )
    .option("--json", "one JSON entry a line")
    .option("--follow", "keep polling for new entries until interrupted")
    .addOption(
      new Option("-n, --limit <n>", "stop after this many entries").argParser(intArg("limit")),
    )
    .action(async (filter, opts) => {
      const json = opts.json === true || opts.template === "json";
      if (deprecated) (json ? ctx.err : ctx.out).call(ctx, LOGS_DEPRECATED);
      await deviceLogs({
        ...pantahubOptions(ctx),
        filter,
        from: opts.from,
        to: opts.to,
        rev: opts.rev,
        devices: opts.device,
        source: opts.source ?? opts.src,
        level: opts.level,
        platform: opts.platform,
        follow: opts.follow,
        limit: opts.limit,
        onEntry: (e) => ctx.out((json ? JSON.stringify(e) : formatLogLine(e)) + "\n"),
      });
    });
}

/** The deprecated top-level `pvr logs`. */
export function logsDeprecatedCommand(ctx: CliContext) {
  return logsCommand(ctx, true);
}
