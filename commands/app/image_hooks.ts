/**
 * Where the app commands get the image side's implementations (building a squashfs
 * from an image, re-resolving an image on update): the hooks of
 * `core/ops/app_image.ts`, with progress lines going to stderr, mksquashfs looked up
 * on the command's `PATH`, and `--insecure` for registries.
 *
 * @module
 */

import type { BuildRootfs, RefreshSource } from "../../core/ops/app_install.ts";
import { type ImageHookOptions, imageHooksFor } from "../../core/ops/app_image.ts";
import type { CliContext } from "../context.ts";
import { remoteOptions } from "../remote.ts";

/** The image-side hooks of `app install` and `app update`. */
export interface ImageHooks {
  /** Builds a squashfs from an image. */
  buildRootfs?: BuildRootfs;
  /** Re-resolves an app's image and returns the new `src.json`. */
  refreshSource?: RefreshSource;
}

/** How the CLI runs the image side: messages to stderr, its `PATH`, `--insecure`. */
export function imageHookOptions(ctx: CliContext): ImageHookOptions {
  return {
    onMessage: (line) => ctx.err(line.endsWith("\n") ? line : line + "\n"),
    pathEnv: ctx.env("PATH"),
    insecure: ctx.globals().insecure,
    remote: remoteOptions(ctx),
    dockerHost: ctx.env("DOCKER_HOST") ?? "",
    dockerEnv: {
      HOME: ctx.env("HOME"),
      DOCKER_CONFIG: ctx.env("DOCKER_CONFIG"),
      PATH: ctx.env("PATH"),
    },
  };
}

/** The hooks of this build. */
export function imageHooks(ctx: CliContext): ImageHooks {
  return imageHooksFor(imageHookOptions(ctx));
}
