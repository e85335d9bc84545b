/** `pvr device scan` (and the deprecated top-level `pvr scan`), spec pvr-reference §8.7. */

import { Command } from "../args.ts";
import { PvrError } from "../../core/errors.ts";
import {
  DEFAULT_SCAN_TIMEOUT_MS,
  deviceScan,
  type ScannedDevice,
} from "../../core/ops/device_scan.ts";
import type { CliContext } from "../context.ts";

/** The notice the deprecated `pvr scan` prints first (stdout, as the Go pvr). */
export const SCAN_DEPRECATED =
  "\nDEPRECATED: the pvr scan command is deprecated and will go away in some future release. " +
  "It can now be found as a device subcommand:pvr device scan\n";

/** Go's `%s` of a `[]net.IP`: `[a b c]`. */
function goIpList(addrs: string[]): string {
  return `[${addrs.join(" ")}]`;
}

/**
 * The block the Go pvr prints on stderr for one device: tab-indented lines, `Claim Cmd`
 * for an unclaimed device (one with a challenge), else the Pantahub web page (the staging
 * hub when the device's Pantahub URL contains `api2`) and the clone URL.
 */
export function formatScannedDevice(d: ScannedDevice): string {
  const lines = [
    `\tID: ${d.deviceId} (${d.challenge ? "unclaimed" : "owned"})`,
    `\tHost: ${d.host}`,
    `\tIPv4: ${goIpList(d.ipv4)}`,
    `\tIPv6: ${goIpList(d.ipv6)}`,
    `\tPort: ${d.port}`,
  ];
  if (d.challenge) {
    lines.push(`\tClaim Cmd: pvr claim -c ${d.challenge} ${d.pantahub}/devices/${d.deviceId}`);
  } else {
    const www = d.pantahub.includes("api2")
      ? "https://stage.hub.pantacor.com/u/_/devices/"
      : "https://hub.pantacor.com/u/_/devices/";
    lines.push(`\tPantahub WWW: ${www}${d.deviceId}`);
    lines.push(`\tPVR Clone: ${d.pantahub}/trails/${d.deviceId}`);
  }
  return lines.join("\n") + "\n";
}

/** The last line: how many devices were found. */
export function formatScanSummary(count: number): string {
  return `Pantavisor devices detected in network: ${count} (see above for details)\n`;
}

function secondsArg(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(v) || !(n > 0)) {
    throw new PvrError("USAGE", `--timeout must be a positive number of seconds: ${v}`);
  }
  return n;
}

/** Builds `scan`: the device subcommand, or (`deprecated`) the old top-level one. */
export function scanCommand(ctx: CliContext, deprecated = false) {
  return new Command("scan")
    .description(
      deprecated
        ? "scan the local network for Pantavisor devices (deprecated: use pvr device scan)"
        : "scan the local network for Pantavisor devices (mDNS _ssh._tcp)",
    )
    .option(
      "--timeout <seconds>",
      "how long to listen",
      secondsArg,
      DEFAULT_SCAN_TIMEOUT_MS / 1000,
    )
    .option("--json", "print each device as one JSON object a line on stdout")
    .action(async (opts) => {
      // With --json the notice goes to stderr, so that stdout stays JSON lines.
      if (deprecated) (opts.json ? ctx.err : ctx.out).call(ctx, SCAN_DEPRECATED);
      ctx.err("Scanning ...\n");
      const r = await deviceScan({
        timeoutMs: Math.round(opts.timeout * 1000),
        onDevice: (d) => {
          if (opts.json) ctx.out(JSON.stringify(d) + "\n");
          else ctx.err(formatScannedDevice(d));
        },
      });
      ctx.err(formatScanSummary(r.devices.length));
    });
}

/** The deprecated top-level `pvr scan`. */
export function scanDeprecatedCommand(ctx: CliContext) {
  return scanCommand(ctx, true);
}
