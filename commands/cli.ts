/**
 * The pvr command line: global flags, the command table (names and aliases as the Go
 * pvr resolves them), and the one place that turns errors into exit codes.
 *
 * @module
 */

import { Command, CommanderError } from "@commander-js/extra-typings";
import { CliContext, type CommandFactory, type RawGlobalFlags } from "./context.ts";
import { type CliIo, EXIT_CODE_HELP, reportError } from "./output.ts";
import { VERSION_TEXT } from "../core/version.ts";
import { initCommand } from "./init.ts";
import { addCommand } from "./add.ts";
import { jsonCommand } from "./json.ts";
import { diffCommand } from "./diff.ts";
import { statusCommand } from "./status.ts";
import { commitCommand } from "./commit.ts";
import { sigCommand } from "./sig.ts";
import { putCommand } from "./put.ts";
import { getCommand, mergeCommand } from "./get.ts";
import { resetCommand } from "./reset.ts";
import { cloneCommand } from "./clone.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";
import { fsckCommand } from "./fsck.ts";
import { globalConfigCommand } from "./global_config.ts";
import { deployCommand } from "./deploy.ts";
import { postCommand } from "./post.ts";
import { inspectCommand } from "./inspect.ts";
import { remoteInfoCommand, stepInfoCommand } from "./remoteinfo.ts";
import { fastcopyCommand } from "./fastcopy.ts";
import { putObjectsCommand } from "./putobjects.ts";
import { claimCommand } from "./claim.ts";
import { registerCommand } from "./register.ts";
import { scanDeprecatedCommand } from "./device/scan.ts";
import { psDeprecatedCommand } from "./device/ps.ts";
import { logsDeprecatedCommand } from "./device/logs.ts";
import { appCommand } from "./app.ts";
import { whoamiCommand } from "./whoami.ts";
import { loginCommand } from "./login.ts";
import { deviceCommand } from "./device.ts";
import { completeCli, completionCommand, GENERATE_FLAG } from "./completion.ts";
import { dmApplyCommand, dmConvertCommand } from "./dm.ts";
import { selfUpgradeCommand } from "./self_upgrade.ts";

/**
 * Commands in the Go pvr's order. Where the Go pvr declares one alias on several
 * commands, the first command wins (urfave/cli behaviour); the later declarations are
 * dropped here so that `pvr i` is init, `pvr d` is diff, `pvr s` is status, and so on.
 */
const COMMANDS: CommandFactory[] = [
  initCommand,
  addCommand,
  jsonCommand,
  claimCommand,
  diffCommand,
  statusCommand,
  commitCommand,
  sigCommand,
  putCommand,
  postCommand,
  getCommand,
  inspectCommand,
  remoteInfoCommand,
  stepInfoCommand,
  deployCommand,
  mergeCommand,
  resetCommand,
  cloneCommand,
  fastcopyCommand,
  putObjectsCommand,
  exportCommand,
  importCommand,
  registerCommand,
  scanDeprecatedCommand,
  psDeprecatedCommand,
  logsDeprecatedCommand,
  appCommand,
  fsckCommand,
  selfUpgradeCommand,
  globalConfigCommand,
  whoamiCommand,
  loginCommand,
  deviceCommand,
  completionCommand,
  dmApplyCommand,
  dmConvertCommand,
];

function buildProgram(ctx: CliContext, flags: { current: RawGlobalFlags }) {
  const program = new Command("pvr")
    .description("pvr — manage Pantavisor device states as one canonical, diffable JSON")
    .version(VERSION_TEXT, "-v, --version", "print the version")
    .option("-a, --access-token <token>", "Pantahub access token (env PVR_ACCESSTOKEN)")
    .option("-b, --baseurl <url>", "Pantahub API base (env PVR_BASEURL)")
    .option("--http-proxy <proxy>", "system, no, or a proxy URL (env PVR_HTTP_PROXY)")
    .option("-r, --repo-baseurl <url>", "base for scheme-less repo names (env PVR_REPO_BASEURL)")
    .option("-c, --config-dir <dir>", "global config dir, default ~/.pvr (env PVR_CONFIG_DIR)")
    .option("-d, --debug", "debug output (env PVR_DEBUG)")
    .option(
      "--disable-self-upgrade",
      "accepted for compatibility: pvr never checks for upgrades by itself (see self-upgrade)",
    )
    .option("-i, --insecure", "skip TLS verification (env PVR_INSECURE)")
    .option("--wait", "wait for another pvr process's repository lock (env PVR_WAIT)")
    .enablePositionalOptions()
    .addHelpText("after", "\n" + EXIT_CODE_HELP)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(s.startsWith("error:") ? `ERROR: ${s.slice(7)}` : s),
    })
    .hook("preAction", (cmd) => {
      flags.current = cmd.opts() as RawGlobalFlags;
    });
  for (const make of COMMANDS) {
    const sub = make(ctx).exitOverride().configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: (s, write) => write(s.startsWith("error:") ? `ERROR: ${s.slice(7)}` : s),
    });
    program.addCommand(sub);
  }
  return program;
}

/**
 * Runs pvr with `argv` (without the program name) and returns the exit code. Never
 * calls `Deno.exit`; all output goes to `io`.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const flags: { current: RawGlobalFlags } = { current: {} };
  const ctx = new CliContext(io, () => flags.current);
  const program = buildProgram(ctx, flags);
  if (argv.length === 0) {
    program.outputHelp(); // to stdout, exit 0, as the Go pvr
    return 0;
  }
  if (argv.at(-1) === GENERATE_FLAG) return await completeCli(program, argv.slice(0, -1), ctx);
  const asJson = argv.includes("--json");
  const first = argv.find((a) => !a.startsWith("-"));
  if (
    first !== undefined && argv[0] === first &&
    !program.commands.some((c) => c.name() === first || c.aliases().includes(first)) &&
    first !== "help"
  ) {
    io.stderr.write(`No help topic for '${first}'\n`);
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === "commander.helpDisplayed" || err.code === "commander.version" ||
        err.code === "commander.help"
      ) {
        return 0;
      }
      return 2;
    }
    return reportError(io, err, asJson);
  }
}
