/**
 * `node:http`, `node:https` and `node:fs`'s `createReadStream`, loaded on first use.
 *
 * Only uploads with `Content-Length` and `-i/--insecure` requests need them; loading
 * them costs every command tens of milliseconds at start-up, so no module imports them
 * statically.
 *
 * @module
 */

/** The Node modules the HTTP fallbacks use. */
export interface NodeNet {
  http: typeof import("node:http");
  https: typeof import("node:https");
  createReadStream: typeof import("node:fs").createReadStream;
}

let loading: Promise<NodeNet> | undefined;

/** Loads (once) and returns {@link NodeNet}. */
export function loadNodeNet(): Promise<NodeNet> {
  return loading ??= Promise.all([
    import("node:http"),
    import("node:https"),
    import("node:fs"),
  ]).then(([http, https, fs]) => ({
    http: http.default,
    https: https.default,
    createReadStream: fs.createReadStream,
  }));
}
