/**
 * The pvr executable: run the CLI on the process's arguments and exit with its code.
 *
 * `pvr --version` (or `-v`) alone is answered here, before the CLI is loaded: loading
 * it (the parser, the command's modules, the Node built-ins they use) takes most of that
 * command's time. The line is the same one the CLI prints. `pvr status` (or `s`,
 * optionally `--json`) of a tree whose status snapshot still holds is answered by
 * commands/lean_status.ts, also without the CLI; in every other case the CLI runs.
 *
 * @module
 */

import { VERSION_TEXT } from "./core/version.ts";

/** Writes all of `text` to stdout and exits with code 0. */
function printAndExit(text: string): never {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
  Deno.exit(0);
}

if (import.meta.main) {
  const args = Deno.args;
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
    printAndExit(`${VERSION_TEXT}\n`);
  }
  if (args[0] === "status" || args[0] === "s") {
    const { leanStatus } = await import("./commands/lean_status.ts");
    let out: string | null = null;
    try {
      out = leanStatus(args, Deno.env.toObject(), Deno.cwd());
    } catch {
      // the CLI reports it
    }
    if (out !== null) printAndExit(out);
  }
  const { runCli } = await import("./commands/cli.ts");
  const { processIo } = await import("./commands/output.ts");
  Deno.exit(await runCli(args, processIo()));
}
