/**
 * `pvr inspect`: the state of a repository, an export or a remote, without its objects.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { filterByParts, keyInPart, parseParts } from "../model/parts.ts";
import type { State } from "../model/state.ts";
import { Repo } from "../repo/repo.ts";
import { openSource, splitRef } from "../remote/source.ts";
import { fixupRepoRef, type RemoteOptions } from "../remote/pantahub/remote.ts";

/** Options for {@link inspect}. */
export interface InspectOptions extends RemoteOptions {
  /**
   * A repo dir, checkout root, export tarball, URL, `user/device` or bare IP, with an
   * optional `#part,-part`; default: the repository at `cwd`.
   */
  ref?: string;
  /** Resolves relative references; the default repository. */
  cwd: string;
  /** The global config dir. */
  configDir: string;
}

/** What {@link inspect} found. */
export interface InspectResult {
  /** The reference after the fixup. */
  ref: string;
  /** The state, filtered by the fragment's parts. */
  state: State;
}

/**
 * Reads the state a reference names (§5.16). Unlike the Go pvr, the fragment applies:
 * `#bsp` shows only `bsp/…`, `#-bsp` everything else.
 *
 * Permissions: read; write (a tarball is staged in a temp dir); net for remotes.
 *
 * @example
 * ```ts
 * import { inspect } from "./mod.ts";
 * const { state } = await inspect({ cwd: Deno.cwd(), configDir, ref: "export.tgz#bsp" });
 * ```
 */
export async function inspect(opts: InspectOptions): Promise<InspectResult> {
  const ref = opts.ref
    ? await fixupRepoRef(opts.ref, { cwd: opts.cwd, repoBaseUrl: opts.repoBaseUrl })
    : `${(await Repo.open({ dir: opts.cwd, configDir: opts.configDir })).paths.pvr}`;
  const { base, fragment } = splitRef(ref);
  const tmpDir = await Deno.makeTempDir({ prefix: "pvr-inspect-" });
  try {
    const source = await openSource(base, { cwd: opts.cwd, tmpDir, remote: opts });
    try {
      const parts = parseParts(fragment);
      const selected = filterByParts(source.state, parts.select);
      for (const k of [...selected.keys()]) {
        if (parts.unselect.some((p) => keyInPart(k, p))) selected.delete(k);
      }
      return { ref, state: selected };
    } finally {
      await source.close();
    }
  } catch (err) {
    if (err instanceof PvrError) throw err;
    throw new PvrError("FAILED", `inspect ${ref}: ${(err as Error).message}`, { cause: err });
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}
