/**
 * What every command gets: the I/O, and the global options resolved against the
 * environment (flag, else `PVR_*` variable, else default — as the Go pvr).
 *
 * @module
 */

import type { CommandSpec } from "./args.ts";
import { resolveConfigDir } from "../core/repo/global_config.ts";
import type { RepoOptions } from "../core/ops/common.ts";
import type { CliIo } from "./output.ts";

/** The global options after resolution. */
export interface GlobalOptions {
  accessToken: string;
  baseUrl: string;
  repoBaseUrl: string;
  configDir: string;
  debug: boolean;
  insecure: boolean;
  wait: boolean;
  httpProxy: string;
}

/** Raw global flags as the command line gave them. */
export interface RawGlobalFlags {
  accessToken?: string;
  baseurl?: string;
  repoBaseurl?: string;
  configDir?: string;
  debug?: boolean;
  insecure?: boolean;
  wait?: boolean;
  httpProxy?: string;
}

const TRUE = /^(1|true|yes|on)$/i;

/** The CLI context handed to every command. */
export class CliContext {
  readonly io: CliIo;
  private flags: () => RawGlobalFlags;

  constructor(io: CliIo, flags: () => RawGlobalFlags) {
    this.io = io;
    this.flags = flags;
  }

  /** The resolved global options. */
  globals(): GlobalOptions {
    const f = this.flags();
    const env = this.io.env;
    return {
      accessToken: f.accessToken ?? env.PVR_ACCESSTOKEN ?? "",
      baseUrl: f.baseurl || env.PVR_BASEURL || "https://api.pantahub.com",
      repoBaseUrl: f.repoBaseurl || env.PVR_REPO_BASEURL || "https://pvr.pantahub.com",
      configDir: resolveConfigDir(env, this.io.cwd, f.configDir),
      debug: f.debug ?? TRUE.test(env.PVR_DEBUG ?? ""),
      insecure: f.insecure ?? TRUE.test(env.PVR_INSECURE ?? ""),
      wait: f.wait ?? TRUE.test(env.PVR_WAIT ?? ""),
      httpProxy: f.httpProxy || env.PVR_HTTP_PROXY || "system",
    };
  }

  /** Options for an operation on the repository in the current directory. */
  repo(): RepoOptions {
    const g = this.globals();
    return { dir: this.io.cwd, configDir: g.configDir, wait: g.wait };
  }

  /** An environment variable. */
  env(name: string): string | undefined {
    return this.io.env[name];
  }

  /** Writes to stdout. */
  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** Writes to stderr (diagnostics and progress). */
  err(text: string): void {
    this.io.stderr.write(text);
  }
}

/** A boolean environment variable's value. */
export function envFlag(ctx: CliContext, name: string): boolean {
  return TRUE.test(ctx.env(name) ?? "");
}

/** A command factory: builds one subcommand bound to the context. */
export type CommandFactory = (ctx: CliContext) => CommandSpec;

/**
 * A command of a command table: what help and completion list without loading it,
 * and how to load it. Name, aliases and description are the ones its module declares
 * (tests/unit/commands/command_table.test.ts checks that).
 */
export interface CommandEntry {
  name: string;
  aliases: readonly string[];
  description: string;
  load: () => Promise<CommandFactory>;
}

/** Adds the commands of `table` to `parent`, each loaded (and built for `ctx`) on use. */
export function addCommandTable(
  parent: CommandSpec,
  table: readonly CommandEntry[],
  ctx: CliContext,
): void {
  for (const entry of table) {
    parent.addLazyCommand({
      name: entry.name,
      aliases: entry.aliases,
      description: entry.description,
      load: async () => (await entry.load())(ctx),
    });
  }
}
