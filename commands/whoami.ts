/** `pvr whoami` (alias `wai`). */

import { Command } from "./args.ts";
import { whoami } from "../core/ops/whoami.ts";
import type { CliContext } from "./context.ts";
import { pantahubOptions } from "./pantahub.ts";

/** Builds the `whoami` command. */
export function whoamiCommand(ctx: CliContext) {
  return new Command("whoami")
    .alias("wai")
    .description("show who you are logged in as, on each Pantahub you logged in to")
    .option("--json", "print the accounts as JSON on stdout")
    .action(async (opts) => {
      const r = await whoami(pantahubOptions(ctx));
      if (opts.json) {
        ctx.out(JSON.stringify(r.accounts) + "\n");
        return;
      }
      // As the Go pvr: on stderr.
      for (const a of r.accounts) {
        if (a.error !== undefined) ctx.err(`${a.authEndpoint}: ${a.error}\n`);
        else ctx.err(`${a.nick ?? ""}(${a.prn ?? ""}) at ${a.authEndpoint}\n`);
      }
    });
}
