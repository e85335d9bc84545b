/**
 * The default developer keys of `pvr sig`: `<config-dir>/pvs/key.default.pem`,
 * `x5c.default.pem` and `cacerts.default.pem`, downloaded on request from the
 * `--certs-url` tarball (gzip tar holding `pvs/…`).
 *
 * The tarball is read with pvr's own tar reader, and only `pvs/<file>` regular files
 * and directories are taken: an absolute name, a `..` segment, a link or a device is
 * refused before anything is written.
 *
 * @module
 */

import { PvrError } from "../errors.ts";
import { HttpClient } from "../remote/http.ts";
import { TarFormatError, TarReader } from "../archive/tar.ts";
import { writeFileAtomic } from "../../native/durability.ts";

/** Where the Go pvr downloads the developer keys from. */
export const DEFAULT_CERTS_URL =
  "https://gitlab.com/pantacor/pv-developer-ca/-/raw/master/pvs/pvs.defaultkeys.tar.gz?inline=false";

/** File names under `<config-dir>/pvs/`. */
export const DEFAULT_KEY_FILES = {
  key: "key.default.pem",
  x5c: "x5c.default.pem",
  cacerts: "cacerts.default.pem",
} as const;

/** The question asked before downloading the keys (as the Go pvr). */
export const DOWNLOAD_QUESTION =
  "Do you want to download the default developer keys that can be validated by pantavisor official developer builds? [yes/no]\n" +
  "(NOTE: this should be used only for development proposes because they are not secret)";

/** The path of a default key file. */
export function defaultKeyPath(configDir: string, file: keyof typeof DEFAULT_KEY_FILES): string {
  return `${configDir}/pvs/${DEFAULT_KEY_FILES[file]}`;
}

/** The largest key tarball accepted (compressed or not). */
const MAX_TARBALL = 8 * 1024 * 1024;

/**
 * Downloads the key tarball from `url` and extracts its `pvs/` files into
 * `<configDir>/pvs/`. Returns the relative names written.
 *
 * @throws {PvrError} `REMOTE` when the download fails, `BAD_ARCHIVE` when the tarball
 *   is damaged, `UNSAFE_PATH` when it holds a link or an unsafe name
 */
export async function downloadDefaultKeys(
  configDir: string,
  url: string,
  http: HttpClient = new HttpClient(),
): Promise<string[]> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PvrError("BAD_REFERENCE", `bad certs URL: ${url}`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new PvrError("BAD_REFERENCE", `the certs URL must be http(s): ${url}`);
  }
  const res = await http.request({ method: "GET", url });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new PvrError(
      "REMOTE",
      `there was an error downloading the certificates tar.gz (HTTP ${res.status})`,
    );
  }
  const gz = new Uint8Array(await res.arrayBuffer());
  if (gz.length > MAX_TARBALL) throw new PvrError("BAD_ARCHIVE", "the key tarball is too big");
  const files = await readKeyTarball(gz);
  await Deno.mkdir(`${configDir}/pvs`, { recursive: true, mode: 0o700 });
  for (const [name, bytes] of files) {
    await writeFileAtomic(`${configDir}/pvs/${name}`, bytes, { mode: 0o600 });
  }
  return [...files.keys()].map((n) => `pvs/${n}`);
}

/**
 * The `pvs/<name>` files of a (gzip) key tarball, checked: only regular files and
 * directories, names relative without `..`, nothing in subdirectories of `pvs/`.
 */
export async function readKeyTarball(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  let stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
  if (gzip) {
    stream = stream.pipeThrough(
      new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  const tar = new TarReader(stream);
  const out = new Map<string, Uint8Array>();
  let total = 0;
  try {
    for (let e = await tar.next(); e !== null; e = await tar.next()) {
      const name = e.name.replace(/^\.\//, "").replace(/\/+$/, "");
      const segs = name.split("/");
      if (e.name.startsWith("/") || segs.some((s) => s === ".." || s === "")) {
        throw new PvrError("UNSAFE_PATH", `the key tarball has an unsafe name: ${e.name}`);
      }
      if (e.type === "1" || e.type === "2" || e.type === "3" || e.type === "4" || e.type === "6") {
        throw new PvrError("UNSAFE_PATH", `the key tarball has a link or device: ${e.name}`);
      }
      if (e.type === "5") continue;
      if (e.type !== "0" && e.type !== "\0" && e.type !== "7") {
        throw new PvrError("BAD_ARCHIVE", `the key tarball has an entry of type ${e.type}`);
      }
      if (segs.length !== 2 || segs[0] !== "pvs") continue;
      total += e.size;
      if (total > MAX_TARBALL) throw new PvrError("BAD_ARCHIVE", "the key tarball is too big");
      out.set(segs[1], await tar.readBody());
    }
  } catch (err) {
    await tar.cancel().catch(() => {});
    if (err instanceof PvrError) throw err;
    if (err instanceof TarFormatError) {
      throw new PvrError("BAD_ARCHIVE", `the key tarball is damaged: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
  if (out.size === 0) throw new PvrError("BAD_ARCHIVE", "the key tarball has no pvs/ files");
  return out;
}
