/**
 * Helpers for the archive tests: states and stores on real temp dirs, raw tar headers
 * written independently of `core/archive/tar.ts` (to build hostile archives), and
 * directory snapshots to prove that nothing was written where it must not be.
 */

import { createHash } from "node:crypto";
import { FsObjectStore } from "../../../core/store/fs_store.ts";
import { fromPlain, type JsonObject } from "../../../core/model/json_value.ts";
import type { State } from "../../../core/model/state.ts";

const enc = new TextEncoder();

/** Lowercase hex sha256 of bytes or text. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(typeof data === "string" ? enc.encode(data) : data)
    .digest("hex");
}

/** Bytes of a string. */
export function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

/** A state from a plain record (values: strings or plain JSON). */
export function stateOf(record: Record<string, unknown>): State {
  return fromPlain(record) as JsonObject;
}

/** An fs store at `<dir>/objects` holding `blobs`; returns the store and their shas. */
export async function storeWith(
  dir: string,
  blobs: Uint8Array[],
): Promise<{ store: FsObjectStore; shas: string[] }> {
  const store = await FsObjectStore.open(`${dir}/objects`, { create: true, fsync: false });
  const shas: string[] = [];
  for (const b of blobs) shas.push((await store.put(b)).sha);
  return { store, shas };
}

/** Collects a writable stream's bytes. */
export function collector(): { stream: WritableStream<Uint8Array>; bytes: () => Uint8Array } {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({
    write(c) {
      chunks.push(c);
    },
  });
  return { stream, bytes: () => concat(chunks) };
}

/** Concatenates byte arrays. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Fields of a raw header made by {@link rawHeader}. */
export interface RawHeader {
  name: string;
  /** Type flag character, default "0". */
  type?: string;
  size?: number;
  mode?: number;
  linkname?: string;
  /** USTAR prefix field. */
  prefix?: string;
}

/**
 * One 512-byte tar header, written the way GNU tar's ustar format does (octal with
 * NUL, checksum `NNNNNN\0 `). Independent of the code under test.
 */
export function rawHeader(h: RawHeader): Uint8Array {
  const b = new Uint8Array(512);
  const put = (off: number, len: number, s: string) => {
    const e = enc.encode(s);
    if (e.length > len) throw new Error(`field too long: ${s}`);
    b.set(e, off);
  };
  const octal = (off: number, len: number, n: number) =>
    put(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
  put(0, 100, h.name);
  octal(100, 8, h.mode ?? 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, h.size ?? 0);
  octal(136, 12, 0);
  b[156] = (h.type ?? "0").charCodeAt(0);
  put(157, 100, h.linkname ?? "");
  put(257, 8, "ustar\x0000");
  if (h.prefix) put(345, 155, h.prefix);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return b;
}

/** A tar entry (header + data + padding) built with {@link rawHeader}. */
export function rawEntry(h: RawHeader, data: Uint8Array = new Uint8Array()): Uint8Array {
  const header = rawHeader({ ...h, size: h.size ?? data.length });
  const pad = (512 - (data.length % 512)) % 512;
  return concat([header, data, new Uint8Array(pad)]);
}

/** A whole tar archive from raw entries, ended by two zero blocks. */
export function rawTar(...entries: Uint8Array[]): Uint8Array {
  return concat([...entries, new Uint8Array(1024)]);
}

/** A PAX extended header entry (`x`) carrying `records`. */
export function paxEntry(name: string, records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    text += `${len}${body}`;
  }
  return rawEntry({ name, type: "x" }, enc.encode(text));
}

/** A valid `json` entry for `state` text, plus the entries of its objects. */
export function exportEntries(blobs: Record<string, string>): {
  json: Uint8Array;
  objects: Uint8Array[];
  state: Record<string, string>;
} {
  const state: Record<string, string> = { "#spec": "pantavisor-service-system@1" };
  const objects: Uint8Array[] = [];
  for (const [key, content] of Object.entries(blobs)) {
    const sha = sha256(content);
    state[key] = sha;
    objects.push(rawEntry({ name: `objects/${sha}` }, bytes(content)));
  }
  const json = rawEntry({ name: "json", mode: 0o600 }, bytes(JSON.stringify(state)));
  return { json, objects, state };
}

/**
 * Every path under `dir` (recursive, sorted) with its type and, for files, size:
 * symlinks are not followed.
 */
export async function snapshot(dir: string, skip: string[] = []): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const abs = rel === "" ? dir : `${dir}/${rel}`;
    for await (const e of Deno.readDir(abs)) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (skip.includes(r)) continue;
      const info = await Deno.lstat(`${dir}/${r}`);
      const kind = info.isSymlink ? "l" : info.isDirectory ? "d" : "f";
      out.push(`${kind} ${r}${kind === "f" ? ` ${info.size}` : ""}`);
      if (info.isDirectory) await walk(r);
    }
  }
  await walk("");
  return out.sort();
}

/** True when every entry of `dir` (if it exists) is a regular file named by 64 hex. */
export async function onlyObjectFiles(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !/^[0-9a-f]{64}$/.test(e.name)) return false;
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    throw err;
  }
  return true;
}

/** Runs GNU tar (or fails the test); returns stdout. */
export async function gnuTar(args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command("tar", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`tar ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** A stream that yields `data` in chunks of the given sizes (cycled). */
export function chunkedStream(data: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let off = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (off >= data.length) {
        controller.close();
        return;
      }
      const n = sizes[i++ % sizes.length];
      controller.enqueue(data.slice(off, off + n));
      off += n;
    },
  });
}
