/**
 * What the account and device commands share: the Pantahub options and session built
 * from the global flags, and Go's pretty JSON printing (`LogPrettyJSON`).
 *
 * @module
 */

import { goMarshalIndent } from "../core/model/go_json.ts";
import { fromPlain } from "../core/model/json_value.ts";
import { HttpClient } from "../core/remote/http.ts";
import { type HttpTransport, httpTransport } from "../core/remote/transport.ts";
import { NullPrompter, type Prompter, TtyPrompter } from "../core/remote/pantahub/prompt.ts";
import { PantahubSession } from "../core/remote/pantahub/session.ts";
import type { PantahubOptions } from "../core/ops/hub_common.ts";
import type { CliContext } from "./context.ts";

/**
 * The prompter of a command: the one the I/O brings (tests), else the terminal when
 * stdin and stderr are terminals, else nobody.
 */
export function commandPrompter(ctx: CliContext): Prompter {
  const notice = (line: string) => ctx.err(line + "\n");
  if (ctx.io.prompter) return ctx.io.prompter;
  const tty = ctx.io.stdinIsTerminal === true && ctx.io.stderr.isTerminal;
  return tty ? new TtyPrompter({ notice }) : new NullPrompter(notice);
}

const transports = new WeakMap<CliContext, HttpTransport>();

/**
 * What a command's HTTP requests go through, from `--http-proxy` and `-i/--insecure`
 * (one per command: API calls, `.pvrremote`, downloads and uploads alike).
 */
export function commandTransport(ctx: CliContext): HttpTransport {
  let t = transports.get(ctx);
  if (t === undefined) {
    const g = ctx.globals();
    t = httpTransport({ proxy: g.httpProxy, insecure: g.insecure, env: ctx.io.env });
    transports.set(ctx, t);
  }
  return t;
}

/**
 * Pantahub options from the global flags (`-b`, `-a`, `-c`, `-d`, `-i`, `--http-proxy`)
 * with one session:
 * tokens from `auth.json` or `-a`, prompts through {@link commandPrompter}, debug lines
 * and notices on stderr.
 */
export function pantahubOptions(ctx: CliContext): PantahubOptions & { session: PantahubSession } {
  const g = ctx.globals();
  const notice = (line: string) => ctx.err(line + "\n");
  const prompter = commandPrompter(ctx);
  const session = new PantahubSession({
    configDir: g.configDir,
    accessToken: g.accessToken || undefined,
    prompter,
    http: new HttpClient({
      fetch: commandTransport(ctx).fetch,
      debug: g.debug ? notice : undefined,
    }),
    notice,
  });
  return {
    configDir: g.configDir,
    baseUrl: g.baseUrl,
    accessToken: g.accessToken || undefined,
    prompter,
    session,
  };
}

/**
 * A JSON value as the Go pvr prints a server answer: decoded to Go values (numbers as
 * float64), then `json.MarshalIndent` with 4 spaces (keys sorted, HTML-escaped), and a
 * newline.
 */
export function goPretty(value: unknown): string {
  return goMarshalIndent(fromPlain(value), "", "    ", { numbers: "float" }) + "\n";
}
