/** `pvr diff` (alias `d`). */

import { Command, Option } from "./args.ts";
import jsonpatch from "fast-json-patch";
import { diff } from "../core/ops/diff.ts";
import { canonicalJson, canonicalNumber } from "../core/model/canonical.ts";
import { goIndent, goMarshal } from "../core/model/go_json.ts";
import { JsonNumber, type JsonValue } from "../core/model/json_value.ts";
import type { CliContext } from "./context.ts";

/** Builds the `diff` command. */
export function diffCommand(ctx: CliContext) {
  return new Command("diff")
    .alias("d")
    .description("show the working changes as a JSON merge patch (or an RFC 6902 patch)")
    .addOption(
      new Option("--format <format>", "merge-patch (as the Go pvr) or json-patch (RFC 6902)")
        .choices(["merge-patch", "json-patch"] as const)
        .default("merge-patch" as const),
    )
    .option("--json", "print compact JSON (exact numbers, canonical)")
    .action(async (opts) => {
      const d = await diff(ctx.repo());
      if (opts.format === "json-patch") {
        const ops = jsonpatch.compare(
          comparable(d.from) as Record<string, unknown>,
          comparable(d.to) as Record<string, unknown>,
        );
        ctx.out(opsText(ops, opts.json ? undefined : "\t") + "\n");
        return;
      }
      if (opts.json) {
        ctx.out(canonicalJson(d.patch) + "\n");
        return;
      }
      ctx.out(goIndent(goMarshal(d.patch, { numbers: "float" }), "", "\t") + "\n");
    });
}

/**
 * fast-json-patch knows only float64 numbers: 12345678901234567890 and …891 would look
 * equal. Numbers are handed to it as exact-value tokens (canonical text) and turned
 * back into numbers in the output, exact where a float64 would round them.
 */
const NUMBER_TOKEN = "\u0000pvr-number:";

function comparable(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return NUMBER_TOKEN + canonicalNumber(v.text);
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(comparable);
  const o: Record<string, unknown> = Object.create(null);
  for (const [k, x] of v) o[k] = comparable(x);
  return o;
}

function opsText(ops: unknown, indent?: string): string {
  const text = JSON.stringify(ops, (_key, x) => {
    if (typeof x !== "string" || !x.startsWith(NUMBER_TOKEN)) return x;
    const exact = x.slice(NUMBER_TOKEN.length);
    const n = Number(exact);
    return canonicalNumber(String(n)) === exact ? n : x; // a float64 that rounds stays a token
  }, indent);
  return text.replace(/"\\u0000pvr-number:([^"]*)"/g, "$1");
}
