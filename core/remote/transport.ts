/**
 * How pvr's HTTP requests reach a server, from `--http-proxy` and `-i/--insecure`
 * (spec pvr-reference §1.1, §7.6): one `fetch` for API calls and `.pvrremote`, one for
 * signed-URL object downloads, and one signed-URL PUT for object uploads.
 *
 * | proxy    | insecure | `fetch`                                   | object GET and PUT               |
 * | -------- | -------- | ----------------------------------------- | -------------------------------- |
 * | `system` | no       | Deno's (it reads `HTTP(S)_PROXY`, `NO_PROXY`) | bare HTTP/1.1 connections (raw_get.ts, raw_put.ts, with `Content-Length`); through `fetch` (PUT chunked) when a proxy variable is set |
 * | `no`     | no       | `node:http(s)`: never a proxy             | bare HTTP/1.1 connections        |
 * | `no`     | yes      | `node:http(s)` without certificate checks | `node:http(s)`, the same         |
 * | URL      | no       | Deno's, through that proxy                | `fetch` through it (PUT chunked) |
 * | `system`/URL | yes  | `node:http(s)` without certificate checks; `http:` URLs through the proxy (`https:` through a proxy fails: no tunnel) | the same, PUT with `Content-Length` |
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { envVar, proxyVariableSet } from "./http.ts";
import { nodeFetch } from "./node_fetch.ts";
import { type BlobPutter, fetchBlobPutter, nodeBlobPutter } from "./pantahub/transfer.ts";
import { rawBlobFetch } from "./raw_get.ts";
import { rawBlobPutter } from "./raw_put.ts";

/** Options of {@link httpTransport}. */
export interface TransportOptions {
  /** `system` (default: the environment's proxy variables), `no`, or a proxy URL. */
  proxy?: string;
  /** Skip TLS certificate checks. */
  insecure?: boolean;
  /** The environment the proxy variables come from (default the process's). */
  env?: Record<string, string | undefined>;
}

/** What requests go through. */
export interface HttpTransport {
  /** For API calls. */
  fetch: typeof fetch;
  /** For signed-URL downloads. */
  getBlob: typeof fetch;
  /** For signed-URL uploads. */
  putBlob: BlobPutter;
}

/** A proxy URL from a flag or a variable (`host:port` means `http://host:port`). */
function proxyUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new PvrError("USAGE", `${what} is not a valid proxy URL`);
  }
  if (!["http:", "https:", "socks5:", "socks5h:"].includes(url.protocol)) {
    throw new PvrError("USAGE", `${what} must be an http, https or socks5 URL`);
  }
  return url;
}

/** True when `host` matches the `NO_PROXY` list (`*`, names, `.suffix`, `host:port`). */
export function noProxyMatches(noProxy: string | undefined, url: URL): boolean {
  if (noProxy === undefined) return false;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    const [name, port] = entry.replace(/^\[|\]$/g, "").split(/:(?=\d+$)/);
    if (port !== undefined && port !== (url.port || (url.protocol === "https:" ? "443" : "80"))) {
      continue;
    }
    const bare = name.replace(/^\*?\./, "");
    if (host === bare || host.endsWith(`.${bare}`)) return true;
  }
  return false;
}

/**
 * The proxy the environment names for `url` (`HTTPS_PROXY` for https, `HTTP_PROXY`
 * for http, else `ALL_PROXY`; none when `NO_PROXY` matches), as curl and Deno read them.
 */
export function envProxyFor(
  env: Record<string, string | undefined>,
  url: URL,
): URL | undefined {
  if (noProxyMatches(envVar(env, "NO_PROXY"), url)) return undefined;
  const name = url.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY";
  const text = envVar(env, name) ?? envVar(env, "ALL_PROXY");
  return text === undefined ? undefined : proxyUrl(text, name);
}

/**
 * The transport of `opts` (see the module doc). `USAGE` error for a proxy that is not
 * a URL.
 *
 * Needs `--allow-net` (and `--allow-env` for the default environment).
 */
export function httpTransport(opts: TransportOptions = {}): HttpTransport {
  const proxy = opts.proxy || "system";
  const insecure = opts.insecure ?? false;
  const env = opts.env ?? Deno.env.toObject();
  if (proxy === "no") {
    const f = nodeFetch({ insecure });
    return insecure
      ? { fetch: f, getBlob: f, putBlob: nodeBlobPutter({ insecure }) }
      : { fetch: f, getBlob: rawBlobFetch(f), putBlob: rawBlobPutter() };
  }
  if (proxy !== "system") {
    const url = proxyUrl(proxy, "--http-proxy");
    if (insecure) {
      const f = nodeFetch({ insecure, proxyFor: () => url });
      return { fetch: f, getBlob: f, putBlob: fetchBlobPutter(f, { contentLength: true }) };
    }
    let client: Deno.HttpClient | undefined;
    const viaProxy: typeof fetch = (input, init) => {
      client ??= Deno.createHttpClient({ proxy: { url: url.href } });
      return fetch(input, { ...init, client });
    };
    return { fetch: viaProxy, getBlob: viaProxy, putBlob: fetchBlobPutter(viaProxy) };
  }
  const anyProxy = proxyVariableSet(env);
  if (insecure) {
    const f = nodeFetch({ insecure, proxyFor: (u) => envProxyFor(env, u) });
    return { fetch: f, getBlob: f, putBlob: fetchBlobPutter(f, { contentLength: true }) };
  }
  const global: typeof fetch = (input, init) => fetch(input, init);
  return anyProxy
    ? { fetch: global, getBlob: global, putBlob: fetchBlobPutter(global) }
    : { fetch: global, getBlob: rawBlobFetch(global), putBlob: rawBlobPutter() };
}
