/**
 * `pvr device ps` (and the deprecated `pvr ps`, spec pvr-reference §8.5): the devices
 * you own, as Pantahub summarises them.
 *
 * @module
 */

import { z } from "zod";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** Options of {@link devicePs}. */
export type DevicePsOptions = PantahubOptions;

/** One device summary (`GET /trails/summary`); other fields the server sends are kept. */
export interface DeviceSummary {
  deviceid: string;
  device?: string;
  "device-nick"?: string;
  revision?: number;
  "progress-revision"?: number;
  "state-sha"?: string;
  status?: string;
  "status-msg"?: string;
  /** RFC 3339: the later of last seen and last modified. */
  timestamp?: string;
  "real-ip"?: string;
  [field: string]: unknown;
}

/** What {@link devicePs} found. */
export interface DevicePsResult {
  devices: DeviceSummary[];
}

const Summary = z.looseObject({
  deviceid: z.string(),
  device: z.string().optional(),
  "device-nick": z.string().optional(),
  revision: z.number().optional(),
  "progress-revision": z.number().optional(),
  "state-sha": z.string().optional(),
  status: z.string().optional(),
  "status-msg": z.string().optional(),
  timestamp: z.string().optional(),
  "real-ip": z.string().optional(),
});

/**
 * `GET <baseUrl>/trails/summary` as a logged-in user (no anonymous login). The
 * summaries are returned in the server's order.
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `AUTH` when login is needed and impossible; `REMOTE` on errors and
 *   malformed answers
 * @example
 * ```ts
 * for (const d of (await devicePs({ configDir })).devices) console.log(d["device-nick"]);
 * ```
 */
export async function devicePs(opts: DevicePsOptions): Promise<DevicePsResult> {
  const url = `${baseUrlOf(opts)}/trails/summary`;
  const res = await sessionOf(opts).call({ method: "GET", url, anonymous: false });
  if (res.status !== 200) throw await replyFailure(res, "getting the device list");
  const devices = await readJsonReply(res, z.array(Summary).nullable(), `GET ${url}`, {
    raw: true,
  });
  return { devices: (devices ?? []) as DeviceSummary[] };
}
