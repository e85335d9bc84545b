/**
 * Where the app commands get the image side's implementations (building a squashfs
 * from an image, re-resolving an image on update). Until the image side provides
 * them here, `app install`/`app update` can only re-render the templates of apps whose
 * squashfs files are up to date, and fail with `MISSING_TOOL` otherwise.
 *
 * @module
 */

import type { BuildRootfs, RefreshSource } from "../../core/ops/app_install.ts";

/** The image-side hooks of `app install` and `app update`. */
export interface ImageHooks {
  /** Builds a squashfs from an image. */
  buildRootfs?: BuildRootfs;
  /** Re-resolves an app's image and returns the new `src.json`. */
  refreshSource?: RefreshSource;
}

/** The hooks available in this build (none yet: image support is not wired in). */
export function imageHooks(): ImageHooks {
  return {};
}
