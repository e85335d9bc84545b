/**
 * The pvr executable: run the CLI on the process's arguments and exit with its code.
 *
 * @module
 */

import { runCli } from "./commands/cli.ts";
import { processIo } from "./commands/output.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, processIo()));
}
