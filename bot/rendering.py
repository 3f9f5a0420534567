"""How an answer reads: plain text for terminals, HTML for Telegram, and message splitting."""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096

# Escape sequences whole (CSI; OSC/DCS/APC strings up to their terminator; two-byte ESC
# sequences), in 7-bit and C1 forms, so none of their payload reaches the terminal.
_ESCAPE_SEQUENCE_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,512}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
)
# Then any control character left (not \n or \t), and the bidi embeddings, overrides and
# isolates that can reorder what follows them; ZWNJ, ZWJ and the LRM/RLM/ALM marks that
# Persian text needs stay.
_UNSAFE_CHAR_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """Article text as a terminal may print it: an article holding ``\\x1b]0;…\\x07``
    must not retitle the window, move the cursor or overwrite what was printed before."""
    text = text.replace("\r\n", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _UNSAFE_CHAR_RE.sub("", _ESCAPE_SEQUENCE_RE.sub("", text))


def source_line(index: int, part) -> str:
    when = f"، {part.date}" if part.date else ""
    source = part.source or "منبع نامشخص"
    return f"[{index}] {part.title} — {source}{when} (شناسه: {part.article_id})"


def is_web_url(url: str) -> bool:
    """Only http(s) URLs are shown as links (never javascript:, data:, file:…)."""
    return url.lower().startswith(("http://", "https://"))


def render_answer_text(answer, bidi: bool = False) -> str:
    lines = [answer.text]
    if answer.parts:
        lines.append("")
        lines.append("منابع:")
        for i, part in enumerate(answer.parts, start=1):
            line = source_line(i, part)
            url = getattr(part, "url", "")
            if url:  # after the source line; a URL reads left to right, on its own
                line += f"\n    {url}"
            lines.append(line)
    text = terminal_safe("\n".join(lines))
    if not bidi:
        return text
    # the URLs stay as they are: reordering would scramble them
    return "\n".join(
        line if line.startswith("    ") and is_web_url(line.strip()) else to_visual(line)
        for line in text.split("\n")
    )


def to_visual(text: str) -> str:
    """Reorder right-to-left text for terminals that do not apply the bidi algorithm."""
    from bidi import get_display

    return "\n".join(get_display(line) for line in terminal_safe(text).split("\n"))


def render_answer_html(answer) -> str:
    """Telegram HTML: every piece of article and user text escaped."""
    parts = [html.escape(answer.text)]
    if answer.parts:
        parts.append("")
        parts.append("<b>منابع:</b>")
        for i, part in enumerate(answer.parts, start=1):
            line = html.escape(source_line(i, part))
            url = getattr(part, "url", "")
            if url and is_web_url(url):
                line += f' <a href="{html.escape(url, quote=True)}">پیوند</a>'
            parts.append(line)
    return "\n".join(parts)


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split at line, then sentence, then word boundaries; never inside an HTML tag or entity.

    Tags opened in one piece (<b>, <i>) are closed at its end and reopened in the next.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _best_cut(rest, limit - 16)  # room to close open tags
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        open_tags = _open_tags(head)
        head += "".join(f"</{t}>" for t in reversed(open_tags))
        rest = "".join(f"<{t}>" for t in open_tags) + rest
        pieces.append(head)
    if rest.strip():
        pieces.append(rest)
    return pieces


def _best_cut(text: str, limit: int) -> int:
    window = text[:limit]
    for pattern in (r"\n", r"(?<=[.!?؟])\s", r"\s"):
        cuts = [m.end() for m in re.finditer(pattern, window) if _safe(text, m.end())]
        if cuts and cuts[-1] > limit // 3:
            return cuts[-1]
    for cut in range(limit, 0, -1):  # one giant word: cut outside any tag or entity
        if _safe(text, cut):
            return cut
    return limit


def _safe(text: str, pos: int) -> bool:
    before = text[:pos]
    inside_tag = before.rfind("<") > before.rfind(">")
    inside_entity = before.rfind("&") > max(before.rfind(";"), before.rfind(" "))
    return not inside_tag and not inside_entity


def _open_tags(fragment: str) -> list[str]:
    stack: list[str] = []
    for m in re.finditer(r"<(/?)([a-zA-Z]+)[^>]*>", fragment):
        closing, name = m.group(1), m.group(2).lower()
        if closing:
            if name in stack:
                stack.remove(name)
        else:
            stack.append(name)
    return stack
