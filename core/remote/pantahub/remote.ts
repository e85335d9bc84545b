/**
 * Pantahub remotes (spec pvr-reference §6, §7.1, §7.4): reference fixup, the
 * `.pvrremote` descriptor, the remote state, and {@link openRemoteSource} — a
 * {@link Source} over HTTP, so `get`, `merge`, `clone` and `deploy` work from URLs such
 * as `https://api.pantahub.com/trails/<id>` or `…/trails/<id>/steps/<rev>#bsp`.
 *
 * Every Pantahub API request goes through the {@link PantahubCaller} seam (auth lives
 * there); object bytes move through signed URLs (download.ts, upload.ts).
 *
 * Fixes over the Go pvr: the status of the state GET is checked and the state is
 * validated (no `../` keys, object ids are 64 hex digits) before anything is written
 * (§13.1 item 2); `user/device` resolves against `--repo-baseurl` instead of a
 * hard-coded host, and a fragment with `/` (`user/dev#_config/app`) is kept (§13.5
 * items 35, 36); a missing relative path is an error, not a pvr.pantahub.com URL.
 *
 * @module
 */

import { pathExists } from "../../fs_util.ts";
import { z } from "zod";
import { PvrError } from "../../errors.ts";
import { parseJson } from "../../model/json_parse.ts";
import type { JsonValue } from "../../model/json_value.ts";
import { type State, validateState } from "../../model/state.ts";
import { absolutePath } from "../../repo/global_config.ts";
import type { FsObjectStore } from "../../store/fs_store.ts";
import { isUrl, type Source, splitRef } from "../source.ts";
import { HttpClient, redactUrl } from "../http.ts";
import { PantahubSession } from "./session.ts";
import type { PantahubCaller } from "./types.ts";
import { downloadObjects } from "./download.ts";
import { errorMessage, httpStatusError, readSomeText, type TransferOptions } from "./transfer.ts";

/** The port of the pvr-sdk endpoint on a device (`http://<ip>:12368/cgi-bin/pvr`). */
export const PVR_SDK_PORT = 12368;

/** The default of `--repo-baseurl`. */
export const DEFAULT_REPO_BASE_URL = "https://pvr.pantahub.com";

/** Options of the operations that may talk to a remote. */
export interface RemoteOptions extends TransferOptions {
  /**
   * Sends Pantahub API requests (authorisation included), e.g. a `PantahubSession`.
   * Default: a session over the tokens saved in `<configDir>/auth.json` (and
   * `accessToken`), which never prompts.
   */
  caller?: PantahubCaller;
  /** A token for the default session (`-a`/`PVR_ACCESSTOKEN`). */
  accessToken?: string;
  /** Base for `user/device` references (default {@link DEFAULT_REPO_BASE_URL}). */
  repoBaseUrl?: string;
}

/**
 * The caller of `opts`; without one, a non-interactive session over the tokens saved
 * in `<configDir>/auth.json` (and `opts.accessToken`). `AUTH` error when there is
 * neither a caller nor a config dir.
 */
export function requireCaller(
  opts: RemoteOptions & { configDir?: string },
  what: string,
): PantahubCaller {
  if (opts.caller !== undefined) return opts.caller;
  if (opts.configDir === undefined) {
    throw new PvrError("AUTH", `${what} needs a Pantahub session, and none was given`);
  }
  return new PantahubSession({
    configDir: opts.configDir,
    accessToken: opts.accessToken,
    http: new HttpClient(),
  });
}

// ---------------------------------------------------------------------------------
// Reference fixup (§6.1)

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True when `s` is a bare IPv4 or IPv6 address (no port, no brackets). */
export function isBareIp(s: string): boolean {
  if (IPV4.test(s)) return true;
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Options of {@link fixupRepoRef}. */
export interface FixupOptions {
  /** Resolves relative paths (to see whether a local one exists). */
  cwd: string;
  /** Base for `user/device` (default {@link DEFAULT_REPO_BASE_URL}). */
  repoBaseUrl?: string;
}

/**
 * Turns a repository reference into what pvr fetches from ("FixupRepoRef", §6.1): the
 * fragment (`#…`) is kept as written (`/` included); a bare IP becomes the device's
 * pvr-sdk URL `http://<ip>:12368/cgi-bin/pvr`; a URL or an existing local path stays
 * as it is; `user/device` becomes `<repoBaseUrl>/user/device`. Anything else is a
 * `BAD_REFERENCE` error.
 *
 * Needs `--allow-read` (to see whether a local path exists).
 *
 * @example
 * ```ts
 * await fixupRepoRef("192.168.1.3#bsp", { cwd: "/" }); // "http://192.168.1.3:12368/cgi-bin/pvr#bsp"
 * await fixupRepoRef("alice/box#_config/app", { cwd: "/", repoBaseUrl: "http://hub" });
 * // "http://hub/alice/box#_config/app"
 * ```
 */
export async function fixupRepoRef(ref: string, opts: FixupOptions): Promise<string> {
  const { base, fragment } = splitRef(ref);
  const frag = ref.includes("#") ? `#${fragment}` : "";
  if (isBareIp(base)) {
    const host = base.includes(":") ? `[${base}]` : base;
    return `http://${host}:${PVR_SDK_PORT}/cgi-bin/pvr${frag}`;
  }
  if (isUrl(base)) return ref;
  if (base === "") throw new PvrError("BAD_REFERENCE", `no repository in reference "${ref}"`);
  if (await pathExists(absolutePath(base, opts.cwd))) return ref;
  const pieces = base.split("/");
  const shorthand = pieces.length === 2 &&
    pieces.every((p) => p !== "" && p !== "." && p !== ".." && !p.includes("\\"));
  if (pieces.length === 1 && !base.startsWith(".")) {
    throw new PvrError(
      "BAD_REFERENCE",
      `no such repository "${base}", and the device nick is missing ` +
        "(syntax: pvr get <USER_NICK>/<DEVICE_NICK>[#<part>])",
    );
  }
  if (!shorthand) {
    throw new PvrError(
      "BAD_REFERENCE",
      `no such repository, directory or export file, and not a URL or <user>/<device>: ${base}`,
    );
  }
  const root = (opts.repoBaseUrl || DEFAULT_REPO_BASE_URL).replace(/\/+$/, "");
  if (!isUrl(root)) {
    throw new PvrError("USAGE", `--repo-baseurl is not a URL: ${redactUrl(root)}`);
  }
  return `${root}/${pieces.map(encodeURIComponent).join("/")}${frag}`;
}

/**
 * The URL a write command (`post`, `put`, `putobjects`, `fastcopy`) sends to: a URL as
 * it is, a bare IP as the device's pvr-sdk URL, `user/device` against `repoBaseUrl`
 * (the Go pvr hard-coded `https://pvr.pantahub.com` and posted `a/b/c` to
 * `https://pvr.pantahub.com//`). The fragment is dropped. `USAGE` when the device nick
 * is missing, `BAD_REFERENCE` for anything else.
 */
export function remoteTargetUrl(target: string, repoBaseUrl?: string): string {
  const { base } = splitRef(target);
  if (isUrl(base)) return base;
  if (isBareIp(base)) {
    return `http://${base.includes(":") ? `[${base}]` : base}:${PVR_SDK_PORT}/cgi-bin/pvr`;
  }
  const pieces = base.split("/");
  if (pieces.length === 1 && base !== "" && !base.startsWith(".")) {
    throw new PvrError(
      "USAGE",
      `device nick is missing in "${base}" (syntax: <USER_NICK>/<DEVICE_NICK>, or a URL)`,
    );
  }
  if (pieces.length !== 2 || pieces.some((p) => p === "" || p === "." || p === "..")) {
    throw new PvrError("BAD_REFERENCE", `not a URL and not <user>/<device>: ${base}`);
  }
  const root = (repoBaseUrl || DEFAULT_REPO_BASE_URL).replace(/\/+$/, "");
  if (!isUrl(root)) throw new PvrError("USAGE", `--repo-baseurl is not a URL: ${redactUrl(root)}`);
  return `${root}/${pieces.map(encodeURIComponent).join("/")}`;
}

// ---------------------------------------------------------------------------------
// The remote descriptor (§7.1)

/** A `.pvrremote` descriptor. Field names are the wire names. */
export interface PvrRemote {
  "pvr-spec": string;
  /** Where the state is (GET) and replaced (PUT, `pvr put`). */
  "json-get-url": string;
  /** The envelope key of the state in a post (`post` when empty). */
  "json-key": string;
  /** Object infos: `GET <endpoint>/<sha>`, `POST <endpoint>/`. */
  "objects-endpoint": string;
  /** Where new revisions are posted. */
  "post-url": string;
  "post-fields": string[] | null;
  "post-fields-opt": string[] | null;
  /** The step resource (newer servers); else the parent of `json-get-url`. */
  "step-get-url"?: string;
}

// Go decodes null and missing strings as "".
const goString = z.string().nullish().transform((s) => s ?? "");

const PvrRemoteSchema = z.object({
  "pvr-spec": goString,
  "json-get-url": goString,
  "json-key": goString,
  "objects-endpoint": goString,
  "post-url": goString,
  "post-fields": z.array(z.string()).nullish().transform((a) => a ?? null),
  "post-fields-opt": z.array(z.string()).nullish().transform((a) => a ?? null),
  "step-get-url": z.string().nullish().transform((s) => s ?? undefined),
});

/**
 * `<repoUrl>/.pvrremote`: the name joined onto the URL path, the path cleaned as Go's
 * `path.Join` does (no empty segments, no trailing `/`), the query kept, the fragment
 * dropped (it selects parts and is never sent).
 */
export function descriptorUrl(repoUrl: string): string {
  const u = new URL(splitRef(repoUrl).base);
  const segs = u.pathname.split("/").filter((s) => s !== "" && s !== ".");
  segs.push(".pvrremote");
  u.pathname = "/" + segs.join("/");
  u.hash = "";
  return u.toString();
}

/** Resolves a URL of a descriptor against the descriptor's own URL; only http(s). */
function absoluteHttpUrl(value: string, base: string, field: string): string {
  if (value === "") return "";
  let u: URL;
  try {
    u = new URL(value, base);
  } catch {
    throw new PvrError("REMOTE", `the remote descriptor's ${field} is not a URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new PvrError("REMOTE", `the remote descriptor's ${field} is not an http(s) URL`);
  }
  return u.toString();
}

/** Reads a JSON reply (`what` names the request in errors). */
async function jsonReply(res: Response, what: string): Promise<unknown> {
  const text = await res.text().catch((err) => {
    throw new PvrError("REMOTE", `${what}: the answer was cut: ${errorMessage(err)}`, {
      cause: err,
    });
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new PvrError("REMOTE", `${what}: the answer is not JSON`);
  }
}

/** Sends a request and fails unless the answer is 200; returns the response. */
async function call200(
  caller: PantahubCaller,
  method: "GET",
  url: string,
  anonymous: boolean,
): Promise<Response> {
  const res = await caller.call({ method, url, anonymous });
  if (res.status !== 200) {
    const body = await readSomeText(res);
    throw httpStatusError(`${method} ${redactUrl(url)}`, res.status, res.statusText, body);
  }
  return res;
}

/**
 * Fetches and validates the remote descriptor of `repoUrl` (`GET <repoUrl>/.pvrremote`,
 * anonymous access allowed). Its URLs are made absolute against the descriptor's URL.
 * `AUTH` on 401/403, `REMOTE` on other statuses and malformed answers.
 *
 * Needs `--allow-net`.
 */
export async function fetchRemote(caller: PantahubCaller, repoUrl: string): Promise<PvrRemote> {
  const url = descriptorUrl(repoUrl);
  const what = `GET ${redactUrl(url)}`;
  const res = await call200(caller, "GET", url, true);
  const parsed = PvrRemoteSchema.safeParse(await jsonReply(res, what));
  if (!parsed.success) {
    throw new PvrError("REMOTE", `${what}: not a pvr remote descriptor`, {
      hint: "is this the URL of a trail, a step or a pvr-sdk device?",
    });
  }
  const d = parsed.data;
  const remote: PvrRemote = {
    "pvr-spec": d["pvr-spec"],
    "json-get-url": absoluteHttpUrl(d["json-get-url"], url, "json-get-url"),
    "json-key": d["json-key"],
    "objects-endpoint": absoluteHttpUrl(d["objects-endpoint"], url, "objects-endpoint"),
    "post-url": absoluteHttpUrl(d["post-url"], url, "post-url"),
    "post-fields": d["post-fields"],
    "post-fields-opt": d["post-fields-opt"],
  };
  if (d["step-get-url"]) {
    remote["step-get-url"] = absoluteHttpUrl(d["step-get-url"], url, "step-get-url");
  }
  return remote;
}

/** Options of {@link fetchRemoteState}. */
export interface FetchStateOptions {
  /**
   * Accept an empty state `{}`. Pantahub answers `200 {}` for a step that does not exist
   * or is not visible (pantahub-api §3.8), so a source refuses it by default.
   */
  allowEmpty?: boolean;
}

/**
 * GETs the state at the descriptor's `json-get-url` (anonymous access allowed), checks
 * the status (the Go pvr took an error body for the state, §13.1 item 2) and validates
 * it: `UNSAFE_PATH` for an absolute or `..` key, `BAD_STATE` for a blob key whose value
 * is not an object id. Nothing is written.
 *
 * Needs `--allow-net`.
 */
export async function fetchRemoteState(
  caller: PantahubCaller,
  remote: PvrRemote,
  opts: FetchStateOptions = {},
): Promise<State> {
  const url = remote["json-get-url"];
  if (!url) throw new PvrError("REMOTE", "the remote descriptor has no json-get-url");
  const label = redactUrl(url);
  const res = await call200(caller, "GET", url, true);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new PvrError("REMOTE", `GET ${label}: the answer was cut: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let value: JsonValue;
  try {
    value = parseJson(bytes, label);
  } catch (err) {
    throw new PvrError("BAD_STATE", `GET ${label}: the state is not JSON`, { cause: err });
  }
  const state = validateState(value, label);
  if (state.size === 0 && !opts.allowEmpty) {
    throw new PvrError("REMOTE", `${label}: the remote state is empty`, {
      hint: "the step may not exist, or the account in use may not see it",
    });
  }
  return state;
}

/** The step resource of a descriptor: `step-get-url`, else `json-get-url` without its last segment. */
export function stepUrl(remote: PvrRemote): string {
  if (remote["step-get-url"]) return remote["step-get-url"];
  const url = remote["json-get-url"];
  if (!url) throw new PvrError("REMOTE", "the remote descriptor has no json-get-url");
  const u = new URL(url);
  u.pathname = u.pathname.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/";
  return u.toString();
}

/**
 * GETs the step resource of a descriptor (`pvr stepinfo`), parsed losslessly.
 *
 * Needs `--allow-net`.
 */
export async function fetchStep(caller: PantahubCaller, remote: PvrRemote): Promise<JsonValue> {
  const url = stepUrl(remote);
  const res = await call200(caller, "GET", url, true);
  const text = await res.text();
  try {
    return parseJson(text, redactUrl(url));
  } catch (err) {
    throw new PvrError("REMOTE", `GET ${redactUrl(url)}: the answer is not JSON`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------
// The remote source

/**
 * Opens a remote as a {@link Source}: fetches the descriptor and the state (validated,
 * refused when empty); `fetchObjects` downloads objects in parallel through signed
 * URLs, each verified before it becomes visible in the store (download.ts).
 *
 * Needs `--allow-net`, and `--allow-read`/`--allow-write` for the store.
 */
export async function openRemoteSource(
  url: string,
  opts: RemoteOptions & { configDir?: string },
): Promise<Source> {
  const caller = requireCaller(opts, `the remote ${redactUrl(url)}`);
  const remote = await fetchRemote(caller, url);
  const state = await fetchRemoteState(caller, remote);
  return {
    label: url,
    local: false,
    state,
    async fetchObjects(objects: ReadonlyMap<string, string>, into: FsObjectStore) {
      if (objects.size === 0) return;
      if (!remote["objects-endpoint"]) {
        throw new PvrError("REMOTE", "the remote descriptor has no objects-endpoint");
      }
      await downloadObjects({
        ...opts,
        caller,
        objectsEndpoint: remote["objects-endpoint"],
        objects,
        store: into,
      });
    },
    close: () => Promise.resolve(),
  };
}
