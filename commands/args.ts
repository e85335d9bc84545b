/**
 * pvr's own command-line parser and help printer. Its chainable API has the shape of
 * the part of commander (pvr's earlier parser) the command files use, and it keeps
 * commander's messages and help layout: commands with aliases, arguments, options,
 * hidden options, choices, defaults, environment variables, custom value parsers,
 * sub-commands, options before a command's sub-command only, `--`, `-abc`,
 * `--opt=value`. The option object of an action is typed from the flag strings.
 *
 * Sub-commands may be registered lazily ({@link CommandSpec.addLazyCommand}): only their
 * name, aliases and description are known up front, and their module is loaded when
 * the command line names them (or when a help listing needs every command).
 *
 * Usage errors throw {@link UsageError}; help and version output end the parse with
 * {@link ExitRequest}. Nothing here imports a package or a Node built-in.
 *
 * @module
 */

// ---------------------------------------------------------------------------------
// Types inferred from flag and argument strings

type CamelCase<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}`
  : S;

type FirstWord<S extends string> = S extends `${infer W} ${string}` ? W
  : S extends `${infer W},${string}` ? W
  : S extends `${infer W}|${string}` ? W
  : S extends `${infer W}=${string}` ? W
  : S;

/** `-j, --jobs <n>` → `jobs`; `-x` (short only) → `x`. */
type FlagName<F extends string> = F extends `${string}--${infer R}` ? FirstWord<R>
  : F extends `-${infer C}` ? FirstWord<C>
  : never;

/** The key of an option in the option object: `--dry-run` → `dryRun`, `--no-x` → `x`. */
export type OptionKey<F extends string> = FlagName<F> extends `no-${infer P}` ? CamelCase<P>
  : CamelCase<FlagName<F>>;

type IsNegated<F extends string> = FlagName<F> extends `no-${string}` ? true : false;

/**
 * The value an option's flags give it: `<x>` a string, `<x...>` a list, `[x]` a string
 * or true (flag given without a value), none a boolean.
 */
export type FlagValue<F extends string> = IsNegated<F> extends true ? boolean
  : F extends `${string}<${string}...>${string}` ? string[]
  : F extends `${string}<${string}>${string}` ? string
  : F extends `${string}[${string}...]${string}` ? string[] | boolean
  : F extends `${string}[${string}]${string}` ? string | boolean
  : boolean;

/** The option object entry of one option (`Present`: always has a value). */
export type OptionEntry<F extends string, V, Present extends boolean> = IsNegated<F> extends true
  ? { [K in OptionKey<F>]: V }
  : Present extends true ? { [K in OptionKey<F>]: V }
  : { [K in OptionKey<F>]?: V };

/** The value of an argument: `<x>` a string, `[x]` maybe one, `<x...>`/`[x...]` a list. */
export type ArgumentValue<S extends string> = S extends `${string}...${string}` ? string[]
  : S extends `<${string}` ? string
  : string | undefined;

/** An object type written out (for readable hovers and errors). */
export type Simplify<T> = { [K in keyof T]: T[K] } & unknown;

// ---------------------------------------------------------------------------------
// Errors and exits

/** A command-line usage error (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Help or the version was printed: the run ends here with `exitCode`. */
export class ExitRequest extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = "ExitRequest";
    this.exitCode = exitCode;
  }
}

/** Where a parse writes help and version text, and which environment it reads. */
export interface ParseRuntime {
  stdout: { write(text: string): void };
  stderr: { write(text: string): void };
  /** For options with `.env(NAME)`. */
  env: Readonly<Record<string, string | undefined>>;
}

// ---------------------------------------------------------------------------------
// Options

type ValueParser = (value: string, previous: unknown) => unknown;

/** An option: flags (`-j, --jobs <n>`), description and how its value is read. */
export class Option<F extends string = string, V = FlagValue<F>, Present extends boolean = false> {
  /** The option object type this option contributes (compile time only). */
  declare readonly _entry?: OptionEntry<F, V, Present>;

  readonly flags: string;
  readonly description: string;
  /** `-j`, if any. */
  readonly short?: string;
  /** `--jobs`, if any. */
  readonly long?: string;
  /** `<value>` required after the flag. */
  readonly required: boolean;
  /** `[value]` optional after the flag. */
  readonly optional: boolean;
  /** `<values...>`: every following non-option word. */
  readonly variadic: boolean;
  /** `--no-x`: sets x to false. */
  readonly negate: boolean;
  hidden = false;
  mandatory = false;
  defaultValue: unknown = undefined;
  envVar?: string;
  argChoices?: readonly string[];
  parser?: ValueParser;
  /** Prints this text and exits 0 when given (the program's `--version`). */
  versionText?: string;

  constructor(flags: F, description = "") {
    this.flags = flags;
    this.description = description;
    const words = flags.split(/[ |,]+/).filter((w) => w !== "");
    if (words.length > 1 && /^-[^-]$/.test(words[0])) this.short = words.shift();
    if (words.length > 0 && words[0].startsWith("--")) this.long = words.shift();
    if (this.short === undefined && this.long === undefined && /^-[^-]/.test(words[0] ?? "")) {
      this.short = words.shift();
    }
    if (this.short === undefined && this.long === undefined) {
      throw new Error(`option flags without a flag: '${flags}'`);
    }
    const value = words[0] ?? "";
    this.required = value.startsWith("<");
    this.optional = value.startsWith("[");
    this.variadic = /\.\.\.[>\]]$/.test(value);
    this.negate = this.long?.startsWith("--no-") ?? false;
  }

  /** The key in the option object (`--certs-url` → `certsUrl`). */
  attributeName(): string {
    const name = (this.long ?? this.short!).replace(/^-+/, "").replace(/^no-/, "");
    return name.replace(/-([a-z0-9])/gi, (_m, c: string) => c.toUpperCase());
  }

  /** True for a flag without a value. */
  isBoolean(): boolean {
    return !this.required && !this.optional && !this.negate;
  }

  /** True when `arg` is one of this option's flags. */
  is(arg: string): boolean {
    return arg === this.short || arg === this.long;
  }

  /** Only these values are accepted (a usage error otherwise). */
  choices<const C extends readonly string[]>(values: C): Option<F, C[number], Present> {
    this.argChoices = values;
    return this as unknown as Option<F, C[number], Present>;
  }

  /** The value when the flag (and its environment variable) is absent. */
  default<D>(value: D): Option<F, V | D, true> {
    this.defaultValue = value;
    return this as unknown as Option<F, V | D, true>;
  }

  /** Turns the text into the value; `previous` is the value so far (default, repeats). */
  argParser<T>(parse: (value: string, previous: T) => T): Option<F, T, Present> {
    this.parser = parse as ValueParser;
    return this as unknown as Option<F, T, Present>;
  }

  /** Read from this environment variable when the flag is not given. */
  env(name: string): this {
    this.envVar = name;
    return this;
  }

  /** Leaves the option out of the help. */
  hideHelp(hide = true): this {
    this.hidden = hide;
    return this;
  }

  /** Makes the option mandatory (a usage error when absent and without default). */
  makeOptionMandatory(): Option<F, V, true> {
    this.mandatory = true;
    return this as unknown as Option<F, V, true>;
  }

  /** The help text: the description, then choices, default and variable. */
  helpDescription(): string {
    const extra: string[] = [];
    if (this.argChoices) {
      extra.push(`choices: ${this.argChoices.map((c) => JSON.stringify(c)).join(", ")}`);
    }
    if (
      this.defaultValue !== undefined &&
      (this.required || this.optional || typeof this.defaultValue === "boolean")
    ) {
      extra.push(`default: ${JSON.stringify(this.defaultValue)}`);
    }
    if (this.envVar !== undefined) extra.push(`env: ${this.envVar}`);
    if (extra.length === 0) return this.description;
    return `${this.description} (${extra.join(", ")})`.trimStart();
  }
}

// ---------------------------------------------------------------------------------
// Commands

/** A declared positional argument. */
export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
}

/** A sub-command known by its names and description, its module loaded on use. */
export interface LazyCommand {
  name: string;
  aliases: readonly string[];
  description: string;
  load(): Promise<CommandSpec>;
}

type Handler = (args: unknown[], opts: Record<string, unknown>) => unknown;

const HELP_FLAGS = ["-h", "--help"];
const HELP_DESCRIPTION = "display help for command";
const HELP_WIDTH = 80;
const MIN_WRAP_WIDTH = 40;

function argumentTerm(a: ArgumentSpec): string {
  const name = a.name + (a.variadic ? "..." : "");
  return a.required ? `<${name}>` : `[${name}]`;
}

/** An argument that looks like an option (a negative number does not, see below). */
function looksLikeOption(arg: string): boolean {
  return arg.length > 1 && arg[0] === "-";
}

const NEGATIVE_NUMBER = /^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/;

/** Word-wraps `text` to `width` columns (existing line breaks kept). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      if (line !== "" && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    out.push(line);
  }
  return out;
}

/**
 * A command's runtime side: names, description, arguments, options, sub-commands,
 * parsing and help. Built with the typed {@link Command}; code that only runs or
 * inspects commands takes this type.
 */
export class CommandSpec {
  readonly #name: string;
  #aliases: string[] = [];
  #description = "";
  #summary = "";
  #positional = false;
  #helpAfter = "";
  #handler?: Handler;
  #values: Record<string, unknown> = {};
  /** The options the command line gave (they win over environment variables). */
  #fromCli = new Set<string>();
  #parent?: CommandSpec;
  /** Declared positional arguments, in order. */
  readonly registeredArguments: ArgumentSpec[] = [];
  /** Declared options, in order (the implicit `-h, --help` is not one of them). */
  readonly options: Option[] = [];
  /** Sub-commands, built or lazy, in order. */
  readonly #subs: (CommandSpec | LazyCommand)[] = [];

  constructor(name: string) {
    this.#name = name;
  }

  /** The command's name. */
  name(): string {
    return this.#name;
  }

  /** Adds an alias. */
  alias(alias: string): this {
    this.#aliases.push(alias);
    return this;
  }

  /** The aliases (no argument), or adds these aliases. */
  aliases(): readonly string[];
  aliases(list: readonly string[]): this;
  aliases(list?: readonly string[]): this | readonly string[] {
    if (list === undefined) return this.#aliases;
    this.#aliases.push(...list);
    return this;
  }

  /** The description (no argument), or sets it. */
  description(): string;
  description(text: string): this;
  description(text?: string): this | string {
    if (text === undefined) return this.#description;
    this.#description = text;
    return this;
  }

  /** The one-line summary for command lists (no argument), or sets it. */
  summary(): string;
  summary(text: string): this;
  summary(text?: string): this | string {
    if (text === undefined) return this.#summary;
    this.#summary = text;
    return this;
  }

  /** The command above this one, once added to it. */
  get parent(): CommandSpec | undefined {
    return this.#parent;
  }

  /**
   * This command's options are read only before its sub-command (whose options may
   * then reuse the same flags): `pvr -c dir init`, `pvr sig -c ca.pem ls`.
   */
  enablePositionalOptions(enable = true): this {
    this.#positional = enable;
    return this;
  }

  /** Text printed after the help. */
  addHelpText(text: string): this {
    this.#helpAfter = text;
    return this;
  }

  /** Adds a sub-command. */
  addCommand(command: CommandSpec): this {
    command.#parent = this;
    this.#subs.push(command);
    return this;
  }

  /** Adds a sub-command whose module is loaded when it is used. */
  addLazyCommand(entry: LazyCommand): this {
    this.#subs.push(entry);
    return this;
  }

  /** Adds a declared option (see {@link Command.addOption} for the typed form). */
  protected addOptionSpec(option: Option): void {
    const clash = this.options.find((o) =>
      (option.short !== undefined && o.short === option.short) ||
      (option.long !== undefined && o.long === option.long)
    );
    if (clash) {
      throw new Error(`${this.#name}: option '${option.flags}' clashes with '${clash.flags}'`);
    }
    this.options.push(option);
  }

  /** Adds a declared argument. */
  protected addArgumentSpec(spec: string, description: string): void {
    const m = /^([<[])(.+?)(\.\.\.)?([>\]])$/.exec(spec.trim());
    if (!m) throw new Error(`${this.#name}: bad argument '${spec}'`);
    const last = this.registeredArguments.at(-1);
    if (last?.variadic) throw new Error(`${this.#name}: only the last argument may be variadic`);
    this.registeredArguments.push({
      name: m[2],
      description,
      required: m[1] === "<",
      variadic: m[3] !== undefined,
    });
  }

  /** Sets what runs when this command is the one named. */
  protected setHandler(handler: Handler): void {
    this.#handler = handler;
  }

  /** The option values of the last parse (defaults, environment, flags). */
  optionValues(): Readonly<Record<string, unknown>> {
    return this.#values;
  }

  /** True when this command has sub-commands. */
  hasCommands(): boolean {
    return this.#subs.length > 0;
  }

  /** The names the sub-commands answer to (names and aliases, in order), none loaded. */
  commandNames(): string[] {
    return this.#subs.flatMap((s) => [nameOf(s), ...aliasesOf(s)]);
  }

  /** The sub-command a word names (the first declared wins), loading it if needed. */
  async findCommand(word: string): Promise<CommandSpec | undefined> {
    const i = this.#subs.findIndex((s) => nameOf(s) === word || aliasesOf(s).includes(word));
    if (i < 0) return undefined;
    return await this.#materialize(i);
  }

  /** Every sub-command, loaded. */
  async loadCommands(): Promise<CommandSpec[]> {
    return await Promise.all(this.#subs.map((_s, i) => this.#materialize(i)));
  }

  async #materialize(i: number): Promise<CommandSpec> {
    const s = this.#subs[i];
    if (s instanceof CommandSpec) return s;
    const built = await s.load();
    built.#parent = this;
    this.#subs[i] = built;
    return built;
  }

  #knowsCommand(word: string): boolean {
    return this.#subs.some((s) => nameOf(s) === word || aliasesOf(s).includes(word));
  }

  /** The option a flag (`--name`, `-x`) names, if any. */
  findOption(flag: string): Option | undefined {
    return this.options.find((o) => o.is(flag));
  }

  /** The full name used in usage lines: `pvr device get`. */
  commandPath(): string {
    return this.#parent ? `${this.#parent.commandPath()} ${this.#name}` : this.#name;
  }

  // -- parsing -------------------------------------------------------------------

  /**
   * Parses `argv` (without the program name) for this command, then runs the named
   * command's action. Throws {@link UsageError} or {@link ExitRequest}; errors of an
   * action propagate unchanged.
   */
  async parse(argv: readonly string[], rt: ParseRuntime): Promise<void> {
    await this.#run([...argv], rt);
  }

  #resetValues(): void {
    const values: Record<string, unknown> = {};
    for (const o of this.options) {
      const key = o.attributeName();
      if (o.negate) {
        const positive = this.options.some((p) => !p.negate && p.attributeName() === key);
        if (!positive) values[key] = o.defaultValue ?? true;
      } else if (o.defaultValue !== undefined) {
        values[key] = o.defaultValue;
      }
    }
    this.#values = values;
  }

  #set(option: Option, raw: string | null, fromEnv = false): void {
    const key = option.attributeName();
    const previous = this.#values[key];
    let value: unknown;
    if (raw !== null && option.argChoices && !option.argChoices.includes(raw)) {
      throw new UsageError(
        `option '${option.flags}' argument '${raw}' is invalid. Allowed choices are ` +
          `${option.argChoices.join(", ")}.`,
      );
    }
    if (raw !== null && option.parser) {
      value = option.parser(raw, previous);
    } else if (raw !== null && option.variadic) {
      value = Array.isArray(previous) && !(previous === option.defaultValue)
        ? [...previous, raw]
        : [raw];
    } else if (raw === null) {
      value = option.negate ? false : true;
    } else {
      value = raw;
    }
    this.#values[key] = value;
    if (!fromEnv) this.#fromCli.add(key);
  }

  /**
   * One pass over the words of this command: known options are taken anywhere before
   * `--`; after an unknown option the other words are "unknown" too; with positional
   * options, a sub-command's name ends the pass (the rest is the sub-command's).
   */
  #parseOptions(args: string[], rt: ParseRuntime): { operands: string[]; unknown: string[] } {
    const operands: string[] = [];
    const unknown: string[] = [];
    let dest = operands;
    let variadic: Option | undefined;
    const digitShort = this.options.some((o) => /^-\d$/.test(o.short ?? ""));
    const maybeOption = (arg: string) =>
      looksLikeOption(arg) && (digitShort || !NEGATIVE_NUMBER.test(arg));
    while (args.length > 0) {
      const arg = args.shift()!;
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...args);
        break;
      }
      if (variadic && !maybeOption(arg)) {
        this.#set(variadic, arg);
        continue;
      }
      variadic = undefined;
      if (maybeOption(arg)) {
        const option = this.findOption(arg);
        if (option) {
          if (option.required) {
            const value = args.shift();
            if (value === undefined) {
              throw new UsageError(`option '${option.flags}' argument missing`);
            }
            this.#set(option, value);
          } else if (option.optional) {
            const value = args.length > 0 && !maybeOption(args[0]) ? args.shift()! : null;
            this.#set(option, value);
          } else {
            this.#set(option, null);
          }
          if (option.versionText !== undefined) {
            rt.stdout.write(option.versionText + "\n");
            throw new ExitRequest(0);
          }
          variadic = option.variadic ? option : undefined;
          continue;
        }
      }
      // -abc: a short flag with its value attached, or several short flags
      if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
        const option = this.findOption(arg.slice(0, 2));
        if (option) {
          if (option.required || option.optional) {
            this.#set(option, arg.slice(2));
          } else {
            this.#set(option, null);
            args.unshift(`-${arg.slice(2)}`);
          }
          continue;
        }
      }
      // --name=value
      if (/^--[^=]+=/.test(arg)) {
        const eq = arg.indexOf("=");
        const option = this.findOption(arg.slice(0, eq));
        if (option && (option.required || option.optional)) {
          this.#set(option, arg.slice(eq + 1));
          continue;
        }
      }
      if (maybeOption(arg)) dest = unknown;
      if (this.#positional && operands.length === 0 && unknown.length === 0) {
        if (this.#knowsCommand(arg)) {
          operands.push(arg);
          unknown.push(...args);
          break;
        }
        if (arg === "help" && this.hasCommands()) {
          operands.push(arg, ...args);
          break;
        }
      }
      dest.push(arg);
    }
    return { operands, unknown };
  }

  #applyEnv(env: ParseRuntime["env"]): void {
    for (const o of this.options) {
      if (o.envVar === undefined) continue;
      const value = env[o.envVar];
      if (value === undefined || this.#fromCli.has(o.attributeName())) continue;
      if (o.required || o.optional) this.#set(o, value, true);
      else this.#set(o, null, true);
    }
  }

  async #run(args: string[], rt: ParseRuntime): Promise<void> {
    this.#resetValues();
    this.#fromCli = new Set();
    const { operands, unknown } = this.#parseOptions(args, rt);
    this.#applyEnv(rt.env);
    const end = unknown.indexOf("--");
    const beforeEnd = end < 0 ? unknown : unknown.slice(0, end);
    const sub = operands.length > 0 ? await this.findCommand(operands[0]) : undefined;
    if (sub) {
      await sub.#run([...operands.slice(1), ...unknown], rt);
      return;
    }
    if (this.hasCommands() && operands[0] === "help") {
      await this.#helpCommand(operands[1], rt);
      return;
    }
    if (beforeEnd.some((a) => HELP_FLAGS.includes(a))) {
      rt.stdout.write(await this.helpText());
      throw new ExitRequest(0);
    }
    for (const o of this.options) {
      if (o.mandatory && this.#values[o.attributeName()] === undefined) {
        throw new UsageError(`required option '${o.flags}' not specified`);
      }
    }
    const checkUnknown = () => {
      if (unknown.length === 0) return;
      const flag = unknown[0];
      const longs = [...this.options.filter((o) => !o.hidden).map((o) => o.long), "--help"];
      const hint = flag.startsWith("--")
        ? suggestSimilar(flag, longs.filter((l): l is string => l !== undefined))
        : "";
      throw new UsageError(`unknown option '${flag}'${hint}`);
    };
    if (this.#handler) {
      checkUnknown();
      const values = this.#processArguments([...operands, ...unknown]);
      await this.#handler(values, this.#values);
    } else if (operands.length > 0) {
      if (this.hasCommands()) {
        const names = [
          ...this.#subs.flatMap((c) => [nameOf(c), ...aliasesOf(c).slice(0, 1)]),
          "help",
        ];
        throw new UsageError(
          `unknown command '${operands[0]}'${suggestSimilar(operands[0], names)}`,
        );
      }
      checkUnknown();
      this.#processArguments([...operands, ...unknown]);
    } else if (this.hasCommands()) {
      checkUnknown();
      // Sub-commands but none named: the help, on stderr.
      rt.stderr.write(await this.helpText());
      throw new ExitRequest(0);
    } else {
      checkUnknown();
      this.#processArguments([...operands, ...unknown]);
    }
  }

  /** Checks the number of arguments and returns the action's argument values. */
  #processArguments(args: string[]): unknown[] {
    const declared = this.registeredArguments;
    if (args.length > declared.length && !declared.at(-1)?.variadic) {
      const forWhom = this.#parent ? ` for '${this.#name}'` : "";
      const n = declared.length;
      throw new UsageError(
        `too many arguments${forWhom}. Expected ${n} argument${n === 1 ? "" : "s"} but got ` +
          `${args.length}: ${args.join(", ")}.`,
      );
    }
    return declared.map((a, i) => {
      if (a.variadic) {
        if (a.required && i >= args.length) {
          throw new UsageError(`missing required argument '${a.name}'`);
        }
        return args.slice(i);
      }
      if (a.required && args[i] === undefined) {
        throw new UsageError(`missing required argument '${a.name}'`);
      }
      return args[i];
    });
  }

  async #helpCommand(word: string | undefined, rt: ParseRuntime): Promise<void> {
    if (word === undefined) {
      rt.stdout.write(await this.helpText());
      throw new ExitRequest(0);
    }
    // An unknown name gets this command's help.
    const sub = await this.findCommand(word) ?? this;
    rt.stdout.write(await sub.helpText());
    throw new ExitRequest(0);
  }

  // -- help ----------------------------------------------------------------------

  /** The usage after the command path: `[options] [command] <file> [more...]`. */
  usage(): string {
    return [
      "[options]", // every command has at least -h, --help
      ...(this.hasCommands() ? ["[command]"] : []),
      ...this.registeredArguments.map(argumentTerm),
    ].join(" ");
  }

  /** `name|alias [options] <args>`, as a command list shows a sub-command. */
  subcommandTerm(): string {
    const alias = this.#aliases[0];
    return [
      this.#name + (alias === undefined ? "" : `|${alias}`),
      ...(this.options.length > 0 ? ["[options]"] : []),
      ...this.registeredArguments.map(argumentTerm),
    ].join(" ");
  }

  /** The help text (loads every lazy sub-command, for their usage terms). */
  async helpText(): Promise<string> {
    const subs = await this.loadCommands();
    const alias = this.#aliases[0];
    const ancestors = this.#parent ? this.#parent.commandPath() + " " : "";
    const usage = `${ancestors}${this.#name}${alias === undefined ? "" : `|${alias}`} ` +
      this.usage();
    const args = this.registeredArguments.map((a) => [a.name, a.description]);
    const opts = this.options.filter((o) => !o.hidden).map((o) => [o.flags, o.helpDescription()]);
    opts.push([HELP_FLAGS.join(", "), HELP_DESCRIPTION]);
    const cmds = subs.map((c) => [c.subcommandTerm(), c.summary() || c.description()]);
    if (subs.length > 0) cmds.push(["help [command]", HELP_DESCRIPTION]);
    const width = Math.max(...[...args, ...opts, ...cmds].map(([t]) => t.length));
    const item = ([term, text]: string[]) => {
      if (text === "") return `  ${term}`;
      const indent = width + 4;
      const lines = HELP_WIDTH - indent >= MIN_WRAP_WIDTH
        ? wrap(text, HELP_WIDTH - indent)
        : text.split("\n");
      return `  ${term.padEnd(width)}  ${lines.join("\n" + " ".repeat(indent))}`;
    };
    const out = [`Usage: ${usage}`, ""];
    if (this.#description !== "") out.push(this.#description, "");
    if (args.length > 0 && args.some(([, d]) => d !== "")) {
      out.push("Arguments:", ...args.map(item), "");
    }
    out.push("Options:", ...opts.map(item), "");
    if (cmds.length > 0) out.push("Commands:", ...cmds.map(item), "");
    let text = out.join("\n");
    if (this.#helpAfter !== "") text += this.#helpAfter + "\n";
    return text;
  }
}

/** The largest edit distance of a suggestion. */
const MAX_DISTANCE = 3;

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent swaps). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > MAX_DISTANCE) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let j = 1; j <= b.length; j++) {
    for (let i = 1; i <= a.length; i++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * `\n(Did you mean x?)` for the candidates closest to `word` (at most 3 edits away
 * and more than 40% alike), or "" when none is close.
 */
export function suggestSimilar(word: string, candidates: readonly string[]): string {
  const options = word.startsWith("--");
  const w = options ? word.slice(2) : word;
  let best = MAX_DISTANCE;
  let similar: string[] = [];
  for (const c of new Set(candidates)) {
    const candidate = options ? c.slice(2) : c;
    if (candidate.length <= 1) continue;
    const distance = editDistance(w, candidate);
    const length = Math.max(w.length, candidate.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      similar = [candidate];
    } else if (distance === best) {
      similar.push(candidate);
    }
  }
  similar.sort((a, b) => a.localeCompare(b));
  if (options) similar = similar.map((c) => `--${c}`);
  if (similar.length > 1) return `\n(Did you mean one of ${similar.join(", ")}?)`;
  return similar.length === 1 ? `\n(Did you mean ${similar[0]}?)` : "";
}

function nameOf(s: CommandSpec | LazyCommand): string {
  return s instanceof CommandSpec ? s.name() : s.name;
}

function aliasesOf(s: CommandSpec | LazyCommand): readonly string[] {
  return s instanceof CommandSpec ? s.aliases() : s.aliases;
}

/**
 * A command being declared: every `.argument()` adds to `Args` (the action's leading
 * parameters) and every option to `Opts` (the action's option object), both typed
 * from the flag and argument strings.
 */
export class Command<Args extends unknown[] = [], Opts extends object = Record<never, never>>
  extends CommandSpec {
  /** Declares a positional argument: `<name>`, `[name]`, `<names...>`, `[names...]`. */
  argument<S extends string>(
    spec: S,
    description = "",
  ): Command<[...Args, ArgumentValue<S>], Opts> {
    this.addArgumentSpec(spec, description);
    return this as unknown as Command<[...Args, ArgumentValue<S>], Opts>;
  }

  /** Declares an option; see {@link Option} for the flag syntax. */
  option<F extends string>(
    flags: F,
    description?: string,
  ): Command<Args, Opts & OptionEntry<F, FlagValue<F>, false>>;
  option<F extends string, T>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
  ): Command<Args, Opts & OptionEntry<F, T, false>>;
  option<F extends string, T, D>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
    defaultValue: D,
  ): Command<Args, Opts & OptionEntry<F, T | D, true>>;
  option<F extends string, D extends string | number | boolean | string[]>(
    flags: F,
    description: string,
    defaultValue: D,
  ): Command<Args, Opts & OptionEntry<F, FlagValue<F> | D, true>>;
  option(
    flags: string,
    description = "",
    parseOrDefault?: unknown,
    defaultValue?: unknown,
  ): unknown {
    this.addOptionSpec(makeOption(flags, description, parseOrDefault, defaultValue));
    return this;
  }

  /** Declares an option that must be given (or have a default / variable). */
  requiredOption<F extends string>(
    flags: F,
    description?: string,
  ): Command<Args, Opts & OptionEntry<F, FlagValue<F>, true>>;
  requiredOption<F extends string, T>(
    flags: F,
    description: string,
    parse: (value: string, previous: T) => T,
  ): Command<Args, Opts & OptionEntry<F, T, true>>;
  requiredOption<F extends string, D extends string | number | boolean | string[]>(
    flags: F,
    description: string,
    defaultValue: D,
  ): Command<Args, Opts & OptionEntry<F, FlagValue<F> | D, true>>;
  requiredOption(
    flags: string,
    description = "",
    parseOrDefault?: unknown,
    defaultValue?: unknown,
  ): unknown {
    const o = makeOption(flags, description, parseOrDefault, defaultValue);
    o.mandatory = true;
    this.addOptionSpec(o);
    return this;
  }

  /** Declares an option built with {@link Option}. */
  addOption<F extends string, V, P extends boolean>(
    option: Option<F, V, P>,
  ): Command<Args, Opts & OptionEntry<F, V, P>> {
    this.addOptionSpec(option as unknown as Option);
    return this as unknown as Command<Args, Opts & OptionEntry<F, V, P>>;
  }

  /** The program's `-v, --version`: prints `text` and exits 0. */
  version(text: string, flags = "-V, --version", description = "output the version number"): this {
    const o = new Option(flags, description);
    o.versionText = text;
    this.addOptionSpec(o);
    return this;
  }

  /** The option values of the last parse, typed. */
  opts(): Simplify<Opts> {
    return this.optionValues() as Simplify<Opts>;
  }

  /** What runs when this command is named: the arguments, then the option object. */
  action(fn: (...args: [...Args, Simplify<Opts>]) => void | Promise<void>): this {
    this.setHandler((args, opts) => fn(...([...args, opts] as [...Args, Simplify<Opts>])));
    return this;
  }
}

function makeOption(
  flags: string,
  description: string,
  parseOrDefault: unknown,
  defaultValue: unknown,
): Option {
  const o = new Option(flags, description);
  if (typeof parseOrDefault === "function") {
    o.parser = parseOrDefault as ValueParser;
    o.defaultValue = defaultValue;
  } else {
    o.defaultValue = parseOrDefault;
  }
  return o;
}
