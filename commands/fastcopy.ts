/** `pvr fastcopy` (alias `fcp`). */

import { Command } from "./args.ts";
import { fastcopy } from "../core/ops/fastcopy.ts";
import type { CliContext } from "./context.ts";
import { parseRev, postedLine } from "./post.ts";
import { sessionCaller } from "./remote.ts";

/** Builds the `fastcopy` command. */
export function fastcopyCommand(ctx: CliContext) {
  return new Command("fastcopy")
    .alias("fcp")
    .description(
      "copy a state or #parts (renamed by the destination's #parts) to another device, " +
        "server side",
    )
    .argument("<source>", "URL or <user>/<device>, with optional #part,part")
    .argument("<destination>", "URL or <user>/<device>, with optional #part,part")
    .option("-m, --commit-msg <msg>", "the revision's commit message")
    .option("--rev <n>", "revision to create (-1: the next one)", "-1")
    .option("-e, --envelope <json>", "extra JSON fields of the posted envelope", "{}")
    .option("-f, --force", "accepted for compatibility (no objects are sent)")
    .option("--merge", "merge into the destination's parts instead of replacing them")
    .action(async (source, dest, opts) => {
      const g = ctx.globals();
      const r = await fastcopy({
        caller: sessionCaller(ctx),
        configDir: g.configDir,
        repoBaseUrl: g.repoBaseUrl,
        source,
        dest,
        message: opts.commitMsg,
        rev: parseRev(opts.rev),
        envelope: opts.envelope,
        merge: opts.merge,
      });
      ctx.err(postedLine(r));
    });
}
