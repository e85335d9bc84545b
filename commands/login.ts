/** `pvr login [url]` (alias `lo`). */

import { Command } from "./args.ts";
import { login } from "../core/ops/login.ts";
import type { CliContext } from "./context.ts";
import { goPretty, pantahubOptions } from "./pantahub.ts";

/** Builds the `login` command. */
export function loginCommand(ctx: CliContext) {
  return new Command("login")
    .alias("lo")
    .description(
      "log in to Pantahub (prompts for username and password; with -a, saves that token)",
    )
    .argument("[url]", "what to read once logged in (default <baseurl>/auth/auth_status)")
    .action(async (url) => {
      const r = await login({ ...pantahubOptions(ctx), url });
      ctx.out(`Response of GET ${r.url}\n`);
      ctx.out(goPretty(r.reply));
      ctx.out("LoggedIn Successfully!\n");
    });
}
