/** `pvr sig` (pvs@2 signatures): `add` (`a`), `update` (`up`), `ls`. */

import { Command } from "./args.ts";
import { sigAdd } from "../core/ops/sig_add.ts";
import { sigUpdate } from "../core/ops/sig_update.ts";
import { formatSigLs, sigLs } from "../core/ops/sig_ls.ts";
import { type SigKeyOptions, writeSigOutput } from "../core/ops/sig_common.ts";
import { HttpClient } from "../core/remote/http.ts";
import { type CliContext, envFlag } from "./context.ts";
import { commandPrompter, commandTransport } from "./pantahub.ts";

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** Builds `sig` and its subcommands. */
export function sigCommand(ctx: CliContext) {
  const sig = new Command("sig")
    .description("pvs@2 signatures of the committed state (add, update, ls)")
    .option("-k, --key <pem>", "PEM private key for signing (env PVR_SIG_KEY)")
    .option("-x, --x5c <pem>", "PEM certificate chain for x5c, or 'no' (env PVR_X5C_PATH)")
    .option("-p, --pubkey <pem>", "PEM public key(s) to verify with (env PVR_SIG_PUBKEY)")
    .option("-c, --cacerts <pem>", "PEM CA bundle to verify x5c chains (env PVR_SIG_CACERTS)")
    .option("--certs-url <url>", "where the default developer keys come from (env PVS_CERTS_URL)")
    .option(
      "--with-payload",
      "keep the payload in signatures / show it in ls (env PVS_SIG_WITH_PAYLOAD)",
    )
    .option("--output <file>", "also write the signature there; '-' is stdout (env PVS_SIG_OUTPUT)")
    .enablePositionalOptions();

  const parent = () => sig.opts();
  const keyOptions = (): SigKeyOptions & { withPayload: boolean; output: string } => {
    const f = parent();
    const g = ctx.globals();
    return {
      key: f.key ?? ctx.env("PVR_SIG_KEY"),
      x5c: f.x5c ?? ctx.env("PVR_X5C_PATH"),
      certsUrl: f.certsUrl || ctx.env("PVS_CERTS_URL") || undefined,
      prompter: commandPrompter(ctx),
      http: new HttpClient({
        fetch: commandTransport(ctx).fetch,
        debug: g.debug ? (l) => ctx.err(l + "\n") : undefined,
      }),
      notice: (line) => ctx.err(line + "\n"),
      withPayload: f.withPayload ?? envFlag(ctx, "PVS_SIG_WITH_PAYLOAD"),
      output: f.output ?? ctx.env("PVS_SIG_OUTPUT") ?? "",
    };
  };
  // --output is truncated once per command; every signature made is written to it.
  const writeOutput = async (output: string, files: Uint8Array[]) => {
    if (output === "") return;
    if (output === "-") {
      for (const f of files) ctx.io.stdout.write(f);
      return;
    }
    await writeSigOutput(output.startsWith("/") ? output : `${ctx.io.cwd}/${output}`, files);
  };

  const add = new Command("add")
    .alias("a")
    .description(
      "sign a part (or a raw selection) of the committed state into _sigs/<name>.json",
    )
    .option("-p, --part <name>", "select the elements of this part")
    .option("-r, --raw <name>", "select elements with the raw include/exclude globs")
    .option("-i, --include <glob>", "include keys by glob (repeatable; default **)", collect)
    .option(
      "-e, --exclude <glob>",
      "exclude keys by glob (repeatable; default src.json)",
      collect,
    )
    .option("-n, --noconfig", "part mode: leave _config/<part>/** out")
    .action(async (opts) => {
      const k = keyOptions();
      const r = await sigAdd({
        ...ctx.repo(),
        ...k,
        part: opts.part,
        raw: opts.raw,
        include: opts.include,
        exclude: opts.exclude,
        noconfig: opts.noconfig ?? false,
      });
      await writeOutput(k.output, [r.file]);
    });

  const update = new Command("update")
    .alias("up")
    .description("re-sign pvs@2 signatures with the current key, keeping their match rule")
    .argument("[names...]", "NAME (_sigs/NAME.json) or a .json glob; default _sigs/*.json")
    .action(async (names) => {
      const k = keyOptions();
      const r = await sigUpdate({
        ...ctx.repo(),
        ...k,
        names,
        onProgress: (key, phase) => {
          if (phase === "start") ctx.err(`Updating pvs signature @ ${key}`);
          else ctx.err(phase === "done" ? " [DONE]\n" : " [ERROR]\n");
        },
      });
      await writeOutput(k.output, r.updated.map((u) => u.file));
    });

  const ls = new Command("ls")
    .description("verify signatures against the committed state and list what they protect")
    .argument("[names...]", "NAME (_sigs/NAME.json) or a .json path; default all")
    .option("-s, --with-sigs", "show the full JSON web signatures (env PVR_SIG_LS_WITH_SIGS)")
    .option("-p, --part <name>", "accepted for compatibility; unused")
    .action(async (names, opts) => {
      const f = parent();
      const k = keyOptions();
      const r = await sigLs({
        ...ctx.repo(),
        certsUrl: k.certsUrl,
        prompter: k.prompter,
        http: k.http,
        notice: k.notice,
        names,
        pubkey: f.pubkey ?? ctx.env("PVR_SIG_PUBKEY") ?? undefined,
        cacerts: f.cacerts ?? ctx.env("PVR_SIG_CACERTS") ?? undefined,
        withPayload: k.withPayload,
        warn: (line) => ctx.err(line + "\n"),
      });
      ctx.out(formatSigLs(r, opts.withSigs ?? envFlag(ctx, "PVR_SIG_LS_WITH_SIGS")));
    });

  for (const sub of [add, update, ls]) {
    sig.addCommand(sub);
  }
  return sig;
}
