/** A scripted {@link Prompter} for tests: answers from a list, records what was asked. */

import type { Prompter } from "../../core/remote/pantahub/prompt.ts";

/** Answers prompts from a list (an empty string when it runs out). */
export class ScriptedPrompter implements Prompter {
  readonly interactive = true;
  /** Lines shown through `notice`. */
  readonly notices: string[] = [];
  /** Questions asked (`input:<message>` / `password:<message>`). */
  readonly asked: string[] = [];
  readonly #answers: string[];

  constructor(answers: string[]) {
    this.#answers = [...answers];
  }

  notice(line: string): void {
    this.notices.push(line);
  }

  input(message: string): Promise<string> {
    this.asked.push(`input:${message}`);
    return Promise.resolve(this.#answers.shift() ?? "");
  }

  password(message: string): Promise<string> {
    this.asked.push(`password:${message}`);
    return Promise.resolve(this.#answers.shift() ?? "");
  }
}
