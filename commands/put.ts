/** `pvr put` (alias `p`). */

import { Command } from "@commander-js/extra-typings";
import { put } from "../core/ops/put.ts";
import type { CliContext } from "./context.ts";

/** Builds the `put` command. */
export function putCommand(ctx: CliContext) {
  return new Command("put")
    .alias("p")
    .description("put the committed state and its objects into a repo dir (json + objects/)")
    .argument("[target]", "target directory (default: .pvr/config DefaultPutUrl)")
    .option("-f, --force", "copy objects even if the target has them")
    .action(async (target, opts) => {
      const r = await put({ ...ctx.repo(), target, force: opts.force });
      ctx.err(`put ${r.sent} objects (${r.skipped} already there) to ${r.target}\n`);
    });
}
