/**
 * `pvr device create [NICK]` (spec pvr-reference §8.8): a new device on Pantahub whose
 * factory state (rev 0) is this repository's committed state.
 *
 * @module
 */

import { z } from "zod";
import { canonicalJson } from "../model/canonical.ts";
import { MemoryTokenStore } from "../remote/pantahub/token_store.ts";
import { PantahubSession, TokenReply } from "../remote/pantahub/session.ts";
import { readJsonReply, replyFailure } from "../remote/pantahub/reply.ts";
import type { PantahubCaller } from "../remote/pantahub/types.ts";
import type { TransferOptions } from "../remote/pantahub/transfer.ts";
import { objectsUploader } from "../remote/pantahub/upload.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { baseUrlOf, type PantahubOptions, sessionOf } from "./hub_common.ts";

/** Sends the repository's objects to `<baseUrl>/objects/` (the object transfer's hook). */
export type UploadObjectsHook = (caller: PantahubCaller, baseUrl: string) => Promise<void>;

/** Options of {@link deviceCreate}. */
export interface DeviceCreateOptions extends PantahubOptions, RepoOptions {
  /** The new device's nick (default: the server picks one, e.g. `proper_sponge_cat`). */
  nick?: string;
  /**
   * Uploads the objects of the committed state before the device is created. Default:
   * every object, `force` on (as the Go pvr), with `transfer`'s settings.
   */
  uploadObjects?: UploadObjectsHook;
  /** Settings of the default upload (jobs, progress, retries). */
  transfer?: TransferOptions;
}

/** What {@link deviceCreate} made. */
export interface DeviceCreateResult {
  /** The device document the server answered with (it includes the device `secret`). */
  device: Record<string, unknown>;
  id: string;
  prn: string;
  nick: string;
}

const CreatedDevice = z.looseObject({
  id: z.string(),
  prn: z.string().min(1),
  nick: z.string(),
  secret: z.string().min(1),
});

/**
 * Creates a device from the repository in `dir`:
 *
 * 1. uploads the committed state's objects (`uploadObjects`);
 * 2. `POST <baseUrl>/devices/` with `{"nick": …}` (or `{}`) through the session — with
 *    its current token, refreshed or obtained by login as needed (the Go pvr sent a
 *    token read before the call and could loop on an expired one, §13.2 item 13);
 * 3. `POST <baseUrl>/auth/login` as the new device (its `prn` and `secret`);
 * 4. `POST <baseUrl>/trails/` with the device's token and the committed state
 *    (canonical JSON) as the factory state.
 *
 * Permissions: read (repository, objects, config dir), write (config dir), net.
 *
 * @throws {PvrError} `NOT_A_REPO`; `AUTH`; `REMOTE` when a step is refused (the
 *   message says which: creating the device, the device login, creating the trail)
 * @example
 * ```ts
 * const r = await deviceCreate({ dir: Deno.cwd(), configDir, nick: "lab-01" });
 * console.log(r.id);
 * ```
 */
export async function deviceCreate(opts: DeviceCreateOptions): Promise<DeviceCreateResult> {
  const base = baseUrlOf(opts);
  const repo = await openRepo(opts);
  const state = repo.pristine;
  const session = sessionOf(opts);
  const upload = opts.uploadObjects ??
    objectsUploader({ ...opts.transfer, state, store: repo.store });
  await upload(session, base);

  const res = await session.call({
    method: "POST",
    url: `${base}/devices/`,
    json: opts.nick ? { nick: opts.nick } : {},
    anonymous: false,
  });
  if (res.status !== 200) throw await replyFailure(res, "creating the device");
  const created = await readJsonReply(res, CreatedDevice, `POST ${base}/devices/`);
  session.http.addSecret(created.secret);

  const login = await session.http.request({
    method: "POST",
    url: `${base}/auth/login`,
    buffer: true,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      Accept: "application/json; charset=utf-8",
    },
    body: JSON.stringify({ password: created.secret, username: created.prn }),
  });
  if (login.status !== 200) {
    throw await replyFailure(login, `logging in as the new device ${created.nick}`);
  }
  const { token } = await readJsonReply(login, TokenReply, `POST ${base}/auth/login`);
  session.http.addSecret(token);

  const asDevice = new PantahubSession({
    configDir: opts.configDir,
    accessToken: token,
    tokens: new MemoryTokenStore(),
    http: session.http,
  });
  const trail = await asDevice.call({
    method: "POST",
    url: `${base}/trails/`,
    body: canonicalJson(state),
    headers: { "Content-Type": "application/json; charset=utf-8" },
    anonymous: false,
  });
  if (trail.status !== 200) {
    throw await replyFailure(trail, `creating the trail of the new device ${created.nick}`);
  }
  await trail.body?.cancel();
  return { device: created, id: created.id, prn: created.prn, nick: created.nick };
}
