/**
 * `pvr init`: make a directory a pvr repository.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { DEFAULT_SPEC } from "../model/state.ts";
import { absolutePath } from "../repo/global_config.ts";
import { emptyRepoConfig, formatRepoConfig, repoPaths } from "../repo/repo.ts";
import { writeFileAtomic } from "../../native/durability.ts";

/** Options for {@link init}. */
export interface InitOptions {
  /** The directory to initialise (created when missing). */
  dir: string;
  /** The global config dir; the default objects dir is `<configDir>/objects`. */
  configDir: string;
  /** The objects dir (absolute or relative to `dir`); default `<configDir>/objects`. */
  objectsDir?: string;
  /** The `#spec` of the new state; default `pantavisor-service-system@1`. */
  spec?: string;
}

/** What {@link init} created. */
export interface InitResult {
  dir: string;
  objectsDir: string;
  spec: string;
}

/**
 * Creates `.pvr/` with `json` = `{ "#spec": "<spec>" }` and a `config` naming the
 * (absolute) objects dir, as the Go pvr does. Unlike the Go pvr, initialising an
 * existing repository is an error (`ALREADY_A_REPO`), not a silent success.
 *
 * Permissions: read, write.
 *
 * @example
 * ```ts
 * import { init } from "./mod.ts";
 * await init({ dir: "/tmp/demo", configDir: `${Deno.env.get("HOME")}/.pvr` });
 * ```
 */
export async function init(opts: InitOptions): Promise<InitResult> {
  const paths = repoPaths(opts.dir);
  const spec = opts.spec || DEFAULT_SPEC;
  try {
    await Deno.lstat(paths.pvr);
    throw new PvrError(
      "ALREADY_A_REPO",
      `pvr init: .pvr directory/file found (${paths.pvr}). Cannot initialize an existing repository.`,
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const objectsDir = opts.objectsDir
    ? absolutePath(opts.objectsDir, opts.dir)
    : `${opts.configDir}/objects`;
  await Deno.mkdir(opts.dir, { recursive: true, mode: 0o700 });
  await Deno.mkdir(paths.pvr, { recursive: true, mode: 0o755 });
  await Deno.mkdir(objectsDir, { recursive: true, mode: 0o755 });
  const cfg = { ...emptyRepoConfig(), ObjectsDir: objectsDir };
  await writeFileAtomic(paths.config, formatRepoConfig(cfg), { mode: 0o644 });
  // The literal text the Go pvr writes (not canonical): `{ "#spec": "<spec>" }`.
  await writeFileAtomic(paths.json, `{ "#spec": ${JSON.stringify(spec)} }`, { mode: 0o644 });
  return { dir: opts.dir, objectsDir, spec };
}
