/**
 * Fixtures for the remote tests: a stand-in Pantahub with a user, a device and its
 * trail (objects of chosen sizes), a repository, and the remote options (a real
 * `PantahubSession` with the user's token, fast retries) that the operations take.
 */

import { HttpClient } from "../../core/remote/http.ts";
import { PantahubSession } from "../../core/remote/pantahub/session.ts";
import type { RemoteOptions } from "../../core/remote/pantahub/remote.ts";
import { sha256Bytes } from "../../core/store/hash.ts";
import { type Hub, type HubOptions, startHub } from "./hub/server.ts";
import { login } from "./hub/testing.ts";
import { makeRepo, type TestRepo } from "./cli.ts";

/** Deterministic pseudo-random bytes (xorshift), so that every object differs. */
export function bytesOf(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    if (i + 1 < size) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}

/** A remote test setup. */
export interface RemoteFixture extends AsyncDisposable {
  hub: Hub;
  /** The user's access token (alice). */
  token: string;
  /** The device id (= trail id). */
  deviceId: string;
  /** `<hub>/trails/<id>`. */
  trailUrl: string;
  /** The files of the factory state: key → bytes. */
  files: Record<string, Uint8Array<ArrayBuffer>>;
  /** The factory state (plain). */
  state: Record<string, unknown>;
  /** A repository (initialised) with its own config dir. */
  repo: TestRepo;
  /** Remote options with a session on `token` and fast retries. */
  remote: RemoteOptions;
  /** The environment for CLI runs: config dir and `PVR_ACCESSTOKEN`. */
  env: Record<string, string>;
  /** The sha256 of bytes. */
  sha(bytes: Uint8Array): string;
}

/** Options of {@link remoteFixture}. */
export interface RemoteFixtureOptions {
  /** Files of the factory state (default two small ones and a JSON file). */
  files?: Record<string, Uint8Array<ArrayBuffer>>;
  /** Hub options. */
  hub?: HubOptions;
  /** Make the device public. */
  public?: boolean;
}

/** A session for tests: the given token, quick backoff. */
export function testSession(configDir: string, token?: string): PantahubSession {
  return new PantahubSession({
    configDir,
    accessToken: token,
    http: new HttpClient({ baseDelayMs: 5, maxDelayMs: 20 }),
  });
}

/** Fast retry settings for transfers in tests. */
export const FAST_RETRY = { attempts: 5, baseDelayMs: 5, maxDelayMs: 20 };

/**
 * Starts a hub with user `alice` (password `secret`), device `box` and its trail holding
 * `files` (uploaded), and makes an initialised repository.
 */
export async function remoteFixture(opts: RemoteFixtureOptions = {}): Promise<RemoteFixture> {
  const hub = await startHub(opts.hub);
  const repo = await makeRepo();
  try {
    hub.addUser("alice", "secret");
    const device = hub.addDevice({ owner: "alice", nick: "box", public: opts.public });
    const files = opts.files ?? {
      "bsp/kernel.img": bytesOf(3000, 1),
      "app/root.squashfs": bytesOf(5000, 2),
      "app/config.txt": new TextEncoder().encode("a=1\n"),
    };
    const state: Record<string, unknown> = {
      "#spec": "pantavisor-service-system@1",
      "bsp/run.json": { linux: "kernel.img" },
    };
    for (const [key, bytes] of Object.entries(files)) {
      const rec = await hub.addObject("alice", bytes, { name: key });
      state[key] = rec.sha256sum;
    }
    await hub.addTrail(device.id, state);
    const token = await login(hub, "alice", "secret");
    return {
      hub,
      token,
      deviceId: device.id,
      trailUrl: `${hub.url}/trails/${device.id}`,
      files,
      state,
      repo,
      remote: {
        caller: testSession(repo.configDir, token),
        retry: FAST_RETRY,
        repoBaseUrl: hub.url,
      },
      env: { ...repo.env, PVR_ACCESSTOKEN: token },
      sha: sha256Bytes,
      async [Symbol.asyncDispose]() {
        await hub.close();
        await repo.cleanup();
      },
    };
  } catch (err) {
    await hub.close();
    await repo.cleanup();
    throw err;
  }
}

/** The requests of `hub` as `METHOD path status` lines (for failure messages). */
export function requestLines(hub: Hub): string[] {
  return hub.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
}

/** Blob GETs and PUTs of the request log. */
export const BLOB_PATH = /^\/(local-)?s3\//;
