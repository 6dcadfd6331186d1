"""Telegram's flood limits, for a fake that should answer a burst the way Telegram does.

Telegram lets a bot send about 30 messages a second overall and about one a second to one chat,
and paid broadcasts (`allow_paid_broadcast`) up to 1,000 a second; beyond that it answers
429 "Too Many Requests: retry after N" with `parameters.retry_after`. `FloodControl` keeps those
limits per calendar second of the fake's wall clock (the grid the bot's shared limiter keeps
to), counting only the calls that put a message into a chat, and counts what it refused. It is
off unless a `FakeBotApi` is given one (`FakeBotApi(flood=FloodControl())`), so tests that send
bursts on purpose keep their behaviour; the fan-out benchmark turns it on so that its "429s: 0"
is Telegram's answer, not a count of its own. Group limits (20 a minute) are not modelled.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from fakebotapi.telegram_rules import ApiError

# The methods that post a message into a chat and so count against the limits (the fake's).
SENDING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})


class FloodControl:
    """Refuses sends over `per_second` (free) or `paid_per_second` (paid broadcast) in one
    calendar second, or over `per_chat` to one chat in one second, with a 429 (module doc).

    Not thread-safe by itself: the fake calls `admit` under its lock."""

    def __init__(
        self,
        *,
        per_second: int = 30,
        paid_per_second: int = 1000,
        per_chat: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._limits = {False: per_second, True: paid_per_second}
        self._per_chat = per_chat
        self._clock = clock
        self._second = -1
        self._counts: Counter[bool] = Counter()
        self._chats: Counter[int] = Counter()
        self.refused: Counter[str] = Counter()  # "overall", "paid", "chat"

    def admit(self, chat_id: int, *, paid: bool) -> None:
        """Count one send to `chat_id` now, or raise the 429 Telegram would answer."""
        second = int(self._clock())
        if second != self._second:
            self._second = second
            self._counts.clear()
            self._chats.clear()
        if self._counts[paid] >= self._limits[paid]:
            self._refuse("paid" if paid else "overall")
        if self._chats[chat_id] >= self._per_chat:
            self._refuse("chat")
        self._counts[paid] += 1
        self._chats[chat_id] += 1

    def _refuse(self, kind: str) -> None:
        self.refused[kind] += 1
        raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})

    @property
    def refusals(self) -> int:
        return sum(self.refused.values())
