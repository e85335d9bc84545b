/**
 * What the bare-connection transfers (raw_put.ts, raw_get.ts) share: connecting to a
 * URL's host, buffered reads of an HTTP/1.1 answer's head and framing lines, and the
 * parsing of a head.
 *
 * @module
 */

import { concatBytes } from "../bytes.ts";

/** Most bytes of a response head accepted. */
const MAX_HEAD = 64 * 1024;

const decoder = new TextDecoder();

/** `http:` or `https:`: the protocols a bare connection speaks. */
export function isRawUrl(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

/**
 * Opens a connection to `url`'s host and port (TLS for `https:`, with the same trusted
 * roots as `fetch`, `DENO_CERT` included).
 *
 * Needs `--allow-net` for the host.
 */
export async function connectTo(url: URL): Promise<Deno.Conn> {
  const tls = url.protocol === "https:";
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (tls ? 443 : 80));
  return tls ? await Deno.connectTls({ hostname, port }) : await Deno.connect({ hostname, port });
}

/** An answer's status line and headers. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** Header fields in order, names in lower case. */
  headers: [string, string][];
}

/** Parses a head as {@link ConnReader.readHead} returns it; throws on a non-HTTP answer. */
export function parseHead(head: string): ResponseHead {
  const lines = head.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
  }
  return { status: Number(m[1]), statusText: m[2] ?? "", headers };
}

/** The value of header `name` (lower case) in `head`, or undefined. */
export function headerOf(head: ResponseHead, name: string): string | undefined {
  return head.headers.find(([k]) => k === name)?.[1];
}

/** Buffered reads from a connection. */
export class ConnReader {
  #buf = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  readonly #moved: () => void;

  constructor(conn: Deno.Conn, moved: () => void) {
    this.#conn = conn;
    this.#moved = moved;
  }

  /** Bytes read from the connection and not taken yet. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Reads more bytes; false at the end of the stream. */
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(16 * 1024);
    const n = await this.#conn.read(chunk);
    if (n === null) return false;
    this.#moved();
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  #indexOfCrlf(from = 0, double = false): number {
    const b = this.#buf;
    for (let i = from; i + (double ? 3 : 1) < b.length; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && (!double || (b[i + 2] === 13 && b[i + 3] === 10))) {
        return i;
      }
    }
    return -1;
  }

  /** The head up to (not including) the blank line. */
  async readHead(): Promise<string> {
    for (;;) {
      const end = this.#indexOfCrlf(0, true);
      if (end >= 0) {
        const head = decoder.decode(this.#take(end));
        this.#take(4);
        return head;
      }
      if (this.#buf.length > MAX_HEAD) throw new Error("the answer's head is too long");
      if (!(await this.#more())) {
        throw new Error(
          this.#buf.length ? "the answer was cut off" : "the server closed without answering",
        );
      }
    }
  }

  /** One line (without its CRLF), as a chunk size or a trailer is. */
  async readLine(): Promise<string> {
    let eol: number;
    while ((eol = this.#indexOfCrlf()) < 0) {
      if (this.#buf.length > MAX_HEAD) throw new Error("a line of the answer is too long");
      if (!(await this.#more())) throw new Error("the answer's body was cut off");
    }
    const line = decoder.decode(this.#take(eol));
    this.#take(2);
    return line;
  }

  /** Up to `n` bytes (fewer when the stream ends first, which `toEnd` allows). */
  async readUpTo(n: number, toEnd = false): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#more())) {
        if (toEnd) break;
        throw new Error("the answer's body was cut off");
      }
    }
    return this.#take(Math.min(n, this.#buf.length));
  }

  /**
   * Fills the start of `view` with at most `max` bytes: buffered ones first, else one
   * read of the connection straight into `view` (no copy). Returns the count, or null
   * at the end of the stream.
   */
  async readInto(view: Uint8Array, max: number): Promise<number | null> {
    const want = Math.min(view.length, max);
    if (this.#buf.length > 0) {
      const n = Math.min(want, this.#buf.length);
      view.set(this.#buf.subarray(0, n));
      this.#buf = this.#buf.slice(n);
      return n;
    }
    const n = await this.#conn.read(view.subarray(0, want));
    if (n !== null) this.#moved();
    return n;
  }

  /** The size of the next chunk of a chunked body (its line read). */
  async readChunkSize(): Promise<number> {
    const size = parseInt((await this.readLine()).split(";")[0].trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error("bad chunk size in the answer");
    return size;
  }

  /** The first `max` bytes of a chunked body. */
  async readChunked(max: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max) {
      const size = await this.readChunkSize();
      if (size === 0) break;
      const piece = await this.readUpTo(Math.min(size, max - total));
      parts.push(piece);
      total += piece.length;
      if (piece.length < size) break; // enough kept; the rest is not needed
      await this.readUpTo(2); // CRLF after the chunk
    }
    return concatBytes(parts);
  }
}

/**
 * The connection of one request: closed when `signal` aborts or {@link close} is
 * called (a pending read or write then fails), and for good by {@link release}.
 */
export class ConnSlot {
  /** The connection, once made (null after a close). */
  conn: Deno.Conn | null = null;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.close();

  constructor(signal?: AbortSignal) {
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  close(): void {
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
    this.conn = null;
  }

  /** Closes the connection and stops watching the signal. */
  release(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.close();
  }
}
