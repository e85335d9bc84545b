/** `pvr json` (alias `j`). */

import { Command } from "./args.ts";
import { json } from "../core/ops/json.ts";
import { canonicalJson } from "../core/model/canonical.ts";
import { goIndent } from "../core/model/go_json.ts";
import type { CliContext } from "./context.ts";

/** Builds the `json` command. */
export function jsonCommand(ctx: CliContext) {
  return new Command("json")
    .alias("j")
    .description("print the working state as JSON")
    .option("-c, --canonical", "print canonical JSON (no whitespace)")
    .option("--json", "same as --canonical")
    .action(async (opts) => {
      const { state } = await json(ctx.repo());
      const text = canonicalJson(state);
      ctx.out((opts.canonical || opts.json ? text : goIndent(text, "", "\t")) + "\n");
    });
}
