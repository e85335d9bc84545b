/**
 * Freezes the public library surface of `mod.ts`. A change here is an API change:
 * update the lists on purpose (and the README), never to make the test pass.
 */

import assert from "node:assert/strict";
import * as mod from "../../mod.ts";
import { PROJECT_ROOT } from "../support/cli.ts";

/** The values `mod.ts` exports (functions, classes, constants). */
const VALUE_EXPORTS = [
  "EXIT_CODES",
  "JsonNumber",
  "NULL_TRANSFER_REPORTER",
  "PantahubSession",
  "PvrError",
  "TtyPrompter",
  "VERSION",
  "add",
  "canonicalJson",
  "checkout",
  "claim",
  "clone",
  "commit",
  "deploy",
  "deviceCreate",
  "deviceGet",
  "deviceLogs",
  "devicePs",
  "deviceScan",
  "deviceSet",
  "diff",
  "exitCodeFor",
  "exportRepo",
  "fastcopy",
  "fsck",
  "get",
  "globalConfig",
  "importRepo",
  "init",
  "inspect",
  "json",
  "login",
  "merge",
  "parseJson",
  "post",
  "put",
  "putObjects",
  "register",
  "remoteInfo",
  "resolveConfigDir",
  "runCli",
  "status",
  "stepInfo",
  "whoami",
];

/** The types `mod.ts` exports (invisible at run time; read with `deno doc --json`). */
const TYPE_EXPORTS = [
  "AddOptions",
  "AddResult",
  "CheckoutOptions",
  "CheckoutResult",
  "ClaimOptions",
  "ClaimResult",
  "CloneOptions",
  "CloneResult",
  "CommitOptions",
  "CommitResult",
  "CommittedFile",
  "DeployOptions",
  "DeployResult",
  "DeviceCreateOptions",
  "DeviceCreateResult",
  "DeviceGetOptions",
  "DeviceGetResult",
  "DeviceLogsOptions",
  "DeviceLogsResult",
  "DevicePsOptions",
  "DevicePsResult",
  "DeviceScanOptions",
  "DeviceScanResult",
  "DeviceSetOptions",
  "DeviceSetResult",
  "DeviceSummary",
  "DiffOptions",
  "DiffResult",
  "ExportRepoOptions",
  "ExportRepoResult",
  "FastcopyOptions",
  "FastcopyResult",
  "FsckOptions",
  "FsckProblem",
  "FsckResult",
  "GetOptions",
  "GetResult",
  "GlobalConfigOptions",
  "GlobalConfigResult",
  "ImportRepoOptions",
  "ImportRepoResult",
  "InitOptions",
  "InitResult",
  "InspectOptions",
  "InspectResult",
  "JsonObject",
  "JsonOptions",
  "JsonResult",
  "JsonValue",
  "LogEntry",
  "LoginOptions",
  "LoginResult",
  "PantahubCaller",
  "PantahubOptions",
  "PantahubRequest",
  "PantahubSessionOptions",
  "PostEnvelopeOptions",
  "PostOptions",
  "PostResult",
  "PostedRevision",
  "Prompter",
  "PutObjectsOptions",
  "PutObjectsResult",
  "PutOptions",
  "PutResult",
  "PvrErrorCode",
  "PvrRemote",
  "RegisterOptions",
  "RegisterResult",
  "RemoteInfoOptions",
  "RemoteInfoResult",
  "RemoteOptions",
  "RepoOptions",
  "RetryPolicy",
  "ScannedDevice",
  "State",
  "StatusOptions",
  "StatusResult",
  "StepInfoOptions",
  "StepInfoResult",
  "TransferDirection",
  "TransferObject",
  "TransferOptions",
  "TransferOutcome",
  "TransferReporter",
  "TransferTotals",
  "UploadObjectsHook",
  "UploadOutcome",
  "UploadedObject",
  "WhoamiAccount",
  "WhoamiOptions",
  "WhoamiResult",
];

Deno.test("mod.ts exports exactly the frozen list of values", () => {
  assert.deepEqual(Object.keys(mod).sort(), VALUE_EXPORTS);
});

Deno.test("mod.ts exports exactly the frozen list of values and types (deno doc)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const node = doc.nodes[`file://${PROJECT_ROOT}/mod.ts`];
  const names = (node.symbols as { name: string }[]).map((s) => s.name).sort();
  assert.deepEqual(names, [...VALUE_EXPORTS, ...TYPE_EXPORTS].sort());
});

Deno.test("mod.ts operations are async functions taking one options object", () => {
  const ops = [
    "add",
    "checkout",
    "clone",
    "commit",
    "deploy",
    "diff",
    "exportRepo",
    "fsck",
    "get",
    "globalConfig",
    "importRepo",
    "init",
    "json",
    "merge",
    "put",
    "status",
    "post",
    "putObjects",
    "fastcopy",
    "inspect",
    "remoteInfo",
    "stepInfo",
    "login",
    "whoami",
    "register",
    "claim",
    "deviceCreate",
    "deviceGet",
    "deviceSet",
    "devicePs",
    "deviceLogs",
    "deviceScan",
  ] as const;
  for (const name of ops) {
    const fn = mod[name] as unknown;
    assert.equal(typeof fn, "function", name);
    assert.equal((fn as (o: unknown) => unknown).length, 1, `${name} takes one argument`);
  }
});

Deno.test("mod.ts VERSION is a semantic version and EXIT_CODES is the README table", () => {
  assert.match(mod.VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.deepEqual(
    [...new Set(Object.values(mod.EXIT_CODES))].sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.equal(mod.exitCodeFor(new mod.PvrError("UNSAFE_PATH", "x")), 5);
  assert.equal(mod.exitCodeFor(new Error("plain")), 1);
});
