"""`pasokh console`: chat with the articles in a terminal.

Interactive on a TTY (line editing and history through readline); on a pipe it
answers each line and exits at EOF, so `echo "سؤال" | pasokh console` works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.answering import Answer, Answerer
from bot.conversation import Conversation
from bot.rendering import render_answer_text, terminal_safe, to_visual

HELP = """\
پرسش خود را به فارسی بنویسید و Enter بزنید. فرمان‌ها:
  :help     همین راهنما
  :sources  فهرست مقاله‌های نمایه‌شده
  :more     متن کامل بخشی که پاسخ قبلی از آن آمده
  :new      گفت‌وگوی تازه (پرسش‌های قبلی فراموش می‌شوند)
  :quit     خروج"""
PROMPT = "پرسش> "


class ConsoleSession:
    """The console's state and commands, apart from how lines are read (testable)."""

    def __init__(self, answerer: Answerer, as_json: bool = False, bidi: bool = False) -> None:
        self.answerer = answerer
        self.as_json = as_json
        self.bidi = bidi
        self.conversation = Conversation()
        self.last_answer: Answer | None = None

    def show(self, text: str) -> str:
        return to_visual(text) if self.bidi else terminal_safe(text)

    def handle(self, line: str) -> str | None:
        """The reply to one input line; None means quit."""
        line = line.strip()
        if not line:
            return ""
        command = line.lower()
        if command in (":quit", ":exit", ":q"):
            return None
        if command in (":help", ":h", "?"):
            return self.show(HELP)
        if command == ":new":
            self.conversation.reset()
            self.last_answer = None
            return self.show("گفت‌وگوی تازه آغاز شد.")
        if command == ":sources":
            return self.show(self.sources())
        if command == ":more":
            if self.last_answer is None or not self.last_answer.parts:
                return self.show("هنوز پاسخی نیست که متن کاملش را نشان دهم.")
            return self.show(
                "\n\n".join(
                    f"[{i}] {p.title} ({p.source})\n{p.passage.text}"
                    for i, p in enumerate(self.last_answer.parts, start=1)
                )
            )
        if line.startswith(":"):
            return self.show(f"فرمان ناشناخته: {line} (:help را ببینید)")
        answer = self.answerer.answer(line, conversation=self.conversation)
        self.last_answer = answer
        if self.as_json:
            return json.dumps(answer.as_dict(), ensure_ascii=False)
        return render_answer_text(answer, bidi=self.bidi)

    def sources(self) -> str:
        articles = self.answerer.kb.articles()
        lines = [f"{len(articles)} مقاله:"]
        for article in articles:
            lines.append(f"- {article.title} — {article.source or 'منبع نامشخص'} ({article.id})")
        return "\n".join(lines)


def run_console(
    answerer: Answerer, as_json: bool = False, bidi: bool = False, history: Path | None = None
) -> int:
    session = ConsoleSession(answerer, as_json=as_json, bidi=bidi)
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_history(history or Path.home() / ".pasokh_history")
        print(session.show("پاسخ — پرسش‌های فارسی درباره‌ی سفرها و توافق‌های دیپلماتیک."))
        print(session.show(":help برای راهنما، :quit برای خروج") + "\n")
    while True:
        try:
            line = input(session.show(PROMPT) if interactive else "")
        except EOFError:
            break
        except KeyboardInterrupt:
            print()
            continue
        reply = session.handle(line)
        if reply is None:
            break
        if reply:
            print(reply + ("\n" if interactive else ""), flush=True)
    return 0


def _enable_history(history: Path) -> None:
    try:
        import readline
    except ImportError:  # not on every platform; plain input() still works
        return
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    readline.set_history_length(1000)
    import atexit

    def save() -> None:
        try:
            readline.write_history_file(history)
        except OSError:
            pass

    atexit.register(save)
