"""Optional: a language model phrases the answer from the cited sentences only.

Off unless `PASOKH_LLM_BASE_URL` and `PASOKH_LLM_MODEL` name an OpenAI-compatible
endpoint (a local server, say). Any error, timeout or empty reply falls back to
the extractive answer, so the bot never waits on, or breaks because of, the model.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "تو دستیار پاسخ‌گویی به پرسش‌های فارسی درباره‌ی سفرها و توافق‌های دیپلماتیک هستی. "
    "فقط از گزیده‌های داده‌شده استفاده کن، چیزی از خودت نیفزا، پاسخ را کوتاه و به فارسی بنویس "
    "و شماره‌ی منبع هر جمله را به شکل [1] یا [2] نگه دار."
)


class LlmPhraser:
    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> LlmPhraser | None:
        """`PASOKH_LLM_BASE_URL` (…/v1), `PASOKH_LLM_MODEL`, `PASOKH_LLM_API_KEY`,
        `PASOKH_LLM_TIMEOUT` seconds (default 20)."""
        base_url = os.environ.get("PASOKH_LLM_BASE_URL", "").strip()
        model = os.environ.get("PASOKH_LLM_MODEL", "").strip()
        if not base_url or not model:
            return None
        return cls(
            base_url,
            model,
            os.environ.get("PASOKH_LLM_API_KEY", ""),
            float(os.environ.get("PASOKH_LLM_TIMEOUT", "20")),
        )

    def phrase(self, question: str, parts: list) -> str | None:
        """The phrased answer with its [n] citations, or None to keep the extractive one."""
        excerpts = "\n".join(
            f"[{i}] ({p.source}{'، ' + p.date if p.date else ''}) {p.text}"
            for i, p in enumerate(parts, start=1)
        )
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"گزیده‌ها:\n{excerpts}\n\nپرسش: {question}"},
            ],
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        import httpx  # here, not at the top: 0.3 s that a question without a language model skips

        try:
            response = httpx.post(
                f"{self.base_url}/chat/completions", json=body, headers=headers,
                timeout=self.timeout,
            )  # fmt: skip
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"].strip()
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as err:
            log.warning("language model unavailable, keeping the extractive answer: %s", err)
            return None
        if not text:
            return None
        if len(parts) > 0 and "[" not in text:
            text += " " + " ".join(f"[{i}]" for i in range(1, len(parts) + 1))
        return text
