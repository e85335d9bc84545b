/** `pvr post` (alias `po`). */

import { Command } from "./args.ts";
import { PvrError } from "../core/errors.ts";
import { post } from "../core/ops/post.ts";
import type { CliContext } from "./context.ts";
import { JOBS_HELP, QUIET_HELP, remoteOptions, reportUpload } from "./remote.ts";

/** Parses `--rev` (default -1: append); `USAGE` unless an integer. */
export function parseRev(value: string | undefined): number {
  if (value === undefined) return -1;
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new PvrError("USAGE", `--rev must be an integer, not "${value}"`);
  }
  return Number(value);
}

/** The line `post` and `fastcopy` print on stderr. */
export function postedLine(r: { rev: string; stateSha: string; trailId: string }): string {
  return `Successfully posted Revision ${r.rev} (${
    r.stateSha.slice(0, 8)
  }) to device id ${r.trailId}\n`;
}

/** Builds the `post` command. */
export function postCommand(ctx: CliContext) {
  return new Command("post")
    .alias("po")
    .description("post the committed state as a new revision of a device (Pantahub step)")
    .argument("[target]", "URL or <user>/<device> (default: .pvr/config DefaultPostUrl)")
    .option("-m, --commit-msg <msg>", "the revision's commit message")
    .option("--rev <n>", "revision to create (-1: the next one)", "-1")
    .option("-e, --envelope <json>", "extra JSON fields of the posted envelope", "{}")
    .option("-f, --force", "send objects even if the server has them")
    .option("-j, --jobs <n>", JOBS_HELP)
    .option("-q, --quiet", QUIET_HELP)
    .action(async (target, opts) => {
      const r = await post({
        ...ctx.repo(),
        ...remoteOptions(ctx, opts),
        target,
        message: opts.commitMsg,
        rev: parseRev(opts.rev),
        envelope: opts.envelope,
        force: opts.force,
      });
      reportUpload(ctx, r.objects, opts.quiet ?? false);
      ctx.err(postedLine(r));
    });
}
