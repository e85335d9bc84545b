/** `pvr export` (its Go alias `g` is shadowed by get). */

import { Command } from "./args.ts";
import { exportRepo } from "../core/ops/export_repo.ts";
import type { CliContext } from "./context.ts";

/** Builds the `export` command. */
export function exportCommand(ctx: CliContext) {
  return new Command("export")
    .description(
      "export the committed state and its objects as a tarball (.tar, .tar.gz, .tgz, - for stdout)",
    )
    .argument(
      "<file>",
      "output file; gzip when it ends in .gz or .tgz; - writes a plain tar to stdout",
    )
    .option("-p, --parts <parts>", "comma-separated parts to export (default: all)")
    .option("--fsync", "make the file durable (fsync it and its directory) before exiting")
    .action(async (file, opts) => {
      await exportRepo({
        ...ctx.repo(),
        output: file === "-" ? ctx.io.stdout.writable() : file,
        parts: opts.parts ? opts.parts.split(",").filter((p) => p !== "") : undefined,
        fsync: opts.fsync ?? false,
      });
    });
}
