/**
 * Plain-`fetch` helpers for tests that drive the stand-in Pantahub: one call that
 * always consumes the body, login, and a seeded user + device + trail.
 *
 * @module
 */

import { sha256Bytes } from "../../../core/store/hash.ts";
import type { DeviceRecord, Hub } from "./server.ts";

/** A finished HTTP exchange with its body read. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  // deno-lint-ignore no-explicit-any
  json<T = any>(): T;
}

/** Options of {@link call}. */
export interface CallOptions {
  /** Bearer token. */
  token?: string;
  /** JSON body (serialised with `JSON.stringify`, `Content-Type: application/json`). */
  json?: unknown;
  /** Raw body (no content type unless given in `headers`). */
  body?: BodyInit | Uint8Array;
  headers?: Record<string, string>;
}

/**
 * Sends one request to `url` (absolute, or a path joined to the hub's base) and reads
 * the whole body.
 */
export async function call(
  hub: Hub,
  method: string,
  url: string,
  o: CallOptions = {},
): Promise<Reply> {
  const headers = new Headers(o.headers);
  if (o.token !== undefined) headers.set("Authorization", `Bearer ${o.token}`);
  let body = o.body as BodyInit | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  const res = await fetch(url.startsWith("http") ? url : hub.url + url, {
    method,
    headers,
    body,
    redirect: "manual",
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  return {
    status: res.status,
    headers: res.headers,
    bytes,
    text,
    json: () => JSON.parse(text),
  };
}

/** Logs in through `POST /auth/login` and returns the token (throws unless 200). */
export async function login(hub: Hub, username: string, password: string): Promise<string> {
  const r = await call(hub, "POST", "/auth/login", { json: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
  return r.json().token;
}

/** The sha256 and bytes of a text. */
export function blobOf(text: string): { sha: string; bytes: Uint8Array<ArrayBuffer> } {
  const bytes = new TextEncoder().encode(text);
  return { sha: sha256Bytes(bytes), bytes };
}

/** A seeded user with a device whose trail holds a two-file state. */
export interface Seeded {
  userToken: string;
  device: DeviceRecord;
  deviceToken: string;
  /** The files of the factory state: key → bytes and sha. */
  files: Record<string, { sha: string; bytes: Uint8Array<ArrayBuffer> }>;
  /** The factory state. */
  state: Record<string, string>;
}

/** Seeds user `nick` (password `pw`), a device `dev1` and its trail (rev 0). */
export async function seedUserDevice(hub: Hub, nick = "alice", pw = "secret"): Promise<Seeded> {
  hub.addUser(nick, pw);
  const device = hub.addDevice({ owner: nick, nick: "dev1", secret: "s3cret" });
  const files = { "bsp/kernel.img": blobOf("kernel-bytes"), "app/root.squashfs": blobOf("rootfs") };
  const state: Record<string, string> = { "#spec": "pantavisor-service-system@1" };
  for (const [key, f] of Object.entries(files)) {
    await hub.addObject(nick, f.bytes, { name: key });
    state[key] = f.sha;
  }
  await hub.addTrail(device.id, state);
  return {
    userToken: await login(hub, nick, pw),
    device,
    deviceToken: await login(hub, device.prn, "s3cret"),
    files,
    state,
  };
}
