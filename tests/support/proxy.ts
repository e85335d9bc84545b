/**
 * A tiny forward HTTP proxy on 127.0.0.1 for tests: it takes absolute-form requests
 * (`GET http://host/path HTTP/1.1`), forwards them and streams the answer back, and
 * records every request it saw. `CONNECT` (tunnels for https) is refused with 405.
 */

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  /** The absolute URL asked for. */
  url: string;
  /** The request's `Content-Length`, when it had one. */
  contentLength: string | null;
  /** The request's `Transfer-Encoding`, when it had one. */
  transferEncoding: string | null;
}

/** A running proxy. */
export interface TestProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every request seen, in order. */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1, on a free port.
 *
 * Needs `--allow-net`.
 */
export function startProxy(): Promise<TestProxy> {
  const requests: ProxiedRequest[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError: () => new Response(null, { status: 502 }),
  }, async (req) => {
    requests.push({
      method: req.method,
      url: req.url,
      contentLength: req.headers.get("content-length"),
      transferEncoding: req.headers.get("transfer-encoding"),
    });
    if (req.method === "CONNECT") return new Response(null, { status: 405 });
    const headers = new Headers(req.headers);
    for (const h of ["host", "proxy-authorization", "proxy-connection", "connection"]) {
      headers.delete(h);
    }
    const res = await fetch(req.url, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    return new Response(res.body, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
  });
  const proxy: TestProxy = {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close: () => server.shutdown(),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
  return Promise.resolve(proxy);
}
