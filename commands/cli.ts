/**
 * The pvr command line: global flags, the command table (names and aliases as the Go
 * pvr resolves them), and the one place that turns errors into exit codes.
 *
 * The table holds each command's name, aliases and one-line description and how to
 * load it: a command's module (and so its core modules) is imported only when the
 * command line names it. Help listings and completion of flags load what they show.
 *
 * @module
 */

import { Command, type CommandSpec, ExitRequest, UsageError } from "./args.ts";
import { addCommandTable, CliContext, type CommandEntry } from "./context.ts";
import { type CliIo, EXIT_CODE_HELP, reportError } from "./output.ts";
import { VERSION_TEXT } from "../core/version.ts";

/** The flag the completion script appends. */
export const GENERATE_FLAG = "--generate-bash-completion";

/**
 * Commands in the Go pvr's order. Where the Go pvr declares one alias on several
 * commands, the first command wins (urfave/cli behaviour); the later declarations are
 * dropped here so that `pvr i` is init, `pvr d` is diff, `pvr s` is status, and so on.
 */
export const COMMAND_TABLE: readonly CommandEntry[] = [
  {
    name: "init",
    aliases: ["i"],
    description: "initialize the current directory as a pvr repository",
    load: async () => (await import("./init.ts")).initCommand,
  },
  {
    name: "add",
    aliases: ["a"],
    description: "add files (paths, directories or globs; default: everything) to be committed",
    load: async () => (await import("./add.ts")).addCommand,
  },
  {
    name: "json",
    aliases: ["j"],
    description: "print the working state as JSON",
    load: async () => (await import("./json.ts")).jsonCommand,
  },
  {
    name: "claim",
    aliases: ["cl"],
    description:
      "claim ownership of a device that registered itself, with its secret challenge (asked for when not given)",
    load: async () => (await import("./claim.ts")).claimCommand,
  },
  {
    name: "diff",
    aliases: ["d"],
    description: "show the working changes as a JSON merge patch (or an RFC 6902 patch)",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  {
    name: "status",
    aliases: ["s"],
    description: "show added (A), removed (D), changed (C) and untracked (?) files",
    load: async () => (await import("./status.ts")).statusCommand,
  },
  {
    name: "commit",
    aliases: ["ci"],
    description: "commit the working state",
    load: async () => (await import("./commit.ts")).commitCommand,
  },
  {
    name: "sig",
    aliases: [],
    description: "pvs@2 signatures of the committed state (add, update, ls)",
    load: async () => (await import("./sig.ts")).sigCommand,
  },
  {
    name: "put",
    aliases: ["p"],
    description:
      "put the committed state and its objects into a repo dir (json + objects/) or a remote step",
    load: async () => (await import("./put.ts")).putCommand,
  },
  {
    name: "post",
    aliases: ["po"],
    description: "post the committed state as a new revision of a device (Pantahub step)",
    load: async () => (await import("./post.ts")).postCommand,
  },
  {
    name: "get",
    aliases: ["g"],
    description: "get a state (or #parts of it) and its objects; the working tree is not touched",
    load: async () => (await import("./get.ts")).getCommand,
  },
  {
    name: "inspect",
    aliases: [],
    description: "print the state of a repository, export or remote (default: this one)",
    load: async () => (await import("./inspect.ts")).inspectCommand,
  },
  {
    name: "remoteinfo",
    aliases: ["ri"],
    description: "print the remote descriptor (.pvrremote) of a repository URL",
    load: async () => (await import("./remoteinfo.ts")).remoteInfoCommand,
  },
  {
    name: "stepinfo",
    aliases: [],
    description: "print the step (revision) behind a repository URL",
    load: async () => (await import("./remoteinfo.ts")).stepInfoCommand,
  },
  {
    name: "deploy",
    aliases: [],
    description:
      "deploy sources into a trail directory: merge, clean, hardlink checkout, .pv/ links",
    load: async () => (await import("./deploy.ts")).deployCommand,
  },
  {
    name: "merge",
    aliases: ["m"],
    description: "merge a state (or #parts of it) into the committed state",
    load: async () => (await import("./get.ts")).mergeCommand,
  },
  {
    name: "reset",
    aliases: ["r", "checkout", "co"],
    description: "check out the committed state into the working tree",
    load: async () => (await import("./reset.ts")).resetCommand,
  },
  {
    name: "clone",
    aliases: ["c"],
    description: "clone a repository into a new directory and check it out",
    load: async () => (await import("./clone.ts")).cloneCommand,
  },
  {
    name: "fastcopy",
    aliases: ["fcp"],
    description:
      "copy a state or #parts (renamed by the destination's #parts) to another device, server side",
    load: async () => (await import("./fastcopy.ts")).fastcopyCommand,
  },
  {
    name: "putobjects",
    aliases: [],
    description: "send every object of the committed state to an objects endpoint",
    load: async () => (await import("./putobjects.ts")).putObjectsCommand,
  },
  {
    name: "export",
    aliases: [],
    description:
      "export the committed state and its objects as a tarball (.tar, .tar.gz, .tgz, - for stdout)",
    load: async () => (await import("./export.ts")).exportCommand,
  },
  {
    name: "import",
    aliases: [],
    description: "import an exported tarball (plain or gzip) as the committed state; no checkout",
    load: async () => (await import("./import.ts")).importCommand,
  },
  {
    name: "register",
    aliases: ["reg"],
    description: "register a new Pantahub account (confirmed by e-mail)",
    load: async () => (await import("./register.ts")).registerCommand,
  },
  {
    name: "scan",
    aliases: [],
    description: "scan the local network for Pantavisor devices (deprecated: use pvr device scan)",
    load: async () => (await import("./device/scan.ts")).scanDeprecatedCommand,
  },
  {
    name: "ps",
    aliases: [],
    description: "show owned devices (deprecated: use pvr device ps)",
    load: async () => (await import("./device/ps.ts")).psDeprecatedCommand,
  },
  {
    name: "logs",
    aliases: ["log"],
    description:
      "(deprecated: use pvr device logs) show the logs of devices you own; with --follow, keep streaming new entries",
    load: async () => (await import("./device/logs.ts")).logsDeprecatedCommand,
  },
  {
    name: "app",
    aliases: ["ap"],
    description: "work with the apps (containers) of the working tree",
    load: async () => (await import("./app.ts")).appCommand,
  },
  {
    name: "fsck",
    aliases: [],
    description: "verify that every object of the committed state exists and hashes right",
    load: async () => (await import("./fsck.ts")).fsckCommand,
  },
  {
    name: "self-upgrade",
    aliases: [],
    description:
      "replace this (compiled) pvr with the one of the pvr image (env PVR_SELF_UPGRADE_IMAGE)",
    load: async () => (await import("./self_upgrade.ts")).selfUpgradeCommand,
  },
  {
    name: "global-config",
    aliases: [],
    description: "show or set global configuration (KEY=VALUE, e.g. AutoUpgrade=false)",
    load: async () => (await import("./global_config.ts")).globalConfigCommand,
  },
  {
    name: "whoami",
    aliases: ["wai"],
    description: "show who you are logged in as, on each Pantahub you logged in to",
    load: async () => (await import("./whoami.ts")).whoamiCommand,
  },
  {
    name: "login",
    aliases: ["lo"],
    description:
      "log in to Pantahub (prompts for username and password; with -a, saves that token)",
    load: async () => (await import("./login.ts")).loginCommand,
  },
  {
    name: "device",
    aliases: ["dev"],
    description: "work with your Pantahub devices",
    load: async () => (await import("./device.ts")).deviceCommand,
  },
  {
    name: "completion",
    aliases: ["com"],
    description: 'print the bash completion script (eval "$(pvr completion)")',
    load: async () => (await import("./completion.ts")).completionCommand,
  },
  {
    name: "dm-apply",
    aliases: ["dma"],
    description: "regenerate the dm-verity hash trees of the volumes (keys under [prefix])",
    load: async () => (await import("./dm.ts")).dmApplyCommand,
  },
  {
    name: "dm-convert",
    aliases: ["dmc"],
    description:
      "make a container's volume a dm-verity volume (veritysetup, Debian package cryptsetup-bin)",
    load: async () => (await import("./dm.ts")).dmConvertCommand,
  },
];

/** The command `word` names (name or alias; the first entry wins), if any. */
export function findEntry(word: string): CommandEntry | undefined {
  return COMMAND_TABLE.find((e) => e.name === word || e.aliases.includes(word));
}

/** The program: global options, and every command of the table, loaded on use. */
export function buildProgram(ctx: CliContext) {
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
    .addHelpText("\n" + EXIT_CODE_HELP);
  addCommandTable(program, COMMAND_TABLE, ctx);
  return program;
}

/** The program of a run: its global flags are what the context resolves. */
function contextAndProgram(io: CliIo): { ctx: CliContext; program: CommandSpec } {
  const parsed: { program?: ReturnType<typeof buildProgram> } = {};
  const ctx = new CliContext(io, () => parsed.program?.opts() ?? {});
  parsed.program = buildProgram(ctx);
  return { ctx, program: parsed.program };
}

/**
 * Runs pvr with `argv` (without the program name) and returns the exit code. Never
 * calls `Deno.exit`; all output goes to `io`.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { ctx, program } = contextAndProgram(io);
  const asJson = argv.includes("--json");
  const rt = { stdout: io.stdout, stderr: io.stderr, env: io.env };
  try {
    if (argv.length === 0) {
      io.stdout.write(await program.helpText()); // to stdout, exit 0, as the Go pvr
      return 0;
    }
    if (argv.at(-1) === GENERATE_FLAG) {
      const { completeCli } = await import("./completion.ts");
      return await completeCli(program, argv.slice(0, -1), ctx);
    }
    const first = argv.find((a) => !a.startsWith("-"));
    if (
      first !== undefined && argv[0] === first && findEntry(first) === undefined &&
      first !== "help"
    ) {
      io.stderr.write(`No help topic for '${first}'\n`);
      return 2;
    }
    await program.parse(argv, rt);
    return 0;
  } catch (err) {
    if (err instanceof ExitRequest) return err.exitCode;
    if (err instanceof UsageError) {
      io.stderr.write(`ERROR: ${err.message}\n`);
      return 2;
    }
    return reportError(io, err, asJson);
  }
}
