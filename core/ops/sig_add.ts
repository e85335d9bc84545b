/**
 * `pvr sig add`: sign a part (or a raw selection) of the committed state with a pvs@2
 * JWS and write it to `_sigs/<name>.json` in the working tree (spec §10.3).
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { createPvs } from "../sig/jws.ts";
import type { PvsMatch } from "../sig/payload.ts";
import { asSigError, SIG_EXIT } from "../sig/errors.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import {
  checkSigName,
  joinClean,
  loadSigningMaterial,
  type SigKeyOptions,
  writeSigFile,
} from "./sig_common.ts";

/** Options for {@link sigAdd}. Exactly one of `part` and `raw` is required. */
export interface SigAddOptions extends RepoOptions, SigKeyOptions {
  /** Part mode: the globs are taken relative to `<part>/`, `_config/<part>/**` added. */
  part?: string;
  /** Raw mode: the globs are used as given; this names the signature. */
  raw?: string;
  /** Include globs (default `["**"]`). */
  include?: string[];
  /** Exclude globs (default `["src.json"]`). */
  exclude?: string[];
  /** Part mode: leave out `_config/<part>/**`. */
  noconfig?: boolean;
  /** Keep the payload (base64url) in the written signature. */
  withPayload?: boolean;
}

/** What {@link sigAdd} wrote. */
export interface SigAddResult {
  /** The signature name. */
  name: string;
  /** The file written, relative to the repository (`_sigs/<name>.json`). */
  path: string;
  /** The match rule signed (the `pvs` header). */
  match: PvsMatch;
  /** The JWS algorithm (`RS256`, `ES256`, `ES384`, `ES512`). */
  alg: string;
  /** The signature file's bytes (canonical JSON). */
  file: Uint8Array;
}

/** The match rule of `sig add` (spec §10.3, with the raw-mode self-exclusion fixed). */
export function sigAddMatch(opts: SigAddOptions): { name: string; match: PvsMatch } {
  const part = opts.part ?? "";
  const raw = opts.raw ?? "";
  if (part === "" && raw === "") {
    throw new PvrError("USAGE", "no part nor raw name provided; see --help");
  }
  if (part !== "" && raw !== "") {
    throw new PvrError("USAGE", "part and raw flag cannot be used at same time; see --help");
  }
  const name = part !== "" ? part : raw;
  checkSigName(name);
  let include = [...(opts.include ?? ["**"])];
  let exclude = [...(opts.exclude ?? ["src.json"])];
  if (part !== "") {
    include = include.map((g) => joinClean(part, g));
    exclude = exclude.map((g) => joinClean(part, g));
    if (!opts.noconfig) include.push(`_config/${part}/**`);
  }
  exclude.push(`_sigs/${name}.json`);
  return { name, match: { include, exclude } };
}

/**
 * Signs the committed state's keys selected by the match rule and writes
 * `_sigs/<name>.json` (not added, not committed).
 *
 * Permissions: read (repository, keys), write (`_sigs/`, the config dir when the
 * default keys are downloaded), net (that download only).
 *
 * @throws {PvrError} `USAGE` without exactly one of part/raw; a `SigError` (exit 127)
 *   for key problems or when signing fails
 */
export async function sigAdd(opts: SigAddOptions): Promise<SigAddResult> {
  const { name, match } = sigAddMatch(opts);
  const repo = await openRepo(opts);
  const { key, x5c } = await loadSigningMaterial(opts.configDir, opts);
  let file: Uint8Array;
  try {
    file = createPvs(repo.pristine, match, key, x5c, opts.withPayload ?? false).file;
  } catch (err) {
    throw asSigError(err, "FAILED", SIG_EXIT.KEY, "signing failed");
  }
  const path = await writeSigFile(repo.dir, name, file);
  return { name, path, match, alg: key.alg, file };
}
