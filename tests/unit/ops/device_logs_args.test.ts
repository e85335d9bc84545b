/** `device logs` argument parsing: the filter, times and ISO 8601 durations. */

import assert from "node:assert/strict";
import { isPvrError } from "../../../core/errors.ts";
import {
  parseIsoDuration,
  parseLogFilter,
  parseLogTime,
  parseRfc3339,
  utcSeconds,
} from "../../../core/ops/device_logs.ts";
import { parseMetaArgs } from "../../../core/ops/device_set.ts";

Deno.test("parseLogFilter splits devices/source@level#platform", () => {
  assert.deepEqual(parseLogFilter("a,b/pantavisor.log@INFO,DEBUG#linux"), {
    devices: ["a", "b"],
    source: "pantavisor.log",
    level: "INFO,DEBUG",
    platform: "linux",
  });
  assert.deepEqual(parseLogFilter("dev1"), {
    devices: ["dev1"],
    source: "",
    level: "",
    platform: "",
  });
  assert.deepEqual(parseLogFilter("dev1/src"), {
    devices: ["dev1"],
    source: "src",
    level: "",
    platform: "",
  });
  assert.deepEqual(parseLogFilter("/src@ERROR"), {
    devices: [],
    source: "src",
    level: "ERROR",
    platform: "",
  });
  assert.deepEqual(parseLogFilter(""), { devices: [], source: "", level: "", platform: "" });
  assert.throws(() => parseLogFilter("dev/var/log"), (e: unknown) => isPvrError(e, "USAGE"));
});

Deno.test("parseIsoDuration reads P…Y…M…W…DT…H…M…S (year 365 days, month 30)", () => {
  assert.equal(parseIsoDuration("P10D"), 10 * 86_400_000);
  assert.equal(parseIsoDuration("PT1H"), 3_600_000);
  assert.equal(parseIsoDuration("PT1H30M5S"), 5_405_000);
  assert.equal(parseIsoDuration("P1Y2M1W"), (365 + 60 + 7) * 86_400_000);
  for (const bad of ["P", "PT", "10D", "P1H", "yesterday", "P1DT"]) {
    assert.equal(parseIsoDuration(bad), undefined, bad);
  }
});

Deno.test("parseLogTime: dates and local date-times are UTC, RFC 3339 keeps its offset", () => {
  assert.equal(parseLogTime("2024-02-03"), Date.UTC(2024, 1, 3));
  assert.equal(parseLogTime("2024-02-03T04:05:06"), Date.UTC(2024, 1, 3, 4, 5, 6));
  assert.equal(parseLogTime("2024-02-03T04:05:06+02:00"), Date.UTC(2024, 1, 3, 2, 5, 6));
  assert.equal(parseLogTime("2024-02-03T04:05:06.5Z"), Date.UTC(2024, 1, 3, 4, 5, 6, 500));
  assert.equal(parseLogTime("PT1H"), undefined);
  assert.equal(parseLogTime("2024-13-01"), undefined);
  assert.deepEqual(parseRfc3339("2024-01-01T00:00:00-01:30"), {
    ms: Date.UTC(2024, 0, 1, 1, 30),
    offsetMinutes: -90,
  });
  assert.equal(utcSeconds(Date.UTC(2024, 0, 1, 0, 0, 1, 999)), "2024-01-01T00:00:01Z");
});

Deno.test("parseMetaArgs splits at the first '='; no '=' means null", () => {
  assert.deepEqual(parseMetaArgs(["a=b", "c=d=e", "f", "g="]), {
    a: "b",
    c: "d=e",
    f: null,
    g: "",
  });
  assert.throws(() => parseMetaArgs(["=x"]), (e: unknown) => isPvrError(e, "USAGE"));
});
