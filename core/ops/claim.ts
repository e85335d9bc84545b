/**
 * `pvr claim [-c CHALLENGE] <device-endpoint | device-id>` (spec pvr-reference §8.4):
 * take ownership of a device that registered itself.
 *
 * @module
 */

import { z } from "zod";
import { PvrError } from "../errors.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import { baseUrlOf, type PantahubOptions, segment, sessionOf } from "./hub_common.ts";

/** Options of {@link claim}. */
export interface ClaimOptions extends PantahubOptions {
  /** A device URL (`https://api.pantahub.com/devices/<id>`) or a bare device id. */
  device: string;
  /** The device's claim challenge (asked for when absent and a prompter is given). */
  challenge?: string;
}

/** What {@link claim} did. */
export interface ClaimResult {
  /** The device URL that was claimed. */
  endpoint: string;
  /** The device's id, nick and owner after the claim (its secret left out). */
  device: { id?: string; nick?: string; owner?: string };
}

const Device = z.looseObject({
  id: z.string().optional(),
  nick: z.string().optional(),
  owner: z.string().optional(),
});

/**
 * `PUT <endpoint>?challenge=<challenge>` with no body, as a logged-in user (no
 * anonymous login). A bare id becomes `<baseUrl>/devices/<id>`: the Go pvr used
 * `https://api.pantahub.com` whatever `--baseurl` said (§13.5 item 35).
 *
 * Permissions: net, read/write of the config dir.
 *
 * @throws {PvrError} `USAGE` without a challenge and without a prompter; `AUTH` when
 *   the challenge does not match or login fails; `REMOTE` on other refusals
 * @example
 * ```ts
 * await claim({ configDir, baseUrl, device: "5f1e…", challenge: "happy-green-cat" });
 * ```
 */
export async function claim(opts: ClaimOptions): Promise<ClaimResult> {
  if (opts.device === "") throw new PvrError("USAGE", "claim: which device? See --help");
  const endpoint = /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.device)
    ? opts.device
    : `${baseUrlOf(opts)}/devices/${segment(opts.device)}`;
  const session = sessionOf(opts);
  let challenge = opts.challenge ?? "";
  if (challenge === "") {
    const p = session.prompter;
    if (p === null) {
      throw new PvrError("USAGE", "claim needs the device's challenge: pass -c CHALLENGE");
    }
    p.notice(`*** Claim with challenge @ ${endpoint} ***`);
    challenge = await p.input("Enter Challenge");
    if (challenge === "") throw new PvrError("USAGE", "claim: no challenge given");
  }
  session.http.addSecret(challenge);
  const url = new URL(endpoint);
  url.searchParams.set("challenge", challenge);
  const res = await session.call({
    method: "PUT",
    url: url.href,
    anonymous: false,
    forbidden: "return",
  });
  if (res.status === 403) {
    const e = await replyFailure(res, "claiming the device", "AUTH");
    throw new PvrError("AUTH", e.message, {
      hint: "the challenge does not match, or the device belongs to someone else",
    });
  }
  if (res.status !== 200) throw await replyFailure(res, "claiming the device");
  const d = await readJsonReply(res, Device, `PUT ${endpoint}`);
  return { endpoint, device: { id: d.id, nick: d.nick, owner: d.owner } };
}
