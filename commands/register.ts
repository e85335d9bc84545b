/** `pvr register [url]` (alias `reg`). */

import { Command } from "./args.ts";
import { register } from "../core/ops/register.ts";
import { registrationInstructions } from "../core/remote/pantahub/session.ts";
import type { CliContext } from "./context.ts";
import { pantahubOptions } from "./pantahub.ts";

/** Builds the `register` command. */
export function registerCommand(ctx: CliContext) {
  return new Command("register")
    .alias("reg")
    .description("register a new Pantahub account (confirmed by e-mail)")
    .argument("[pantahub-url]", "the Pantahub to register with (default --baseurl)")
    .option("-u, --user <name>", "desired username (nick)")
    .option("-p, --pass <password>", "password")
    .option("-e, --email <email>", "e-mail address of the account")
    .action(async (url, opts) => {
      const r = await register({
        ...pantahubOptions(ctx),
        url,
        email: opts.email,
        username: opts.user,
        password: opts.pass,
      });
      for (const line of registrationInstructions(r.redirectUri)) ctx.err(line + "\n");
    });
}
