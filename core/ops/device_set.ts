/**
 * `pvr device set <NICK|ID> KEY=VALUE…` (spec pvr-reference §8.10): change a device's
 * user-meta (as a user) or device-meta (as the device itself).
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, segment, sessionOf } from "./hub_common.ts";

/** Options of {@link deviceSet}. */
export interface DeviceSetOptions extends PantahubOptions {
  /** The device nick or id. */
  device: string;
  /** The keys to set; `null` stores a null (user-meta) or removes the key (device-meta). */
  meta: Record<string, string | null>;
}

/** What {@link deviceSet} changed. */
export interface DeviceSetResult {
  /** Which map was patched: `user-meta` for a USER token, `device-meta` for a DEVICE one. */
  field: "user-meta" | "device-meta";
  /** The server's answer (user-meta: the patch as stored; device-meta: `{status: "ok"}`). */
  reply: unknown;
}

const Status = z.looseObject({ type: z.string().optional() });

/**
 * Parses `KEY=VALUE` arguments: split at the first `=`; without `=` the value is
 * `null` (spec §8.10). Values are strings.
 *
 * @throws {PvrError} `USAGE` for an empty key
 */
export function parseMetaArgs(args: readonly string[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const a of args) {
    const i = a.indexOf("=");
    const key = i < 0 ? a : a.slice(0, i);
    if (key === "") throw new PvrError("USAGE", `not KEY=VALUE: ${a}`);
    out[key] = i < 0 ? null : a.slice(i + 1);
  }
  return out;
}

/**
 * Asks `GET <baseUrl>/auth/auth_status` who is calling, then
 * `PATCH <baseUrl>/devices/<device>/user-meta` (type USER) or `…/device-meta` (type
 * DEVICE) with `meta`. Any other principal type is an `AUTH` error (the Go pvr did
 * nothing, silently).
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `USAGE` without keys; `AUTH`; `REMOTE` when the server refuses
 * @example
 * ```ts
 * await deviceSet({ configDir, device: "dev1", meta: { location: "lab" } });
 * ```
 */
export async function deviceSet(opts: DeviceSetOptions): Promise<DeviceSetResult> {
  if (opts.device === "") throw new PvrError("USAGE", "<NICK|ID> is required. See --help");
  if (Object.keys(opts.meta).length === 0) {
    throw new PvrError("USAGE", "<KEY1>=<VALUE1> [KEY2]=[VALUE2].. is required. See --help");
  }
  const base = baseUrlOf(opts);
  const session = sessionOf(opts);
  const statusUrl = `${base}/auth/auth_status`;
  const sres = await session.call({ method: "GET", url: statusUrl, anonymous: false });
  if (sres.status !== 200) throw await replyFailure(sres, `GET ${statusUrl}`, "AUTH");
  const { type } = await readJsonReply(sres, Status, `GET ${statusUrl}`);
  const field = type === "USER" ? "user-meta" : type === "DEVICE" ? "device-meta" : undefined;
  if (field === undefined) {
    throw new PvrError(
      "AUTH",
      `device set: a ${type ?? "typeless"} login cannot change device metadata`,
      {
        hint: "log in as a user (user-meta) or as the device (device-meta)",
      },
    );
  }
  const url = `${base}/devices/${segment(opts.device)}/${field}`;
  const res = await session.call({ method: "PATCH", url, json: opts.meta, anonymous: false });
  if (res.status !== 200) throw await replyFailure(res, `updating ${field} of ${opts.device}`);
  const reply = await readJsonReply(res, z.unknown(), `PATCH ${url}`);
  return { field, reply };
}
