// One conversation per chat panel: its id (the session key the router keeps per workspace folder)
// and its turns, sent with every request so the model sees what was said before.
import type { Turn } from "./protocol";

let counter = 0;

export class Conversation {
  id: string;
  readonly turns: Turn[] = [];

  constructor(private readonly prefix = "vscode-chat", private readonly now: () => number = Date.now) {
    this.id = this.newId();
  }

  private newId(): string {
    return `${this.prefix}-${this.now().toString(36)}-${++counter}`;
  }

  /** A copy of the turns so far, oldest first (what a request sends). */
  history(): Turn[] {
    return this.turns.map((t) => ({ ...t }));
  }

  /** Records a question and what was answered; a cancelled or broken answer keeps the text that arrived. */
  record(question: string, answer: string): void {
    this.turns.push({ role: "user", content: question });
    if (answer) this.turns.push({ role: "assistant", content: answer });
  }

  /** "New conversation": a fresh id, so the router starts a new session, and no turns. */
  reset(): void {
    this.id = this.newId();
    this.turns.length = 0;
  }
}
