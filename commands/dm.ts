/** `pvr dm-convert` (alias `dmc`) and `pvr dm-apply` (alias `dma`): dm-verity volumes. */

import { Command } from "./args.ts";
import { dmArguments, dmConvert } from "../core/ops/dm_convert.ts";
import { dmApply } from "../core/ops/dm_apply.ts";
import type { CliContext } from "./context.ts";

/** Builds the `dm-convert` command. */
export function dmConvertCommand(ctx: CliContext) {
  return new Command("dm-convert")
    .alias("dmc")
    .description(
      "make a container's volume a dm-verity volume (veritysetup, Debian package cryptsetup-bin)",
    )
    .argument("<container>", "the container directory, or <container>/<volume>")
    .argument("[volume]", "the volume file in the container (e.g. root.squashfs)")
    .action(async (container, volume) => {
      const [c, v] = dmArguments(container, volume);
      ctx.out(`container=${c} volume=${v}\n`);
      const r = await dmConvert({
        ...ctx.repo(),
        container: c,
        volume: v,
        veritysetup: ctx.env("PVR_VERITYSETUP") || undefined,
      });
      ctx.out(`- Updated ${r.manifest}\n`);
      if (r.runJson !== undefined) ctx.out(`- Updated ${r.runJson}\n`);
      if (r.srcJson !== undefined) ctx.out(`- Updated ${r.srcJson}\n`);
      for (const w of r.warnings) ctx.err(`WARN: ${w}\n`);
    });
}

/** Builds the `dm-apply` command. */
export function dmApplyCommand(ctx: CliContext) {
  return new Command("dm-apply")
    .alias("dma")
    .description("regenerate the dm-verity hash trees of the volumes (keys under [prefix])")
    .argument("[prefix]", "only manifests whose path starts with this")
    .action(async (prefix) => {
      const r = await dmApply({
        ...ctx.repo(),
        prefix,
        veritysetup: ctx.env("PVR_VERITYSETUP") || undefined,
      });
      for (const v of r.volumes) {
        ctx.out(
          v.updated ? `- Updated ${v.manifest}\n` : `- Unchanged verity format ${v.manifest}\n`,
        );
      }
    });
}
