"""Updates of one chat run one at a time in arrival order; different chats run concurrently."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Awaitable

import pytest
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.updates import (
    DEFAULT_MAX_CONCURRENT_UPDATES,
    GLOBAL_KEY,
    PerChatUpdateProcessor,
    ordering_key,
)
from tests.fakes.botapi import FakeBotApi, LocalBotApiRequest

ALICE = 3001
BOB = 3002
PATIENCE = 5.0  # seconds before a test that would otherwise hang fails instead


def text_update(api: FakeBotApi, chat_id: int, text: str) -> Update:
    return Update.de_json(api.user_sends_text(chat_id, text, enqueue=False), None)


async def let_the_loop_run(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


class Journal:
    """Records when each update's processing starts and ends."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.running: set[str] = set()
        self.overlaps: list[tuple[str, ...]] = []

    def work(self, name: str, wait_for: asyncio.Event | None = None) -> Awaitable[None]:
        async def run() -> None:
            self.entries.append(f"start {name}")
            if self.running:
                self.overlaps.append((name, *sorted(self.running)))
            self.running.add(name)
            if wait_for is not None:
                await asyncio.wait_for(wait_for.wait(), PATIENCE)
            await asyncio.sleep(0)
            self.running.discard(name)
            self.entries.append(f"end {name}")

        return run()


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


class TestOrderingKey:
    def test_a_message_is_keyed_by_its_chat(self, api: FakeBotApi) -> None:
        assert ordering_key(text_update(api, ALICE, "hi")) == ALICE

    def test_a_group_message_is_keyed_by_the_group_not_the_member(self, api: FakeBotApi) -> None:
        update = Update.de_json(api.group_message(-5001, "hi", enqueue=False), None)
        assert ordering_key(update) == -5001

    def test_a_button_press_is_keyed_by_the_chat_of_its_message(self, api: FakeBotApi) -> None:
        api.handle(
            "sendMessage",
            {
                "chat_id": ALICE,
                "text": "Where?",
                "reply_markup": {"inline_keyboard": [[{"text": "Out", "callback_data": "o"}]]},
            },
        )
        update = Update.de_json(api.user_presses(ALICE, 1, "o", enqueue=False), None)
        assert ordering_key(update) == ALICE

    def test_an_update_without_chat_falls_back_to_its_user(self) -> None:
        update = Update.de_json(
            {
                "update_id": 1,
                "inline_query": {
                    "id": "q",
                    "from": {"id": BOB, "is_bot": False, "first_name": "Bob"},
                    "query": "ankle",
                    "offset": "",
                },
            },
            None,
        )
        assert ordering_key(update) == BOB

    def test_updates_with_neither_share_the_global_key(self) -> None:
        assert ordering_key(Update(update_id=1)) == GLOBAL_KEY
        assert ordering_key(object()) == GLOBAL_KEY


class TestProcessUpdate:
    async def test_same_chat_updates_never_overlap_and_keep_order_when_the_first_is_slow(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()
        release_first = asyncio.Event()
        tasks = [
            asyncio.create_task(
                processor.process_update(
                    text_update(api, ALICE, name),
                    journal.work(name, release_first if name == "a1" else None),
                )
            )
            for name in ("a1", "a2", "a3")
        ]
        await let_the_loop_run()
        assert journal.entries == ["start a1"]
        release_first.set()
        await asyncio.wait_for(asyncio.gather(*tasks), PATIENCE)
        assert journal.entries == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]
        assert journal.overlaps == []

    async def test_another_chat_finishes_while_the_first_chats_slow_update_waits(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()
        bob_done = asyncio.Event()

        async def bob() -> None:
            await journal.work("b1")
            bob_done.set()

        alice = asyncio.create_task(
            processor.process_update(text_update(api, ALICE, "a1"), journal.work("a1", bob_done))
        )
        await let_the_loop_run()
        await asyncio.wait_for(
            processor.process_update(text_update(api, BOB, "b1"), bob()), PATIENCE
        )
        assert journal.entries == ["start a1", "start b1", "end b1"]
        await asyncio.wait_for(alice, PATIENCE)
        assert journal.entries[-1] == "end a1"

    async def test_the_lock_table_is_empty_once_every_chat_is_idle(self, api: FakeBotApi) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()
        updates = [
            text_update(api, chat_id, f"{chat_id}-{n}")
            for chat_id in range(1, 51)
            for n in range(3)
        ]
        gate = asyncio.Event()
        tasks = [
            asyncio.create_task(processor.process_update(update, journal.work(str(i), gate)))
            for i, update in enumerate(updates)
        ]
        await let_the_loop_run()
        assert processor.active_keys == 50
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), PATIENCE)
        assert processor.active_keys == 0
        assert len(journal.entries) == 2 * len(updates)

    async def test_a_failing_update_releases_its_chat_for_the_next(self, api: FakeBotApi) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()

        async def broken() -> None:
            raise RuntimeError("handler bug")

        with pytest.raises(RuntimeError):
            await processor.process_update(text_update(api, ALICE, "bad"), broken())
        await asyncio.wait_for(
            processor.process_update(text_update(api, ALICE, "next"), journal.work("next")),
            PATIENCE,
        )
        assert journal.entries == ["start next", "end next"]
        assert processor.active_keys == 0

    async def test_an_update_cancelled_while_queued_leaves_no_lock_and_no_warning(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()
        gate = asyncio.Event()
        first = asyncio.create_task(
            processor.process_update(text_update(api, ALICE, "a1"), journal.work("a1", gate))
        )
        queued = asyncio.create_task(
            processor.process_update(text_update(api, ALICE, "a2"), journal.work("a2"))
        )
        await let_the_loop_run()
        queued.cancel()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(asyncio.CancelledError):
                await queued
            gate.set()
            await asyncio.wait_for(first, PATIENCE)
            gc.collect()
        assert not [w for w in caught if "never awaited" in str(w.message)]
        assert journal.entries == ["start a1", "end a1"]
        assert processor.active_keys == 0

    async def test_a_long_backlog_in_one_chat_does_not_stall_other_chats(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor()
        journal = Journal()
        gate = asyncio.Event()
        backlog = [
            asyncio.create_task(
                processor.process_update(
                    text_update(api, ALICE, f"a{n}"), journal.work(f"a{n}", gate)
                )
            )
            for n in range(300)
        ]
        await let_the_loop_run()
        await asyncio.wait_for(
            processor.process_update(text_update(api, BOB, "b1"), journal.work("b1")), PATIENCE
        )
        assert journal.entries == ["start a0", "start b1", "end b1"]
        gate.set()
        await asyncio.wait_for(asyncio.gather(*backlog), PATIENCE)
        assert DEFAULT_MAX_CONCURRENT_UPDATES > 300

    async def test_why_the_limit_is_generous_a_small_one_lets_one_chat_stall_the_rest(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor(max_concurrent_updates=3)
        journal = Journal()
        gate = asyncio.Event()
        backlog = [
            asyncio.create_task(
                processor.process_update(
                    text_update(api, ALICE, f"a{n}"), journal.work(f"a{n}", gate)
                )
            )
            for n in range(3)
        ]
        await let_the_loop_run()
        bob = asyncio.create_task(
            processor.process_update(text_update(api, BOB, "b1"), journal.work("b1"))
        )
        await let_the_loop_run()
        assert "start b1" not in journal.entries
        gate.set()
        await asyncio.wait_for(asyncio.gather(*backlog, bob), PATIENCE)
        assert "end b1" in journal.entries


class TestWithApplication:
    async def test_an_application_fed_through_its_queue_orders_per_chat_and_overlaps_chats(
        self, api: FakeBotApi
    ) -> None:
        processor = PerChatUpdateProcessor()
        journal: list[str] = []
        bob_replied = asyncio.Event()

        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None and update.effective_chat is not None
            text = update.message.text or ""
            journal.append(f"start {text}")
            if text == "a1":
                # Alice's first update is slow: it only ends once Bob has had his reply.
                await asyncio.wait_for(bob_replied.wait(), PATIENCE)
            await context.bot.send_message(update.effective_chat.id, f"re {text}")
            if text == "b1":
                bob_replied.set()
            journal.append(f"end {text}")

        app = (
            Application.builder()
            .token(api.token)
            .request(LocalBotApiRequest(api))
            .get_updates_request(LocalBotApiRequest(api))
            .concurrent_updates(processor)
            .build()
        )
        app.add_handler(TypeHandler(Update, handle))
        async with app:
            await app.start()
            for chat_id, text in [(ALICE, "a1"), (ALICE, "a2"), (BOB, "b1"), (ALICE, "a3")]:
                await app.update_queue.put(text_update(api, chat_id, text))
            await api.wait_for(lambda: len(api.sent_to(ALICE)) == 3, within=PATIENCE)
            await app.stop()
        alice = [entry for entry in journal if " a" in entry]
        assert alice == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]
        assert journal.index("end b1") < journal.index("end a1")
        assert [m["text"] for m in api.sent_to(ALICE)] == ["re a1", "re a2", "re a3"]
        assert processor.active_keys == 0
