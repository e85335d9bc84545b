/** `pvr import` (its Go alias `i` is shadowed by init). */

import { Command } from "./args.ts";
import { PvrError } from "../core/errors.ts";
import { importRepo } from "../core/ops/import_repo.ts";
import type { CliContext } from "./context.ts";

/** Builds the `import` command. */
export function importCommand(ctx: CliContext) {
  return new Command("import")
    .description("import an exported tarball (plain or gzip) as the committed state; no checkout")
    .argument("<file>", "the tarball; - reads stdin")
    .action(async (file) => {
      if (file === "-" && !ctx.io.stdin) {
        throw new PvrError("USAGE", "no standard input to import from");
      }
      await importRepo({ ...ctx.repo(), input: file === "-" ? ctx.io.stdin! : file });
    });
}
