/** The command-line parser and help printer of commands/args.ts. */

import assert from "node:assert/strict";
import {
  Command,
  type CommandSpec,
  ExitRequest,
  Option,
  suggestSimilar,
  UsageError,
} from "../../../commands/args.ts";

interface Run {
  out: string;
  err: string;
  /** The exit of a help/version run, or the usage error's message. */
  exit?: number;
  usage?: string;
}

async function run(
  cmd: CommandSpec,
  argv: string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const r: Run = { out: "", err: "" };
  try {
    await cmd.parse(argv, {
      stdout: { write: (s) => void (r.out += s) },
      stderr: { write: (s) => void (r.err += s) },
      env,
    });
  } catch (e) {
    if (e instanceof ExitRequest) r.exit = e.exitCode;
    else if (e instanceof UsageError) r.usage = e.message;
    else throw e;
  }
  return r;
}

/** A program with global options and a `status`, `clone` and `sig add`/`sig ls`. */
function program(calls: unknown[][]) {
  const sig = new Command("sig")
    .option("-p, --pubkey <pem>", "public key")
    .enablePositionalOptions();
  sig.addCommand(
    new Command("add").alias("a")
      .option("-p, --part <name>", "part")
      .option("-i, --include <glob>", "repeatable", (v, prev: string[] | undefined) => [
        ...(prev ?? []),
        v,
      ])
      .action((opts) => void calls.push(["sig add", sig.opts(), opts])),
  );
  sig.addCommand(
    new Command("ls").argument("[names...]", "names")
      .action((names, opts) => void calls.push(["sig ls", sig.opts(), names, opts])),
  );
  const prog = new Command("pvr")
    .description("the program")
    .version("pvr version 1", "-v, --version", "print the version")
    .option("-c, --config-dir <dir>", "config dir")
    .option("-d, --debug", "debug output")
    .enablePositionalOptions()
    .addHelpText("\nAfter.");
  prog.addCommand(
    new Command("status").alias("s")
      .description("show the status")
      .option("--json", "print JSON")
      .action((opts) => void calls.push(["status", prog.opts(), opts])),
  );
  prog.addCommand(
    new Command("clone").alias("c")
      .argument("<repository>", "what")
      .argument("[directory]", "where")
      .option("-q, --quiet", "quiet")
      .option("-j, --jobs <n>", "jobs")
      .option("-s, --spec <spec>", "spec", "pvs@1")
      .option("--rev <n>", "revision")
      .addOption(
        new Option("--format <format>", "the format").choices(["a", "b"] as const).default(
          "a" as const,
        ),
      )
      .addOption(new Option("--from <time>", "start").env("PVR_FROM"))
      .addOption(new Option("--hl").hideHelp())
      .action((repo, dir, opts) => void calls.push(["clone", repo, dir, opts])),
  );
  prog.addCommand(sig);
  return prog;
}

Deno.test("global options before the command, command options after it", async () => {
  const calls: unknown[][] = [];
  const p = program(calls);
  assert.deepEqual(await run(p, ["-c", "/cfg", "-d", "s", "--json"]), { out: "", err: "" });
  assert.deepEqual(calls, [["status", { configDir: "/cfg", debug: true }, { json: true }]]);
  // After the command, -c is the command's (clone has none: unknown).
  assert.equal((await run(p, ["status", "-d"])).usage, "unknown option '-d'");
  assert.equal((await run(p, ["--bogus", "status"])).usage, "unknown option '--bogus'");
});

Deno.test("values: --opt=value, -jN, -abc groups, repeats, defaults, choices, env", async () => {
  const calls: unknown[][] = [];
  const p = program(calls);
  await run(p, ["clone", "r", "--jobs=3", "--format=b"]);
  await run(p, ["clone", "-qj7", "r", "d"]);
  await run(p, ["clone", "r", "--rev", "-1", "--from", "x"], { PVR_FROM: "env" });
  await run(p, ["clone", "r", "--hl"], { PVR_FROM: "env" });
  assert.deepEqual(calls, [
    ["clone", "r", undefined, { spec: "pvs@1", format: "b", jobs: "3" }],
    ["clone", "r", "d", { spec: "pvs@1", format: "a", quiet: true, jobs: "7" }],
    ["clone", "r", undefined, { spec: "pvs@1", format: "a", rev: "-1", from: "x" }],
    ["clone", "r", undefined, { spec: "pvs@1", format: "a", hl: true, from: "env" }],
  ]);
  calls.length = 0;
  await run(p, ["sig", "add", "-i", "a", "--include", "b", "-p", "bsp"]);
  assert.deepEqual(calls, [["sig add", {}, { include: ["a", "b"], part: "bsp" }]]);
});

Deno.test("positional options: the same flag before and after a sub-command", async () => {
  const calls: unknown[][] = [];
  const p = program(calls);
  await run(p, ["sig", "-p", "key.pem", "a", "-p", "bsp"]);
  await run(p, ["sig", "-p", "key.pem", "ls", "x", "y"]);
  assert.deepEqual(calls, [
    ["sig add", { pubkey: "key.pem" }, { part: "bsp" }],
    ["sig ls", { pubkey: "key.pem" }, ["x", "y"], {}],
  ]);
});

Deno.test("-- ends the options; negative numbers are arguments", async () => {
  const calls: unknown[][] = [];
  const p = program(calls);
  await run(p, ["clone", "--", "-q"]);
  await run(p, ["clone", "-5", "-q"]);
  assert.deepEqual(calls.map((c) => [c[1], c[2]]), [["-q", undefined], ["-5", undefined]]);
});

Deno.test("usage errors in commander's words", async () => {
  const p = program([]);
  const usage = async (...argv: string[]) => (await run(p, argv)).usage;
  assert.equal(await usage("clone"), "missing required argument 'repository'");
  assert.equal(
    await usage("clone", "a", "b", "c"),
    "too many arguments for 'clone'. Expected 2 arguments but got 3: a, b, c.",
  );
  assert.equal(
    await usage("status", "x"),
    "too many arguments for 'status'. Expected 0 arguments but got 1: x.",
  );
  assert.equal(await usage("clone", "r", "-j"), "option '-j, --jobs <n>' argument missing");
  assert.equal(
    await usage("clone", "r", "--format", "c"),
    "option '--format <format>' argument 'c' is invalid. Allowed choices are a, b.",
  );
  assert.equal(await usage("status", "--jsn"), "unknown option '--jsn'\n(Did you mean --json?)");
  assert.equal(
    await usage("status", "--json=1"),
    "unknown option '--json=1'\n(Did you mean --json?)",
  );
  assert.equal(await usage("-c", "x", "stat"), "unknown command 'stat'\n(Did you mean status?)");
  assert.equal(await usage("sig", "lss"), "unknown command 'lss'\n(Did you mean ls?)");
  assert.equal(await usage("sig", "zzzzzz"), "unknown command 'zzzzzz'");
});

Deno.test("suggestSimilar() proposes the closest names only", () => {
  assert.equal(suggestSimilar("--jsn", ["--json", "--help"]), "\n(Did you mean --json?)");
  assert.equal(suggestSimilar("lo", ["ls", "lo2", "x"]), "\n(Did you mean one of lo2, ls?)");
  assert.equal(suggestSimilar("frobnicate", ["status", "init"]), "");
});

Deno.test("help: usage line, sections, hidden options, extra text; -h, help and no command", async () => {
  const p = program([]);
  const top = await run(p, ["--help"]);
  assert.equal(top.exit, 0);
  assert.equal(
    top.out,
    [
      "Usage: pvr [options] [command]",
      "",
      "the program",
      "",
      "Options:",
      "  -v, --version                               print the version",
      "  -c, --config-dir <dir>                      config dir",
      "  -d, --debug                                 debug output",
      "  -h, --help                                  display help for command",
      "",
      "Commands:",
      "  status|s [options]                          show the status",
      "  clone|c [options] <repository> [directory]",
      "  sig [options]",
      "  help [command]                              display help for command",
      "",
      "After.",
      "",
    ].join("\n"),
  );
  assert.deepEqual(await run(p, ["help"]), top);
  const clone = await run(p, ["help", "clone"]);
  assert.equal(clone.exit, 0);
  assert.match(clone.out, /^Usage: pvr clone\|c \[options\] <repository> \[directory\]\n/);
  assert.match(clone.out, /\nArguments:\n {2}repository +what\n {2}directory +where\n/);
  assert.match(clone.out, /--format <format> +the format \(choices: "a", "b", default: "a"\)/);
  assert.match(clone.out, /--from <time> +start \(env: PVR_FROM\)/);
  assert.doesNotMatch(clone.out, /--hl/);
  assert.deepEqual(await run(p, ["clone", "-h"]), clone);
  assert.deepEqual(await run(p, ["clone", "--bogus", "--help"]), clone, "help before errors");
  const sigAdd = await run(p, ["sig", "help", "add"]);
  assert.match(sigAdd.out, /^Usage: pvr sig add\|a \[options\]\n/);
  // A command with sub-commands but none named: its help on stderr, exit 0.
  const sig = await run(p, ["sig"]);
  assert.deepEqual([sig.exit, sig.out], [0, ""]);
  assert.match(sig.err, /^Usage: pvr sig \[options\] \[command\]\n/);
});

Deno.test("help wraps long descriptions at 80 columns under their column", async () => {
  const long = "word ".repeat(30).trim();
  const c = new Command("x").option("-a", long);
  const out = (await run(c, ["--help"])).out;
  const lines = out.split("\n").filter((l) => l.includes("word"));
  assert.ok(lines.length > 1);
  for (const l of lines) assert.ok(l.length <= 80, l);
  assert.ok(lines.slice(1).every((l) => l.startsWith(" ".repeat(14) + "word")), out);
});

Deno.test("-v/--version prints the version and exits 0", async () => {
  const p = program([]);
  assert.deepEqual(await run(p, ["-v"]), { out: "pvr version 1\n", err: "", exit: 0 });
  assert.deepEqual(await run(p, ["--version", "status"]), {
    out: "pvr version 1\n",
    err: "",
    exit: 0,
  });
});

Deno.test("lazy sub-commands are loaded only when named (first name wins)", async () => {
  const loaded: string[] = [];
  const calls: string[] = [];
  const p = new Command("pvr").enablePositionalOptions();
  for (const [name, aliases] of [["init", ["i"]], ["inspect", ["i"]]] as const) {
    p.addLazyCommand({
      name,
      aliases,
      description: `${name} things`,
      load: () => {
        loaded.push(name);
        return Promise.resolve(
          new Command(name).aliases(aliases).description(`${name} things`)
            .action(() => void calls.push(name)),
        );
      },
    });
  }
  assert.deepEqual(p.commandNames(), ["init", "i", "inspect", "i"]);
  await run(p, ["i"]);
  assert.deepEqual([loaded, calls], [["init"], ["init"]]);
  await run(p, ["--help"]);
  assert.deepEqual(loaded, ["init", "inspect"], "help loads what it lists");
});

Deno.test("a mandatory option and a custom parser's error", async () => {
  const c = new Command("x")
    .requiredOption("--name <n>", "needed")
    .option("--n <int>", "a number", (v: string) => {
      if (!/^\d+$/.test(v)) throw new Error(`not a number: ${v}`);
      return Number(v);
    });
  assert.equal((await run(c, [])).usage, "required option '--name <n>' not specified");
  await assert.rejects(() => run(c, ["--name", "a", "--n", "x"]), /not a number: x/);
});
