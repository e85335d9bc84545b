/** `pvr inspect` (its Go alias `i` is shadowed by init). */

import { Command } from "./args.ts";
import { inspect } from "../core/ops/inspect.ts";
import { canonicalJson } from "../core/model/canonical.ts";
import { goIndent } from "../core/model/go_json.ts";
import type { CliContext } from "./context.ts";
import { sessionCaller } from "./remote.ts";

/** Builds the `inspect` command. */
export function inspectCommand(ctx: CliContext) {
  return new Command("inspect")
    .description("print the state of a repository, export or remote (default: this one)")
    .argument("[repository]", "repo dir, export tarball, URL or user/device, with optional #parts")
    .option("-c, --canonical", "print canonical JSON (no whitespace)")
    .option("--json", "same as --canonical")
    .action(async (ref, opts) => {
      const g = ctx.globals();
      const r = await inspect({
        caller: sessionCaller(ctx),
        repoBaseUrl: g.repoBaseUrl,
        configDir: g.configDir,
        cwd: ctx.io.cwd,
        ref,
      });
      const text = canonicalJson(r.state);
      ctx.out((opts.canonical || opts.json ? text : goIndent(text, "", "\t")) + "\n");
    });
}
