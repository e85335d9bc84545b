// deno-lint-ignore-file no-console
/**
 * Runs the stand-in Pantahub as a demo server:
 *
 * ```sh
 * deno run -A tests/support/hub/main.ts [--port N] [--host H] [--data DIR]
 * ```
 *
 * Prints the base URL and the seeded demo account (`demo`/`demo`). With `--data`,
 * metadata is kept in `DIR/hub.json` and blobs in `DIR/blobs`, so a restart keeps
 * accounts, devices, trails and tokens; without it everything is in memory and a temp
 * dir. Registered accounts are verified at once. Stops on Ctrl-C.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startHub } from "./server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    port: { type: "string", default: "12365" },
    host: { type: "string", default: "127.0.0.1" },
    data: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log("usage: main.ts [--port N] [--host H] [--data DIR]");
  Deno.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`bad --port ${values.port}`);
  Deno.exit(2);
}

let dataFile: string | undefined;
let blobDir: string | undefined;
if (values.data !== undefined) {
  await Deno.mkdir(`${values.data}/blobs`, { recursive: true });
  dataFile = `${values.data}/hub.json`;
  blobDir = `${values.data}/blobs`;
}

const hub = await startHub({ port, hostname: values.host, dataFile, blobDir, autoVerify: true });
if (hub.user("demo") === undefined) {
  hub.addUser("demo", "demo", "demo@example.com");
  await hub.save();
}

console.log(`Pantahub stand-in listening on ${hub.url}`);
console.log(`  PVR_BASEURL=${hub.url}`);
console.log(`  demo account: user "demo", password "demo"`);
console.log(dataFile === undefined ? "  data: in memory" : `  data: ${values.data}`);

const stop = async () => {
  console.log("stopping");
  await hub.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
