/** The progress bars: drawn on a terminal only, bytes/rate/ETA, silent otherwise. */

import assert from "node:assert/strict";
import {
  BarReporter,
  formatBytes,
  formatEta,
  transferReporter,
} from "../../../commands/progress.ts";
import { BufferStream, type OutStream } from "../../../commands/output.ts";
import { NULL_TRANSFER_REPORTER } from "../../../core/remote/progress.ts";

/** A buffer that says it is a terminal. */
class FakeTerminal implements OutStream {
  readonly isTerminal = true;
  readonly #buf = new BufferStream();
  write(data: string | Uint8Array): void {
    this.#buf.write(data);
  }
  writable(): WritableStream<Uint8Array> {
    return this.#buf.writable();
  }
  text(): string {
    return this.#buf.text();
  }
}

Deno.test("formatBytes() and formatEta()", () => {
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(300 * 1024 * 1024), "300 MiB");
  assert.equal(formatEta(5), "5s");
  assert.equal(formatEta(125), "2m05s");
  assert.equal(formatEta(3725), "1h02m");
  assert.equal(formatEta(Infinity), "--");
});

Deno.test("transferReporter(): bars only on a terminal and without --quiet", () => {
  assert.equal(transferReporter(new BufferStream(), false), NULL_TRANSFER_REPORTER);
  assert.equal(transferReporter(new FakeTerminal(), true), NULL_TRANSFER_REPORTER);
  assert.ok(transferReporter(new FakeTerminal(), false) instanceof BarReporter);
});

Deno.test("BarReporter draws the total and large objects on the terminal, then stops", async () => {
  const term = new FakeTerminal();
  let t = 0;
  const r = new BarReporter(term, { columns: () => 120, now: () => t });
  r.start({ direction: "download", objects: 2, bytes: 0 });
  r.objectStart({ sha: "a", name: "bsp/big.img", size: 64 * 1024 * 1024, from: 0 });
  r.objectStart({ sha: "b", name: "small", size: 10, from: 0 });
  t = 1000;
  r.objectProgress("a", 32 * 1024 * 1024);
  r.objectProgress("b", 10);
  r.objectDone("b", "ok");
  // The bars appear once cli-progress is loaded, with the figures of that moment.
  await r.ready();
  await new Promise((res) => setTimeout(res, 300)); // the bars redraw on a timer
  r.objectProgress("a", 64 * 1024 * 1024);
  r.objectDone("a", "ok");
  r.finish();
  const text = term.text();
  assert.match(text, /getting/);
  assert.match(text, /32 MiB\/64 MiB \| 32 MiB\/s \| ETA 1s \| 1\/2 objects/);
  assert.match(text, /objects/);
  assert.match(text, /bsp\/big\.img/);
});

Deno.test("BarReporter draws nothing for a transfer that ended before the bars loaded", async () => {
  const term = new FakeTerminal();
  const r = new BarReporter(term, { columns: () => 120, now: () => 0 });
  r.start({ direction: "upload", objects: 1, bytes: 10 });
  r.objectStart({ sha: "a", name: "a", size: 10, from: 0 });
  r.objectDone("a", "ok");
  r.finish();
  await r.ready();
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(term.text(), "");
});
