/** The Go-exact text outputs of `device ps` and `device logs`. */

import assert from "node:assert/strict";
import {
  durationWords,
  formatLogLine,
  formatPsTable,
  goBase,
  goStamp,
  prnToId,
  renderTable,
  timeAgo,
} from "../../../commands/device/format.ts";

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const MO = 30 * D;
const Y = 365 * D;

Deno.test("durationWords follows timeago's thresholds", () => {
  const cases: [number, string][] = [
    [0, "less than a minute"],
    [29 * S, "less than a minute"],
    [30 * S, "1 minute"],
    [M + 29 * S, "1 minute"],
    [M + 30 * S, "2 minutes"],
    [44 * M + 29 * S, "44 minutes"],
    [44 * M + 30 * S, "about 1 hour"],
    [89 * M + 29 * S, "about 1 hour"],
    [89 * M + 30 * S, "about 2 hours"],
    [23 * H + 59 * M + 29 * S, "about 24 hours"],
    [23 * H + 59 * M + 30 * S, "1 day"],
    [41 * H + 59 * M + 29 * S, "1 day"],
    [41 * H + 59 * M + 30 * S, "2 days"],
    [2 * D + 12 * H, "3 days"],
    [29 * D + 23 * H + 59 * M + 29 * S, "30 days"],
    [29 * D + 23 * H + 59 * M + 30 * S, "about 1 month"],
    [44 * D + 23 * H + 59 * M + 30 * S, "about 2 months"],
    [59 * D + 23 * H + 59 * M + 30 * S, "2 months"],
    [364 * D + 23 * H + 59 * M + 29 * S, "12 months"],
    [364 * D + 23 * H + 59 * M + 30 * S, "about 1 year"],
    [Y + 89 * D, "about 1 year"],
    [Y + 6 * MO, "over 1 year"],
    [Y + 276 * D, "almost 2 years"],
    [2 * Y + 90 * D, "over 2 years"],
    [5 * Y + 9 * MO, "almost 6 years"],
    [10 * Y + 89 * D, "about 10 years"],
  ];
  for (const [ms, words] of cases) assert.equal(durationWords(ms), words, `${ms} ms`);
  const now = Date.UTC(2024, 0, 1);
  assert.equal(timeAgo(now - 45 * M, now), "about 1 hour ago");
  assert.equal(timeAgo(now + 2 * D + 12 * H, now), "3 days from now");
  assert.equal(timeAgo(now, now), "less than a minute from now");
});

Deno.test("renderTable lays out like tablewriter: centred upper-case headers, numbers right", () => {
  assert.equal(
    renderTable(["id", "nick", "rev"], [["abcdefgh", "dev1", "12"]]),
    "     ID      NICK   REV  \n" +
      "  abcdefgh   dev1    12  \n",
  );
});

Deno.test("renderTable wraps cells wider than 30 at spaces, on extra lines", () => {
  const msg = "the device failed to apply the update because of reasons";
  const out = renderTable(["a", "message"], [["x", msg]]);
  const lines = out.split("\n").slice(1, -1);
  assert.ok(lines.length >= 2);
  const cells = lines.map((l) => l.slice(6).trim());
  assert.equal(cells.join(" "), msg);
  for (const c of cells) assert.ok(c.length <= 30, c);
  // The other column of the continuation lines is blank.
  assert.match(lines[1], /^ {6}/);
  // A single word longer than 30 is not broken.
  const long = "x".repeat(40);
  assert.ok(renderTable(["h"], [[long]]).includes(long));
});

Deno.test("formatPsTable shows the 8-char ids and sha, the age, and survives short ids", () => {
  const now = Date.UTC(2024, 5, 1);
  const out = formatPsTable([
    {
      deviceid: "5ee13a6087dfb60008ab8f5c",
      "device-nick": "dev1",
      "progress-revision": 3,
      status: "DONE",
      "state-sha": "00a983039e06dae41a17",
      timestamp: new Date(now - 7 * MO).toISOString(),
      "real-ip": "10.0.0.1",
      "status-msg": "ok",
    },
    { deviceid: "abc" },
  ], now);
  const [head, row, short] = out.split("\n");
  assert.match(head, /^ +ID +NICK +REV +STATUS +STATE +SEEN +IP +MESSAGE {2}$/);
  assert.match(row, /^ {2}5ee13a60 +dev1 +3 +DONE +00a98303 +7 months ago +10\.0\.0\.1 +ok {7}$/);
  assert.match(short, /^ {2}abc /);
});

Deno.test("formatLogLine is the Go default template", () => {
  assert.equal(
    formatLogLine({
      dev: "prn:::devices:/5ee13a6087dfb60008ab8f5c",
      rev: "3",
      "time-created": "2024-03-05T07:08:09.123456789Z",
      plat: "pantavisor",
      src: "/var/log/pantavisor.log",
      msg: "hello",
    }),
    "5ee13a6087(  3) Mar  5 07:08:09  pantavisor(pantavisor.log ): hello",
  );
  assert.equal(
    formatLogLine({ msg: "m" }),
    "INVALID_PR(   ) Jan  1 00:00:00            (.              ): m",
  );
  assert.equal(
    formatLogLine({ dev: "x/dev", rev: "1234", src: "a-very-long-source-name.log", msg: "" }),
    "       dev(1234) Jan  1 00:00:00            (a-very-long-sou): ",
  );
});

Deno.test("goStamp keeps the timestamp's own offset; goBase and prnToId as Go", () => {
  assert.equal(goStamp("2024-12-25T23:59:58+02:00"), "Dec 25 23:59:58");
  assert.equal(goStamp("2024-01-01T00:00:00-05:30"), "Jan  1 00:00:00");
  assert.equal(goStamp("garbage"), "Jan  1 00:00:00");
  assert.equal(goBase(""), ".");
  assert.equal(goBase("/"), "/");
  assert.equal(goBase("/a/b/"), "b");
  assert.equal(goBase("plain"), "plain");
  assert.equal(prnToId("prn:::devices:/abc"), "abc");
  assert.equal(prnToId("nick"), "INVALID_PRN(nick)");
});
