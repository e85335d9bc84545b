/** The completion script and the program name it registers. */

import assert from "node:assert/strict";
import { bashCompletionScript, COMPLETION_WORD_ENV } from "../../../core/ops/completion.ts";
import { programName } from "../../../commands/completion.ts";

Deno.test("the script defines _cli_bash_autocomplete, registers it and ends with a blank line", () => {
  const s = bashCompletionScript("mypvr");
  assert.ok(s.startsWith("#! /bin/bash\n\n_cli_bash_autocomplete() {\n"));
  assert.ok(
    s.endsWith("complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete mypvr\n\n"),
  );
  assert.ok(s.includes(`${COMPLETION_WORD_ENV}="\${cur}"`));
  assert.ok(s.includes("--generate-bash-completion"));
});

Deno.test("programName is the executable's base name, pvr under deno", () => {
  assert.equal(programName("/usr/local/bin/pvr"), "pvr");
  assert.equal(programName("/opt/x/pvr-arm64"), "pvr-arm64");
  assert.equal(programName("/usr/bin/deno"), "pvr");
  assert.equal(programName("C:/bin/pvr.exe"), "pvr");
});
