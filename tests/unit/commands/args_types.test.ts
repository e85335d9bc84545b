/**
 * The option object and arguments of an action are typed from the flag and argument
 * strings (commands/args.ts). These checks run at type-check time: a wrong inference
 * is a compile error of this file.
 */

import assert from "node:assert/strict";
import { Command, Option } from "../../../commands/args.ts";

/** True when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

function expectType<T extends true>(_ok: T): void {}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

Deno.test("action parameters are typed from the flag and argument strings", async () => {
  const seen: unknown[] = [];
  const cmd = new Command("x")
    .argument("<repository>")
    .argument("[directory]")
    .argument("[rest...]")
    .option("-j, --jobs <n>", "jobs")
    .option("--hardlink", "a boolean flag")
    .option("--maybe [x]", "an optional value")
    .option("--many <x...>", "a list")
    .option("-s, --spec <spec>", "with a default", "pvs@1")
    .option("--no-color", "a negated flag")
    .option("--dry-run", "kebab case")
    .option("-i, --include <glob>", "repeatable", collect)
    .option("--timeout <s>", "parsed, with a default", (v: string) => Number(v), 5)
    .addOption(
      new Option("--format <f>").choices(["merge-patch", "json-patch"] as const).default(
        "merge-patch" as const,
      ),
    )
    .addOption(new Option("-r, --rev <rev>").argParser((v: string) => Number(v)).default(-1))
    .addOption(new Option("--hl").hideHelp())
    .addOption(new Option("--from <t>").env("X_FROM"))
    .action((repository, directory, rest, opts) => {
      expectType<Equal<typeof repository, string>>(true);
      expectType<Equal<typeof directory, string | undefined>>(true);
      expectType<Equal<typeof rest, string[]>>(true);
      expectType<Equal<typeof opts.jobs, string | undefined>>(true);
      expectType<Equal<typeof opts.hardlink, boolean | undefined>>(true);
      expectType<Equal<typeof opts.maybe, string | boolean | undefined>>(true);
      expectType<Equal<typeof opts.many, string[] | undefined>>(true);
      expectType<Equal<typeof opts.spec, string>>(true);
      expectType<Equal<typeof opts.color, boolean>>(true);
      expectType<Equal<typeof opts.dryRun, boolean | undefined>>(true);
      expectType<Equal<typeof opts.include, string[] | undefined>>(true);
      expectType<Equal<typeof opts.timeout, number>>(true);
      expectType<Equal<typeof opts.format, "merge-patch" | "json-patch">>(true);
      expectType<Equal<typeof opts.rev, number>>(true);
      expectType<Equal<typeof opts.hl, boolean | undefined>>(true);
      expectType<Equal<typeof opts.from, string | undefined>>(true);
      // @ts-expect-error: no such option
      opts.nope;
      seen.push(repository, directory, rest, opts);
    });
  expectType<Equal<ReturnType<typeof cmd.opts>["spec"], string>>(true);
  await cmd.parse(["repo", "-j", "4", "--no-color", "-i", "a", "-i", "b", "--timeout", "2"], {
    stdout: { write() {} },
    stderr: { write() {} },
    env: { X_FROM: "env" },
  });
  assert.deepEqual(seen, ["repo", undefined, [], {
    jobs: "4",
    spec: "pvs@1",
    color: false,
    include: ["a", "b"],
    timeout: 2,
    format: "merge-patch",
    rev: -1,
    from: "env",
  }]);
});
