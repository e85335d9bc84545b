/**
 * `pvr completion` (alias `com`) and the answer to `pvr … --generate-bash-completion`:
 * command and subcommand names from the command table, flag names, and nick
 * suggestions from Pantahub for clone, get, post, device get, device set and logs.
 *
 * @module
 */

import { Command, type CommandSpec } from "./args.ts";
import {
  bashCompletionScript,
  COMPLETION_WORD_ENV,
  type NickKind,
  suggestNicks,
} from "../core/ops/completion.ts";
import { CliContext, type RawGlobalFlags } from "./context.ts";
import { HttpClient } from "../core/remote/http.ts";
import { PantahubSession } from "../core/remote/pantahub/session.ts";
import { commandTransport } from "./pantahub.ts";

/** How long a nick lookup may take before the completion gives up. */
const COMPLETION_TIMEOUT_MS = 5_000;

export { GENERATE_FLAG } from "./cli.ts";

/**
 * The name the script registers: the executable's base name, or `pvr` when pvr runs
 * under `deno run` (the executable is then Deno itself).
 */
export function programName(execPath: string = Deno.execPath()): string {
  const base = execPath.slice(execPath.lastIndexOf("/") + 1).replace(/\.exe$/i, "");
  return base === "" || base === "deno" ? "pvr" : base;
}

/** Builds the `completion` command. */
export function completionCommand(ctx: CliContext) {
  return new Command("completion")
    .alias("com")
    .description('print the bash completion script (eval "$(pvr completion)")')
    .action(() => {
      ctx.out(bashCompletionScript(programName()));
    });
}

/** Which command paths complete nicks, and how. */
const NICK_COMMANDS: Record<string, NickKind> = {
  "clone": "repo",
  "get": "repo",
  "post": "repo",
  "device get": "device",
  "device set": "own-device",
  "device logs": "log-filter",
  "logs": "log-filter",
};

/** The option of `cmd` that `word` (`--name`, `-x`, `--name=value`) names. */
function optionOf(cmd: CommandSpec, word: string) {
  return cmd.findOption(word.includes("=") ? word.slice(0, word.indexOf("=")) : word);
}

/**
 * Answers `pvr <words…> --generate-bash-completion` (`words` without the flag): prints
 * one suggestion a line on stdout and returns the exit code (always 0: a completion
 * never fails loudly). Like urfave/cli: a last word starting with `-` gets the flags of
 * the command; a command with subcommands gets their names; clone, get, post, device
 * get, device set and logs get nicks (`Not-Loggedin -` or `No results` on stderr).
 * Only the commands the words name are loaded.
 */
export async function completeCli(
  program: CommandSpec,
  words: string[],
  ctx: CliContext,
): Promise<number> {
  const path: CommandSpec[] = [];
  const args: string[] = [];
  const globals: Record<string, string | boolean> = {};
  let cmd: CommandSpec = program;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w.startsWith("-")) {
      const opt = optionOf(cmd, w);
      let value: string | boolean = true;
      if (w.includes("=")) value = w.slice(w.indexOf("=") + 1);
      else if (opt !== undefined && (opt.required || opt.optional) && i + 1 < words.length) {
        value = words[++i];
      }
      if (opt !== undefined && cmd === program) globals[opt.attributeName()] = value;
      continue;
    }
    const sub = args.length === 0 && cmd.hasCommands() ? await cmd.findCommand(w) : undefined;
    if (sub !== undefined) {
      cmd = sub;
      path.push(sub);
    } else {
      args.push(w);
    }
  }
  const last = words.at(-1) ?? "";
  if (last.startsWith("-")) {
    const flags = cmd.options.flatMap((o) => [o.long, o.short]).filter((f): f is string =>
      f !== undefined && f.startsWith(last)
    );
    if ("--help".startsWith(last)) flags.push("--help");
    for (const f of flags) ctx.out(f + "\n");
    return 0;
  }
  if (cmd.hasCommands() && args.length === 0) {
    for (const n of cmd.commandNames()) ctx.out(n + "\n");
    return 0;
  }
  const key = path.map((c) => c.name()).join(" ");
  const kind = NICK_COMMANDS[key];
  if (kind === undefined) return 0;
  const typed = ctx.env(COMPLETION_WORD_ENV);
  // Without the variable (a script from the Go pvr) the last argument is the prefix.
  if (typed === undefined && args.length > 1) return 0;
  if (typed !== undefined && args.length > 0) return 0; // only the first argument
  const term = typed ?? args[0] ?? "";
  try {
    const cctx = new CliContext(ctx.io, () => globals as RawGlobalFlags);
    const g = cctx.globals();
    // A TAB must not hang: one attempt, a short timeout, never a prompt.
    const session = new PantahubSession({
      configDir: g.configDir,
      accessToken: g.accessToken || undefined,
      prompter: null,
      http: new HttpClient({
        fetch: commandTransport(cctx).fetch,
        timeoutMs: COMPLETION_TIMEOUT_MS,
        maxAttempts: 1,
      }),
    });
    const r = await suggestNicks({
      configDir: g.configDir,
      baseUrl: g.baseUrl,
      session,
      kind,
      term,
    });
    if (!r.loggedIn) ctx.err("Not-Loggedin -\n");
    else if (r.suggestions.length === 0) ctx.err("No results\n");
    for (const s of r.suggestions) ctx.out(s + "\n");
  } catch {
    ctx.err("No results\n");
  }
  return 0;
}
