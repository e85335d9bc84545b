/**
 * The command tables (commands/cli.ts, and the subcommands of app and device) list each
 * command's name, aliases and description without loading its module: they must be
 * what the module declares.
 */

import assert from "node:assert/strict";
import { COMMAND_TABLE, findEntry } from "../../../commands/cli.ts";
import { APP_COMMANDS } from "../../../commands/app.ts";
import { DEVICE_COMMANDS } from "../../../commands/device.ts";
import { CliContext, type CommandEntry } from "../../../commands/context.ts";
import { BufferStream } from "../../../commands/output.ts";

function context(): CliContext {
  const io = { stdout: new BufferStream(), stderr: new BufferStream(), env: {}, cwd: "/" };
  return new CliContext(io, () => ({}));
}

const TABLES: [string, readonly CommandEntry[]][] = [
  ["pvr", COMMAND_TABLE],
  ["pvr app", APP_COMMANDS],
  ["pvr device", DEVICE_COMMANDS],
];

Deno.test("every table entry is what its loaded module declares", async () => {
  const ctx = context();
  for (const [parent, table] of TABLES) {
    for (const entry of table) {
      const cmd = (await entry.load())(ctx);
      assert.deepEqual(
        { name: entry.name, aliases: entry.aliases, description: entry.description },
        { name: cmd.name(), aliases: cmd.aliases(), description: cmd.description() },
        `the table entry of ${parent} ${entry.name}`,
      );
    }
  }
});

Deno.test("the table's names and aliases are unique: every one names one command", () => {
  for (const [parent, table] of TABLES) {
    const names = table.flatMap((e) => [e.name, ...e.aliases]);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    assert.deepEqual(twice, [], parent);
  }
  assert.equal(findEntry("i")?.name, "init");
  assert.equal(findEntry("checkout")?.name, "reset");
  assert.equal(findEntry("nope"), undefined);
});
