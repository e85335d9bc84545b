/**
 * `pvr device get <NICK|ID | OWNER/NICK>` (spec pvr-reference §8.9).
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, segment, sessionOf } from "./hub_common.ts";

/** Options of {@link deviceGet}. */
export interface DeviceGetOptions extends PantahubOptions {
  /** A device nick or id, or `OWNER/NICK` for another user's public device. */
  device: string;
}

/** What {@link deviceGet} found. */
export interface DeviceGetResult {
  /** The device document as the server sent it (`id`, `prn`, `nick`, `owner-nick`…). */
  device: Record<string, unknown>;
}

/**
 * `GET <baseUrl>/devices/<nick>[?owner-nick=<owner>]`, anonymous access allowed.
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `USAGE` for an empty name or more than one `/`; `REMOTE` when the
 *   server answers with an error (unknown nick: HTTP 400, unknown id: 404)
 * @example
 * ```ts
 * const { device } = await deviceGet({ configDir, device: "alice/dev1" });
 * ```
 */
export async function deviceGet(opts: DeviceGetOptions): Promise<DeviceGetResult> {
  const parts = opts.device.split("/");
  if (opts.device === "" || parts.length > 2 || parts.some((p) => p === "")) {
    throw new PvrError("USAGE", "Device ID or Nick is required. See --help", {
      hint: "give NICK, ID or OWNER/NICK",
    });
  }
  const [owner, nick] = parts.length === 2 ? parts : [undefined, parts[0]];
  const url = new URL(`${baseUrlOf(opts)}/devices/${segment(nick)}`);
  if (owner !== undefined) url.searchParams.set("owner-nick", owner);
  const res = await sessionOf(opts).call({ method: "GET", url: url.href, anonymous: true });
  if (res.status !== 200) throw await replyFailure(res, `getting the device ${opts.device}`);
  const device = await readJsonReply(res, z.record(z.string(), z.unknown()), `GET ${url.href}`);
  return { device };
}
