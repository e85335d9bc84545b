/** `pvr remoteinfo` (alias `ri`) and `pvr stepinfo` (its Go alias `ri` is shadowed). */

import { Command } from "./args.ts";
import { remoteInfo } from "../core/ops/remoteinfo.ts";
import { stepInfo } from "../core/ops/stepinfo.ts";
import type { PvrRemote } from "../core/remote/pantahub/remote.ts";
import { canonicalJson } from "../core/model/canonical.ts";
import { goIndent, goMarshal, goString } from "../core/model/go_json.ts";
import type { CliContext } from "./context.ts";
import { sessionCaller } from "./remote.ts";

/**
 * A descriptor as the Go pvr prints it: its struct's fields in order (`post-fields-opt`
 * null when absent), compact; `goIndent` makes the tab-indented form.
 */
export function formatRemote(r: PvrRemote): string {
  const list = (a: string[] | null) => a === null ? "null" : `[${a.map(goString).join(",")}]`;
  return `{"pvr-spec":${goString(r["pvr-spec"])},"json-get-url":${goString(r["json-get-url"])},` +
    `"json-key":${goString(r["json-key"])},"objects-endpoint":${goString(r["objects-endpoint"])},` +
    `"post-url":${goString(r["post-url"])},"post-fields":${list(r["post-fields"])},` +
    `"post-fields-opt":${list(r["post-fields-opt"])}}`;
}

function infoOptions(ctx: CliContext, ref: string | undefined) {
  const g = ctx.globals();
  return {
    caller: sessionCaller(ctx),
    repoBaseUrl: g.repoBaseUrl,
    configDir: g.configDir,
    cwd: ctx.io.cwd,
    ref,
  };
}

/** Builds the `remoteinfo` command. */
export function remoteInfoCommand(ctx: CliContext) {
  return new Command("remoteinfo")
    .alias("ri")
    .description("print the remote descriptor (.pvrremote) of a repository URL")
    .argument("[repository]", "URL or <user>/<device> (default: this repository's remote)")
    .option("-c, --canonical", "print compact JSON")
    .option("--json", "same as --canonical")
    .action(async (ref, opts) => {
      const r = await remoteInfo(infoOptions(ctx, ref));
      const text = formatRemote(r.remote);
      ctx.out((opts.canonical || opts.json ? text : goIndent(text, "", "\t")) + "\n");
    });
}

/** Builds the `stepinfo` command. */
export function stepInfoCommand(ctx: CliContext) {
  return new Command("stepinfo")
    .description("print the step (revision) behind a repository URL")
    .argument("[repository]", "URL or <user>/<device> (default: this repository's remote)")
    .option("-c, --canonical", "print canonical JSON")
    .option("--json", "same as --canonical")
    .action(async (ref, opts) => {
      const r = await stepInfo(infoOptions(ctx, ref));
      ctx.out(
        (opts.canonical || opts.json
          ? canonicalJson(r.step)
          : goIndent(goMarshal(r.step, { numbers: "text" }), "", "\t")) + "\n",
      );
    });
}
