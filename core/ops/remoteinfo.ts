/**
 * `pvr remoteinfo`: the remote descriptor (`.pvrremote`) of a repository URL.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { Repo } from "../repo/repo.ts";
import { isUrl, splitRef } from "../remote/source.ts";
import {
  fetchRemote,
  fixupRepoRef,
  type PvrRemote,
  type RemoteOptions,
  requireCaller,
} from "../remote/pantahub/remote.ts";

/** Options for {@link remoteInfo} (and `stepInfo`). */
export interface RemoteInfoOptions extends RemoteOptions {
  /**
   * A URL, `user/device` or bare IP; default: the first remote one of DefaultGetUrl,
   * DefaultPostUrl and DefaultPutUrl of the repository at `cwd`.
   */
  ref?: string;
  /** Resolves relative references; the repository of the defaults. */
  cwd: string;
  /** The global config dir. */
  configDir: string;
}

/** What {@link remoteInfo} found. */
export interface RemoteInfoResult {
  /** The repository URL asked (without fragment). */
  url: string;
  /** Its descriptor (URLs made absolute). */
  remote: PvrRemote;
}

/**
 * The remote URL named by `opts.ref` (through the reference fixup) or by the remembered
 * defaults. `USAGE` when there is none, `BAD_REFERENCE` for a local path.
 */
export async function resolveRemoteUrl(opts: RemoteInfoOptions): Promise<string> {
  let ref = opts.ref;
  if (!ref) {
    const repo = await Repo.open({ dir: opts.cwd, configDir: opts.configDir });
    const c = repo.config;
    for (const u of [c.DefaultGetUrl, c.DefaultPostUrl, c.DefaultPutUrl]) {
      if (!u) continue;
      const fixed = await fixupRepoRef(u, { cwd: opts.cwd, repoBaseUrl: opts.repoBaseUrl })
        .catch(() => "");
      if (isUrl(splitRef(fixed).base)) {
        ref = fixed;
        break;
      }
    }
    if (!ref) {
      throw new PvrError("USAGE", "no remote given, and .pvr/config remembers no remote URL");
    }
  }
  const fixed = await fixupRepoRef(ref, { cwd: opts.cwd, repoBaseUrl: opts.repoBaseUrl });
  const { base } = splitRef(fixed);
  if (!isUrl(base)) throw new PvrError("BAD_REFERENCE", `not a remote: ${ref}`);
  return base;
}

/**
 * Fetches the remote descriptor (§5.16: `GET <url>/.pvrremote`).
 *
 * Permissions: read (defaults, local paths), net.
 *
 * @example
 * ```ts
 * import { remoteInfo } from "./mod.ts";
 * const { remote } = await remoteInfo({ cwd: Deno.cwd(), configDir, ref: "https://api.pantahub.com/trails/<id>" });
 * console.log(remote["objects-endpoint"]);
 * ```
 */
export async function remoteInfo(opts: RemoteInfoOptions): Promise<RemoteInfoResult> {
  const url = await resolveRemoteUrl(opts);
  const remote = await fetchRemote(requireCaller(opts, "remoteinfo"), url);
  return { url, remote };
}
