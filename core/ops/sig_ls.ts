/**
 * `pvr sig ls`: verify pvs@2 signatures of the working tree against the committed
 * state and list what they protect (spec §10.5).
 *
 * @module
 */

import type { KeyObject, X509Certificate } from "node:crypto";
import { canonicalJson, compareCodePoints } from "../model/canonical.ts";
import { goIndent, goString } from "../model/go_json.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "../model/json_value.ts";
import { parsePvs, PVS_SPEC, signingInputOf } from "../sig/jws.ts";
import { encodeBase64Url, loadCertificateDers, loadPublicKeys, verifyJws } from "../sig/keys.ts";
import { selectPayload } from "../sig/payload.ts";
import { asSigError, SIG_EXIT, SigError } from "../sig/errors.ts";
import { parseCertificates, verifyCodeSigningChain } from "../sig/x509.ts";
import { openRepo, type RepoOptions } from "./common.ts";
import { resolveKeyFile, type SigKeyOptions } from "./sig_common.ts";

/** Options for {@link sigLs}. */
export interface SigLsOptions extends RepoOptions, Omit<SigKeyOptions, "key" | "x5c"> {
  /**
   * Which signatures: `NAME` → `_sigs/NAME.json`, an argument ending in `.json` is a
   * file path (relative to the repository). Default: every committed pvs@2 key.
   */
  names?: string[];
  /** PEM file with one or more public keys; when set, `cacerts` is not used. */
  pubkey?: string;
  /**
   * PEM CA bundle: the `x5c` chain must lead to it (code signing). Default
   * `<configDir>/pvs/cacerts.default.pem` when there is no `pubkey`.
   */
  cacerts?: string;
  /** Add each signature's payload (base64url) to {@link SigLsResult.sigs}. */
  withPayload?: boolean;
  /** The time certificates must be valid at (default now). */
  now?: Date;
  /** Receives warnings (a key or certificate that cannot be used). */
  warn?: (line: string) => void;
}

/** What the verified signatures protect. */
export interface SigLsResult {
  /** State keys protected by at least one signature (sorted). */
  protected: string[];
  /** Keys excluded by a signature and protected by none (sorted). */
  excluded: string[];
  /** Keys no signature mentions (sorted). */
  notseen: string[];
  /** The signatures as JWS objects (`protected`, `signature`, with `payload` if asked). */
  sigs: JsonObject[];
}

function uniqueSorted(list: string[]): string[] {
  return [...new Set(list)].sort(compareCodePoints);
}

async function pubkeyFile(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch (err) {
    throw new SigError(
      "FAILED",
      SIG_EXIT.PUBKEY_ACCESS,
      `errors accessing signing key; see --help: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (st.isDirectory) {
    throw new SigError("FAILED", SIG_EXIT.PUBKEY_NOT_FILE, `signing key is not a file: ${path}`);
  }
}

function verifyError(message: string, cause?: unknown): SigError {
  return new SigError("FAILED", SIG_EXIT.VERIFY, message, { cause });
}

/**
 * Verifies the selected signatures and merges what they protect. Fails on the first
 * signature that does not verify.
 *
 * Permissions: read, net and write (default CA download only).
 *
 * @throws {SigError} exit 11/12 for an unusable `pubkey` path, 125 for a missing
 *   signature file, 127 when the default CA bundle cannot be had, 13 when a signature
 *   does not verify
 */
export async function sigLs(opts: SigLsOptions): Promise<SigLsResult> {
  const warn = opts.warn ?? (() => {});
  if (opts.pubkey) await pubkeyFile(opts.pubkey);
  const repo = await openRepo(opts);
  let cacerts = opts.cacerts ?? "";
  if (!opts.pubkey && cacerts === "") {
    cacerts = await resolveKeyFile(
      opts.configDir,
      "cacerts",
      undefined,
      opts,
      "--cacerts or --pubkey",
    );
  }
  const pubKeys: KeyObject[] = [];
  let pool: X509Certificate[] | null = null;
  if (opts.pubkey) {
    try {
      pubKeys.push(...loadPublicKeys(await Deno.readTextFile(opts.pubkey), opts.pubkey, warn));
    } catch (err) {
      throw asSigError(err, "FAILED", SIG_EXIT.VERIFY);
    }
  } else if (cacerts === "_system_") {
    throw verifyError("Using system cert pool not supported anymore");
  } else {
    let ders: Uint8Array[];
    try {
      ders = loadCertificateDers(await Deno.readTextFile(cacerts));
    } catch (err) {
      throw verifyError(`cannot read CA certificates ${cacerts}: ${(err as Error).message}`, err);
    }
    const certs: X509Certificate[] = [];
    for (const [i, der] of ders.entries()) {
      try {
        certs.push(...parseCertificates([der], cacerts));
      } catch {
        warn(`WARNING: certificate ${i} of ${cacerts} cannot be parsed`);
      }
    }
    if (certs.length === 0) {
      warn("WARNING: could not append cacerts to cert pool. Disabling cert pool.");
    } else pool = certs;
  }

  const state = repo.pristine;
  const paths = opts.names && opts.names.length > 0
    ? opts.names.map((v) => v.endsWith(".json") ? v : `_sigs/${v}.json`)
    : [...state.keys()].sort(compareCodePoints).filter((k) => {
      const v = state.get(k);
      return isJsonObject(v) && v.get("#spec") === PVS_SPEC;
    });

  const protectedKeys: string[] = [];
  const excluded: string[] = [];
  const notSeen: string[] = [];
  const sigs: JsonObject[] = [];
  for (const p of paths) {
    const file = p.startsWith("/") ? p : `${repo.dir}/${p}`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new SigError(
          "FAILED",
          SIG_EXIT.NO_SIG_FILE,
          `signature file does not exist with name ${p}`,
          { cause: err },
        );
      }
      throw verifyError(`cannot read ${p}: ${(err as Error).message}`, err);
    }
    let parsed;
    try {
      parsed = parsePvs(bytes, p);
    } catch (err) {
      throw verifyError((err as Error).message, err);
    }
    const selection = selectPayload(state, parsed.match);
    const payload = new TextEncoder().encode(canonicalJson(selection.selected));

    const keys = [...pubKeys];
    let chainProblem = "";
    if (pool !== null) {
      if (parsed.x5c !== null && parsed.x5c.length > 0) {
        try {
          const [leaf, ...rest] = parseCertificates(parsed.x5c, "x5c");
          keys.push(verifyCodeSigningChain(leaf, rest, pool, opts.now)[0].publicKey);
        } catch (err) {
          chainProblem = `the x5c chain is not trusted: ${(err as Error).message}`;
        }
      } else {
        for (const cert of pool) {
          try {
            keys.push(verifyCodeSigningChain(cert, [], pool, opts.now)[0].publicKey);
          } catch (err) {
            warn(
              `could not validate cert in pool against the pool itself ${(err as Error).message}`,
            );
          }
        }
      }
    }
    if (keys.length === 0) {
      throw verifyError(
        "no pubKeys available. Neither as parameters nor from x5c header nor from root pool" +
          (chainProblem ? ` (${chainProblem})` : ""),
      );
    }
    const input = signingInputOf(parsed, payload);
    if (!keys.some((k) => verifyJws(parsed.alg, k, input, parsed.signature))) {
      throw verifyError(
        `could not verify payload ${
          new TextDecoder().decode(payload)
        } (error= ${p}: the ${parsed.alg} signature does not verify with any trusted key)`,
      );
    }
    protectedKeys.push(...selection.selected.keys());
    excluded.push(...selection.excluded);
    notSeen.push(...selection.notSeen);
    const sig: JsonObject = new Map<string, JsonValue>();
    if (opts.withPayload) sig.set("payload", encodeBase64Url(payload));
    sig.set("protected", parsed.protectedB64);
    sig.set("signature", encodeBase64Url(parsed.signature));
    sigs.push(sig);
  }
  const prot = uniqueSorted(protectedKeys);
  const protSet = new Set(prot);
  const exc = uniqueSorted(excluded).filter((k) => !protSet.has(k));
  const excSet = new Set(exc);
  const seen = uniqueSorted(notSeen).filter((k) => !protSet.has(k) && !excSet.has(k));
  return { protected: prot, excluded: exc, notseen: seen, sigs };
}

/**
 * The `sig ls` output: Go's `json.MarshalIndent` (4 spaces) of the summary struct —
 * fields in the order `protected`, `excluded`, `notseen`, `sigs`, empty ones left
 * out, strings HTML-escaped — and a newline. `sigs` only with `withSigs`.
 */
export function formatSigLs(result: SigLsResult, withSigs: boolean): string {
  const list = (l: string[]) => "[" + l.map(goString).join(",") + "]";
  const parts: string[] = [];
  if (result.protected.length > 0) parts.push(`"protected":${list(result.protected)}`);
  if (result.excluded.length > 0) parts.push(`"excluded":${list(result.excluded)}`);
  if (result.notseen.length > 0) parts.push(`"notseen":${list(result.notseen)}`);
  if (withSigs && result.sigs.length > 0) {
    const objs = result.sigs.map((s) =>
      "{" + [...s.keys()].sort(compareCodePoints).map((k) =>
        `${goString(k)}:${goString(s.get(k) as string)}`
      ).join(",") + "}"
    );
    parts.push(`"sigs":[${objs.join(",")}]`);
  }
  return goIndent("{" + parts.join(",") + "}", "", "    ") + "\n";
}
