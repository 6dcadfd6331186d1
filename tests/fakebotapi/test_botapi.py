"""The fake Bot API answers like Telegram, and PTB talks to it in process without a socket."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fakebotapi import Call, DroppedConnection, FakeBotApi, LocalBotApiRequest
from fakebotapi.flood import FloodControl
from fakebotapi.telegram_rules import Json

RUNNER = 1001
OTHER_RUNNER = 1002
KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "Outside", "callback_data": "loc:out"},
            {"text": "Inside", "callback_data": "loc:in"},
        ]
    ]
}
# A 2 x 3 pixel PNG header followed by bytes that look like multipart framing.
PNG_BYTES = (
    bytes.fromhex("89504e470d0a1a0a0000000d494844520000000200000003080600000000")
    + b"\r\n--not-a-boundary\r\n\x00\xff"
)


@pytest.fixture
def api() -> FakeBotApi:
    return FakeBotApi()


def make_bot(api: FakeBotApi, *, read_timeout: float = 5.0) -> Bot:
    return Bot(
        api.token,
        request=LocalBotApiRequest(api, read_timeout=read_timeout),
        get_updates_request=LocalBotApiRequest(api),
    )


def ok(api: FakeBotApi, method: str, **params: Any) -> Any:
    accepted, result = api.handle(method, params)
    assert accepted, result
    return result


def refused(api: FakeBotApi, method: str, **params: Any) -> dict[str, Any]:
    accepted, error = api.handle(method, params)
    assert not accepted, error
    return error


class TestMethods:
    def test_get_me_describes_the_bot_as_ptb_parses_it(self, api: FakeBotApi) -> None:
        me = User.de_json(ok(api, "getMe"), None)
        assert me.is_bot and me.id == int(api.token.split(":")[0])
        assert me.username == api.bot_user["username"]

    def test_unknown_method_answers_telegrams_404(self, api: FakeBotApi) -> None:
        assert api.respond("sendTelepathy", {}) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
        )

    def test_method_names_are_case_insensitive_like_telegrams(self, api: FakeBotApi) -> None:
        assert ok(api, "SENDMESSAGE", chat_id=RUNNER, text="hi")["text"] == "hi"
        assert api.calls[-1][0] == "sendMessage"

    def test_message_ids_increase_per_chat_and_chats_are_independent(self, api: FakeBotApi) -> None:
        first = ok(api, "sendMessage", chat_id=RUNNER, text="one")
        second = ok(api, "sendMessage", chat_id=RUNNER, text="two")
        other = ok(api, "sendMessage", chat_id=OTHER_RUNNER, text="hello")
        assert second["message_id"] == first["message_id"] + 1
        assert other["message_id"] == 1
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["one", "two"]

    def test_sent_message_is_a_message_from_the_bot_with_its_keyboard(
        self, api: FakeBotApi
    ) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        message = Message.de_json(sent, None)
        assert message.from_user is not None and message.from_user.is_bot
        assert message.chat.id == RUNNER and message.chat.type == "private"
        assert api.buttons(api.last_message(RUNNER)) == [
            [("Outside", "loc:out"), ("Inside", "loc:in")]
        ]

    def test_form_encoded_parameters_are_read_like_json_ones(self, api: FakeBotApi) -> None:
        import json

        sent = ok(
            api,
            "sendMessage",
            chat_id=str(RUNNER),
            text="Where?",
            reply_markup=json.dumps(KEYBOARD),
        )
        assert sent["chat"]["id"] == RUNNER
        assert sent["reply_markup"] == KEYBOARD

    def test_html_is_stored_as_plain_text_with_entities(self, api: FakeBotApi) -> None:
        sent = ok(
            api, "sendMessage", chat_id=RUNNER, text="<b>Rest</b> &amp; ice", parse_mode="HTML"
        )
        assert sent["text"] == "Rest & ice"
        assert sent["entities"] == [{"type": "bold", "offset": 0, "length": 4}]

    def test_html_telegram_cannot_parse_is_refused_with_its_error(self, api: FakeBotApi) -> None:
        error = refused(api, "sendMessage", chat_id=RUNNER, text="pain < 3", parse_mode="HTML")
        assert error["error_code"] == 400
        assert error["description"].startswith("Bad Request: can't parse entities:")
        assert api.sent_to(RUNNER) == []

    def test_empty_and_oversize_texts_are_refused(self, api: FakeBotApi) -> None:
        empty = refused(api, "sendMessage", chat_id=RUNNER, text="  ")
        long = refused(api, "sendMessage", chat_id=RUNNER, text="x" * 4097)
        assert empty["description"] == "Bad Request: message text is empty"
        assert long["description"] == "Bad Request: message is too long"
        assert ok(api, "sendMessage", chat_id=RUNNER, text="x" * 4096)

    def test_callback_data_over_64_bytes_is_refused(self, api: FakeBotApi) -> None:
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "é" * 33}]]}
        error = refused(api, "sendMessage", chat_id=RUNNER, text="q", reply_markup=markup)
        assert error["description"] == "Bad Request: BUTTON_DATA_INVALID"

    def test_edit_is_recorded_as_an_event_and_drops_the_keyboard_unless_resent(
        self, api: FakeBotApi
    ) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        edited = ok(
            api, "editMessageText", chat_id=RUNNER, message_id=sent["message_id"], text="Outside"
        )
        assert "edit_date" in edited and "reply_markup" not in edited
        assert [(m["text"], "edit_date" in m) for m in api.sent_to(RUNNER)] == [
            ("Where?", False),
            ("Outside", True),
        ]
        assert api.message(RUNNER, sent["message_id"])["text"] == "Outside"

    def test_edit_that_changes_nothing_is_refused_as_not_modified(self, api: FakeBotApi) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        error = refused(
            api,
            "editMessageText",
            chat_id=RUNNER,
            message_id=sent["message_id"],
            text="Where?",
            reply_markup=KEYBOARD,
        )
        assert error["description"].startswith("Bad Request: message is not modified")

    def test_edit_reply_markup_replaces_only_the_keyboard(self, api: FakeBotApi) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        edited = ok(api, "editMessageReplyMarkup", chat_id=RUNNER, message_id=sent["message_id"])
        assert edited["text"] == "Where?" and "reply_markup" not in edited

    def test_only_existing_bot_messages_can_be_edited(self, api: FakeBotApi) -> None:
        typed = api.user_sends_text(RUNNER, "hello")["message"]
        missing = refused(api, "editMessageText", chat_id=RUNNER, message_id=99, text="x")
        theirs = refused(
            api, "editMessageText", chat_id=RUNNER, message_id=typed["message_id"], text="x"
        )
        assert missing["description"] == "Bad Request: message to edit not found"
        assert theirs["description"] == "Bad Request: message can't be edited"

    def test_a_callback_query_can_be_answered_once(self, api: FakeBotApi) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        query_id = api.user_presses(RUNNER, sent["message_id"], "loc:out")["callback_query"]["id"]
        assert ok(api, "answerCallbackQuery", callback_query_id=query_id, text="Noted") is True
        again = refused(api, "answerCallbackQuery", callback_query_id=query_id)
        assert "query is too old" in again["description"]
        assert api.callback_answers == [{"callback_query_id": query_id, "text": "Noted"}]

    def test_set_my_commands_registers_what_get_my_commands_returns(self, api: FakeBotApi) -> None:
        commands = [{"command": "start", "description": "Begin a check"}]
        assert ok(api, "setMyCommands", commands=commands) is True
        assert ok(api, "getMyCommands") == commands
        assert api.commands == commands
        error = refused(api, "setMyCommands", commands=[{"command": "Start!", "description": "x"}])
        assert error["description"] == "Bad Request: BOT_COMMAND_INVALID"

    def test_each_language_has_a_command_list_of_its_own(self, api: FakeBotApi) -> None:
        english = [{"command": "start", "description": "Begin a check"}]
        greek = [{"command": "start", "description": "Ξεκινήστε έναν έλεγχο"}]
        assert ok(api, "setMyCommands", commands=english) is True
        assert ok(api, "setMyCommands", commands=greek, language_code="el") is True
        assert ok(api, "getMyCommands") == english == api.commands
        assert ok(api, "getMyCommands", language_code="el") == greek
        assert ok(api, "getMyCommands", language_code="de") == []

    def test_chat_action_must_be_one_telegram_knows(self, api: FakeBotApi) -> None:
        assert ok(api, "sendChatAction", chat_id=RUNNER, action="typing") is True
        assert refused(api, "sendChatAction", chat_id=RUNNER, action="dancing")["error_code"] == 400
        assert api.chat_actions == [(RUNNER, "typing")]

    def test_webhook_methods_and_session_methods_answer(self, api: FakeBotApi) -> None:
        api.user_sends_text(RUNNER, "hello")
        assert ok(api, "getWebhookInfo")["pending_update_count"] == 1
        assert ok(api, "deleteWebhook", drop_pending_updates=True) is True
        assert api.pending_updates == []
        assert ok(api, "close") is True and ok(api, "logOut") is True

    def test_call_log_can_be_switched_off_for_benchmarks(self) -> None:
        quiet = FakeBotApi(record_calls=False)
        ok(quiet, "sendMessage", chat_id=RUNNER, text="hi")
        assert quiet.calls == []
        assert quiet.sent_to(RUNNER)[0]["text"] == "hi"


class TestGetUpdates:
    def test_unconfirmed_updates_are_delivered_again(self, api: FakeBotApi) -> None:
        api.user_sends_text(RUNNER, "one")
        first = ok(api, "getUpdates")
        assert ok(api, "getUpdates") == first

    def test_offset_confirms_every_earlier_update(self, api: FakeBotApi) -> None:
        ids = [api.user_sends_text(RUNNER, text)["update_id"] for text in ("a", "b", "c")]
        delivered = ok(api, "getUpdates", offset=ids[1])
        assert [u["update_id"] for u in delivered] == ids[1:]
        assert [u["update_id"] for u in ok(api, "getUpdates", offset=ids[2] + 1)] == []

    def test_negative_offset_keeps_only_the_newest_updates(self, api: FakeBotApi) -> None:
        ids = [api.user_sends_text(RUNNER, text)["update_id"] for text in ("a", "b", "c")]
        assert [u["update_id"] for u in ok(api, "getUpdates", offset=-1)] == ids[-1:]

    def test_limit_caps_one_answer(self, api: FakeBotApi) -> None:
        for text in "abc":
            api.user_sends_text(RUNNER, text)
        assert len(ok(api, "getUpdates", limit=2)) == 2

    def test_updates_built_without_enqueue_are_not_delivered(self, api: FakeBotApi) -> None:
        api.user_sends_text(RUNNER, "hi", enqueue=False)
        assert ok(api, "getUpdates") == []

    async def test_async_long_poll_returns_when_an_update_arrives_from_another_thread(
        self, api: FakeBotApi
    ) -> None:
        poll = asyncio.create_task(api.handle_async("getUpdates", {"timeout": 30}))
        await asyncio.sleep(0.01)
        assert not poll.done()
        threading.Thread(target=api.user_sends_text, args=(RUNNER, "hello")).start()
        accepted, updates = await asyncio.wait_for(poll, 5)
        assert accepted and updates[0]["message"]["text"] == "hello"

    async def test_async_long_poll_without_updates_answers_an_empty_list(
        self, api: FakeBotApi
    ) -> None:
        assert await api.handle_async("getUpdates", {"timeout": 0.05}) == (True, [])

    def test_blocking_long_poll_wakes_on_an_update(self, api: FakeBotApi) -> None:
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(api.handle("getUpdates", {"timeout": 30}))
        )
        poll.start()
        api.wait_until(lambda: api.calls_to("getUpdates"))
        api.user_sends_text(RUNNER, "hello")
        poll.join(5)
        assert answers and answers[0][1][0]["message"]["text"] == "hello"

    def test_a_newer_poll_ends_the_waiting_one_with_conflict(self, api: FakeBotApi) -> None:
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(api.handle("getUpdates", {"timeout": 30}))
        )
        poll.start()
        api.wait_until(lambda: api.calls_to("getUpdates"))
        ok(api, "getUpdates")
        poll.join(5)
        assert answers[0][1]["error_code"] == 409

    def test_release_pollers_ends_waiting_polls_empty(self, api: FakeBotApi) -> None:
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(api.handle("getUpdates", {"timeout": 30}))
        )
        poll.start()
        api.wait_until(lambda: api.calls_to("getUpdates"))
        api.release_pollers()
        poll.join(5)
        assert answers == [(True, [])]


class TestFailuresAndDelay:
    def test_fail_next_fails_exactly_the_next_call_with_its_parameters(
        self, api: FakeBotApi
    ) -> None:
        api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3})
        assert api.respond("sendMessage", {"chat_id": RUNNER, "text": "hi"}) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        )
        assert api.sent_to(RUNNER) == []
        assert ok(api, "sendMessage", chat_id=RUNNER, text="hi")["text"] == "hi"

    def test_injected_failures_queue_in_order(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 502, "Bad Gateway")
        api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        codes = [api.respond("sendMessage", {"chat_id": RUNNER, "text": "x"})[0] for _ in range(3)]
        assert codes == [502, 403, 200]

    def test_a_runner_who_blocked_the_bot_cannot_be_messaged(self, api: FakeBotApi) -> None:
        api.user_blocks_bot(RUNNER)
        error = refused(api, "sendMessage", chat_id=RUNNER, text="Day 3 check-in")
        assert error == {
            "ok": False,
            "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        }
        api.user_unblocks_bot(RUNNER)
        assert ok(api, "sendMessage", chat_id=RUNNER, text="Day 3 check-in")

    async def test_delay_sleeps_asynchronously_so_other_tasks_run(self, api: FakeBotApi) -> None:
        api.set_delay(0.2, method="sendMessage")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await api.handle_async("sendMessage", {"chat_id": RUNNER, "text": "slow"})
        ticker.cancel()
        assert ticks > 1
        assert api.sent_to(RUNNER) == []

    async def test_local_request_times_out_when_the_fake_is_slower_than_read_timeout(
        self, api: FakeBotApi
    ) -> None:
        api.set_delay(1.0, method="sendMessage")
        async with make_bot(api, read_timeout=0.05) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(RUNNER, "slow")


class TestFloodControl:
    """Telegram's flood limits, on when the fake is given a `FloodControl`."""

    def flooded_api(self, clock: list[float]) -> FakeBotApi:
        return FakeBotApi(
            flood=FloodControl(per_second=3, paid_per_second=5, clock=lambda: clock[0])
        )

    def test_without_flood_control_a_burst_is_accepted(self, api: FakeBotApi) -> None:
        for chat in range(100):
            ok(api, "sendMessage", chat_id=RUNNER + chat, text="hi")

    def test_sends_over_the_limit_in_one_second_get_429_and_are_not_delivered(self) -> None:
        clock = [1000.2]
        api = self.flooded_api(clock)
        for chat in range(3):
            ok(api, "sendMessage", chat_id=RUNNER + chat, text="hi")
        assert refused(api, "sendMessage", chat_id=RUNNER + 3, text="hi") == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        }
        assert api.sent_to(RUNNER + 3) == []
        clock[0] = 1001.0  # the next calendar second has a budget of its own
        ok(api, "sendMessage", chat_id=RUNNER + 3, text="hi")
        assert api.flood.refused == {"overall": 1}

    def test_a_second_message_to_one_chat_in_one_second_gets_429(self) -> None:
        clock = [1000.0]
        api = self.flooded_api(clock)
        ok(api, "sendMessage", chat_id=RUNNER, text="one")
        assert refused(api, "sendMessage", chat_id=RUNNER, text="two")["error_code"] == 429
        clock[0] = 1001.5
        ok(api, "sendMessage", chat_id=RUNNER, text="two")
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["one", "two"]
        assert api.flood.refused == {"chat": 1}

    def test_paid_broadcasts_have_a_budget_of_their_own(self) -> None:
        clock = [1000.0]
        api = self.flooded_api(clock)
        for chat in range(3):
            ok(api, "sendMessage", chat_id=RUNNER + chat, text="free")
        for chat in range(5):
            ok(
                api,
                "sendMessage",
                chat_id=RUNNER + 10 + chat,
                text="paid",
                allow_paid_broadcast="true",
            )
        assert (
            refused(
                api, "sendMessage", chat_id=RUNNER + 20, text="paid", allow_paid_broadcast=True
            )["error_code"]
            == 429
        )
        assert api.flood.refused == {"paid": 1}


class TestRunnerSimulator:
    @pytest.mark.parametrize(
        ("make_update", "kind"),
        [
            (lambda api: api.user_sends_text(RUNNER, "my ankle hurts"), "text"),
            (lambda api: api.user_sends_sticker(RUNNER), "sticker"),
            (lambda api: api.user_sends_photo(RUNNER, caption="swollen"), "photo"),
            (lambda api: api.user_sends_voice(RUNNER), "voice"),
        ],
    )
    def test_runner_messages_parse_as_ptb_updates(
        self, api: FakeBotApi, make_update: Any, kind: str
    ) -> None:
        update = Update.de_json(make_update(api), None)
        assert update.effective_chat is not None and update.effective_chat.id == RUNNER
        assert update.effective_user is not None and update.effective_user.id == RUNNER
        assert getattr(update.message, kind)

    def test_update_ids_increase(self, api: FakeBotApi) -> None:
        first = api.user_sends_text(RUNNER, "a")["update_id"]
        second = api.user_sends_sticker(OTHER_RUNNER)["update_id"]
        assert second > first

    def test_a_command_carries_the_bot_command_entity_ptb_needs(self, api: FakeBotApi) -> None:
        update = Update.de_json(api.user_sends_text(RUNNER, "/start now"), None)
        assert update.message is not None
        assert update.message.parse_entities(["bot_command"]).popitem()[1] == "/start"
        assert filters.COMMAND.check_update(update)

    def test_pressing_a_button_carries_the_message_and_its_data(self, api: FakeBotApi) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        update = Update.de_json(api.user_presses(RUNNER, sent["message_id"], "loc:in"), None)
        query = update.callback_query
        assert query is not None and query.data == "loc:in"
        assert query.message is not None and query.message.message_id == sent["message_id"]
        assert update.effective_chat is not None and update.effective_chat.id == RUNNER

    def test_a_runner_can_only_press_buttons_the_message_shows(self, api: FakeBotApi) -> None:
        sent = ok(api, "sendMessage", chat_id=RUNNER, text="Where?", reply_markup=KEYBOARD)
        with pytest.raises(ValueError, match="no button"):
            api.user_presses(RUNNER, sent["message_id"], "loc:heel")
        forged = api.user_presses(RUNNER, sent["message_id"], "v0:old", require_button=False)
        assert forged["callback_query"]["data"] == "v0:old"

    def test_tapping_by_label_uses_the_newest_message_showing_it(self, api: FakeBotApi) -> None:
        ok(api, "sendMessage", chat_id=RUNNER, text="Old", reply_markup=KEYBOARD)
        newest = ok(api, "sendMessage", chat_id=RUNNER, text="New", reply_markup=KEYBOARD)
        update = api.user_taps(RUNNER, "Inside")
        assert update["callback_query"]["message"]["message_id"] == newest["message_id"]
        with pytest.raises(LookupError):
            api.user_taps(RUNNER, "Heel")

    def test_a_runner_edit_is_an_edited_message_update(self, api: FakeBotApi) -> None:
        typed = api.user_sends_text(RUNNER, "pain 7")["message"]
        update = Update.de_json(api.user_edits(RUNNER, typed["message_id"], "pain 5"), None)
        assert update.edited_message is not None and update.edited_message.text == "pain 5"
        assert update.edited_message.edit_date is not None

    def test_group_messages_come_from_a_member_in_a_group_chat(self, api: FakeBotApi) -> None:
        update = Update.de_json(api.group_message(-4001, "hi club"), None)
        assert update.effective_chat is not None and update.effective_chat.type == "group"
        assert update.effective_user is not None and update.effective_user.id > 0
        with pytest.raises(ValueError):
            api.group_message(4001, "not a group")

    def test_concurrent_senders_get_distinct_consecutive_message_ids(self, api: FakeBotApi) -> None:
        def send_many() -> None:
            for _ in range(50):
                ok(api, "sendMessage", chat_id=RUNNER, text="x")

        threads = [threading.Thread(target=send_many) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = sorted(m["message_id"] for m in api.sent_to(RUNNER))
        assert ids == list(range(1, 401))


class TestLocalBotApiRequest:
    async def test_bot_gets_me_and_sends_a_message_with_an_inline_keyboard(
        self, api: FakeBotApi
    ) -> None:
        async with make_bot(api) as bot:
            me = await bot.get_me()
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("Outside", callback_data="loc:out")]]
            )
            message = await bot.send_message(
                RUNNER, "<b>Where</b> does it hurt?", parse_mode="HTML", reply_markup=markup
            )
        assert me.username == api.bot_user["username"]
        assert message.text == "Where does it hurt?"
        assert message.reply_markup == markup
        assert api.buttons(api.last_message(RUNNER)) == [[("Outside", "loc:out")]]

    async def test_http_status_codes_become_ptb_exceptions(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3})
        api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
        async with make_bot(api) as bot:
            with pytest.raises(RetryAfter) as retry:
                await bot.send_message(RUNNER, "a")
            with pytest.raises(Forbidden):
                await bot.send_message(RUNNER, "b")
            with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
                await bot.edit_message_text("c", chat_id=RUNNER, message_id=404)
        assert "Retry in 3 seconds" in str(retry.value)

    async def test_uploads_keep_the_bytes_the_bot_sent(self, api: FakeBotApi) -> None:
        async with make_bot(api) as bot:
            photo = await bot.send_photo(
                RUNNER, PNG_BYTES, caption="Your week", filename="week.png"
            )
            document = await bot.send_document(RUNNER, b'{"pain": [3, 2]}', filename="export.json")
        assert (photo.photo[-1].width, photo.photo[-1].height) == (2, 3)
        assert document.document is not None and document.document.file_name == "export.json"
        assert [(u.method, u.data) for u in api.uploads] == [
            ("sendPhoto", PNG_BYTES),
            ("sendDocument", b'{"pain": [3, 2]}'),
        ]

    async def test_set_my_commands_round_trips(self, api: FakeBotApi) -> None:
        async with make_bot(api) as bot:
            await bot.set_my_commands([BotCommand("start", "Begin a check")])
            assert await bot.get_my_commands() == (BotCommand("start", "Begin a check"),)

    async def test_wrong_token_is_unauthorized(self, api: FakeBotApi) -> None:
        from telegram.error import InvalidToken

        bot = Bot(
            "42:wrong", request=LocalBotApiRequest(api), get_updates_request=LocalBotApiRequest(api)
        )
        with pytest.raises(InvalidToken):
            await bot.initialize()

    async def test_a_polling_application_receives_updates_and_replies(
        self, api: FakeBotApi
    ) -> None:
        async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton("Outside", callback_data="loc:out")]]
            )
            await update.message.reply_text("Where does it hurt?", reply_markup=markup)

        async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            query = update.callback_query
            assert query is not None
            await query.answer()
            await query.edit_message_text(f"Noted: {query.data}")

        async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None
            await update.message.reply_text(f"You said {update.message.text}")

        app = (
            Application.builder()
            .token(api.token)
            .request(LocalBotApiRequest(api))
            .get_updates_request(LocalBotApiRequest(api))
            .build()
        )
        app.add_handler(CommandHandler("start", on_start))
        app.add_handler(CallbackQueryHandler(on_press))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=5)
            await app.start()
            api.user_sends_text(RUNNER, "/start")
            question = (await api.wait_for_sent(RUNNER, 1))[0]
            api.user_presses(RUNNER, question["message_id"], "loc:out")
            api.user_sends_text(OTHER_RUNNER, "hello")
            shown = await api.wait_for_sent(RUNNER, 2)
            other = await api.wait_for_sent(OTHER_RUNNER, 1)
            await app.updater.stop()
            await app.stop()
        assert [m["text"] for m in shown] == ["Where does it hurt?", "Noted: loc:out"]
        assert other[0]["text"] == "You said hello"
        assert len(api.callback_answers) == 1
        # PTB's last getUpdates on stop confirmed everything it had fetched.
        assert api.pending_updates == []


class TestTargetedFaults:
    def test_a_failure_hits_only_the_call_whose_text_matches(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 500, "Internal Server Error", when_text_contains="Emergency")
        assert ok(api, "sendMessage", chat_id=RUNNER, text="Day 2 check-in")
        assert refused(api, "sendMessage", chat_id=RUNNER, text="Emergency: call 112") == {
            "ok": False,
            "error_code": 500,
            "description": "Internal Server Error",
        }
        assert ok(api, "sendMessage", chat_id=RUNNER, text="Emergency: call 112")
        assert [m["text"] for m in api.sent_to(RUNNER)] == [
            "Day 2 check-in",
            "Emergency: call 112",
        ]

    async def test_a_targeted_429_with_a_count_reaches_ptb_as_retry_after(
        self, api: FakeBotApi
    ) -> None:
        api.fail_next(
            "sendMessage",
            429,
            "Too Many Requests: retry after 4",
            {"retry_after": 4},
            text_contains="Emergency",
            count=2,
        )
        async with make_bot(api) as bot:
            for _ in range(2):
                with pytest.raises(RetryAfter, match="Retry in 4 seconds"):
                    await bot.send_message(RUNNER, "Emergency: call 112")
                await bot.send_message(RUNNER, "Day 2 check-in")
            await bot.send_message(RUNNER, "Emergency: call 112")
        assert api.text_counts(RUNNER) == {"Day 2 check-in": 2, "Emergency: call 112": 1}
        assert api.armed_faults == []

    def test_a_targeted_failure_does_not_hold_up_the_untargeted_ones(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 500, "Internal Server Error", text_contains="Emergency")
        api.fail_next("sendMessage", 502, "Bad Gateway")
        codes = [
            api.respond("sendMessage", {"chat_id": RUNNER, "text": text})[0]
            for text in ("Day 2", "Emergency", "Day 3")
        ]
        assert codes == [502, 500, 200]

    def test_chat_id_and_a_predicate_narrow_a_failure(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=7)
        api.fail_next(
            "sendMessage", 400, "Bad Request: odd", when=lambda p: p.get("parse_mode") == "HTML"
        )
        assert ok(api, "sendMessage", chat_id=RUNNER, text="x")
        assert refused(api, "sendMessage", chat_id="7", text="x")["error_code"] == 403
        assert (
            refused(api, "sendMessage", chat_id=8, text="x", parse_mode="HTML")["error_code"] == 400
        )

    def test_faults_on_a_method_the_fake_does_not_know_are_refused(self, api: FakeBotApi) -> None:
        with pytest.raises(ValueError, match="sendMesage"):
            api.fail_next("sendMesage", 500, "Internal Server Error")
        with pytest.raises(ValueError, match="getUpdates"):
            api.reset_next("sendMessage", after_delivery=True, confirms=3)
        with pytest.raises(ValueError, match="after_delivery=True"):
            api.pause_next("getUpdates", delivers=3)

    def test_clear_faults_forgets_what_has_not_fired(self, api: FakeBotApi) -> None:
        api.fail_next("sendMessage", 500, "Internal Server Error")
        api.reset_next("sendMessage", after_delivery=False)
        pause = api.pause_next("sendMessage")
        assert [f["kind"] for f in api.armed_faults] == ["fail", "reset"]
        api.clear_faults()
        assert api.armed_faults == []
        assert ok(api, "sendMessage", chat_id=RUNNER, text="x")
        assert pause.state == "released" and not pause.blocked


class TestResetsAndHangs:
    async def test_a_reset_before_delivery_is_a_network_error_and_nothing_arrives(
        self, api: FakeBotApi
    ) -> None:
        api.reset_next("sendMessage", after_delivery=False, text_contains="Emergency")
        async with make_bot(api) as bot:
            await bot.send_message(RUNNER, "Day 2 check-in")
            with pytest.raises(NetworkError) as reset:
                await bot.send_message(RUNNER, "Emergency: call 112")
        # What PTB's HTTPXRequest raises when a server closes the connection without answering.
        assert str(reset.value) == (
            "httpx.RemoteProtocolError: Server disconnected without sending a response."
        )
        assert isinstance(reset.value.__cause__, httpx.RemoteProtocolError)
        assert not isinstance(reset.value, TimedOut)
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["Day 2 check-in"]
        assert api.dropped_calls == [
            {
                "method": "sendMessage",
                "params": {"chat_id": RUNNER, "text": "Emergency: call 112"},
                "delivered": False,
            }
        ]

    async def test_a_reset_after_delivery_leaves_the_message_in_the_chat(
        self, api: FakeBotApi
    ) -> None:
        api.reset_next("sendMessage", after_delivery=True)
        async with make_bot(api) as bot:
            with pytest.raises(NetworkError):
                await bot.send_message(RUNNER, "Emergency: call 112")
            # The client retries, as it must: the runner now has the message twice.
            await bot.send_message(RUNNER, "Emergency: call 112")
        assert api.duplicates(RUNNER) == {"Emergency: call 112": 2}
        assert api.dropped_calls[0]["delivered"] is True

    def test_a_reset_after_delivery_skips_refused_calls(self, api: FakeBotApi) -> None:
        api.reset_next("sendMessage", after_delivery=True)
        assert refused(api, "sendMessage", chat_id=RUNNER, text="")["error_code"] == 400
        with pytest.raises(DroppedConnection):
            api.handle("sendMessage", {"chat_id": RUNNER, "text": "x"})

    async def test_a_hang_before_delivery_times_out_and_never_delivers(
        self, api: FakeBotApi
    ) -> None:
        api.hang_next("sendMessage", 1.0)
        async with make_bot(api, read_timeout=0.1) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(RUNNER, "Day 2 check-in")
        await asyncio.sleep(0.05)
        assert api.sent_to(RUNNER) == []
        assert api.paused == [] and api.armed_faults == []

    async def test_a_hang_after_delivery_times_out_with_the_message_delivered(
        self, api: FakeBotApi
    ) -> None:
        api.hang_next("sendMessage", 1.0, after_delivery=True, text_contains="Day 2")
        async with make_bot(api, read_timeout=0.1) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(RUNNER, "Day 2 check-in")
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["Day 2 check-in"]

    async def test_a_hang_shorter_than_the_timeout_ends_in_a_dropped_connection(
        self, api: FakeBotApi
    ) -> None:
        api.hang_next("sendMessage", 0.05)
        async with make_bot(api, read_timeout=2.0) as bot:
            started = time.monotonic()
            with pytest.raises(NetworkError, match="RemoteProtocolError"):
                await bot.send_message(RUNNER, "x")
        assert 0.05 <= time.monotonic() - started < 1.0

    def test_a_blocking_hang_ends_early_when_held_calls_are_dropped(self, api: FakeBotApi) -> None:
        api.hang_next("sendMessage", 30)
        errors: list[BaseException] = []

        def send() -> None:
            try:
                api.handle("sendMessage", {"chat_id": RUNNER, "text": "x"})
            except DroppedConnection as error:
                errors.append(error)

        thread = threading.Thread(target=send)
        thread.start()
        api.wait_until(lambda: api.calls_to("sendMessage"))
        api.wait_until(lambda: api.drop_held_calls() or None, within=2)
        thread.join(2)
        assert not thread.is_alive() and len(errors) == 1

    def test_a_reset_of_the_confirming_get_updates_after_delivery_still_confirms(
        self, api: FakeBotApi
    ) -> None:
        update_id = api.user_sends_text(RUNNER, "my ankle")["update_id"]
        assert ok(api, "getUpdates")[0]["update_id"] == update_id
        api.reset_next("getUpdates", after_delivery=True, confirms=update_id)
        with pytest.raises(DroppedConnection):
            api.handle("getUpdates", {"offset": update_id + 1})
        assert api.pending_updates == []
        assert api.confirmed_at(update_id) is not None


class TestPausesAndHooks:
    def test_a_pause_before_delivery_holds_the_call_until_released(self, api: FakeBotApi) -> None:
        pause = api.pause_next("sendMessage", text_contains="Emergency")
        answers: list[Any] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                api.handle("sendMessage", {"chat_id": RUNNER, "text": "Emergency: call 112"})
            )
        )
        ok(api, "sendMessage", chat_id=RUNNER, text="Day 2")
        sender.start()
        assert pause.wait(within=2)["text"] == "Emergency: call 112"
        assert api.wait_paused(within=0) is pause and pause.blocked
        # The call reached the server and has not taken effect: this is when to kill the bot.
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["Day 2"]
        assert ok(api, "sendMessage", chat_id=RUNNER, text="Day 3")
        pause.release()
        sender.join(2)
        assert answers[0][0] is True
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["Day 2", "Day 3", "Emergency: call 112"]
        assert pause.state == "released" and api.paused == []

    def test_a_pause_after_delivery_holds_the_answer_and_can_drop_it(self, api: FakeBotApi) -> None:
        pause = api.pause_next("sendMessage", after_delivery=True)
        errors: list[BaseException] = []

        def send() -> None:
            try:
                api.handle("sendMessage", {"chat_id": RUNNER, "text": "Day 2"})
            except DroppedConnection as error:
                errors.append(error)

        sender = threading.Thread(target=send)
        sender.start()
        held = api.wait_paused(within=2)
        assert held is pause and held.result["text"] == "Day 2"
        assert [m["text"] for m in api.sent_to(RUNNER)] == ["Day 2"]
        assert api.release_paused(drop=True) == 1
        sender.join(2)
        assert len(errors) == 1 and errors[0].delivered is True
        assert held.state == "dropped"

    async def test_a_pause_works_in_the_event_loop_next_to_the_bot(self, api: FakeBotApi) -> None:
        pause = api.pause_next("sendMessage")
        async with make_bot(api) as bot:
            send = asyncio.create_task(bot.send_message(RUNNER, "Day 2"))
            assert (await pause.wait_async(within=2))["text"] == "Day 2"
            assert api.sent_to(RUNNER) == []
            pause.release()
            sent = await asyncio.wait_for(send, 2)
        assert sent.text == "Day 2"

    async def test_a_client_that_times_out_abandons_its_paused_call(self, api: FakeBotApi) -> None:
        pause = api.pause_next("sendMessage")
        async with make_bot(api, read_timeout=0.1) as bot:
            with pytest.raises(TimedOut):
                await bot.send_message(RUNNER, "Day 2")
        assert pause.state == "abandoned"
        assert api.paused == [] and api.sent_to(RUNNER) == []

    def test_a_pause_released_before_any_call_is_disarmed(self, api: FakeBotApi) -> None:
        pause = api.pause_next("sendMessage")
        pause.release()
        assert ok(api, "sendMessage", chat_id=RUNNER, text="x")
        with pytest.raises(RuntimeError, match="released before any call"):
            pause.wait(within=0.1)
        with pytest.raises(TimeoutError):
            api.wait_paused(within=0.05)

    def test_a_pause_can_wait_for_the_get_updates_that_delivers_an_update(
        self, api: FakeBotApi
    ) -> None:
        pause = api.pause_next("getUpdates", after_delivery=True, delivers=2)
        api.user_sends_text(RUNNER, "first")
        assert len(ok(api, "getUpdates")) == 1  # carries update 1 only: not held
        api.user_sends_text(RUNNER, "second")
        answers: list[Any] = []
        poll = threading.Thread(
            target=lambda: answers.append(api.handle("getUpdates", {"offset": 2}))
        )
        poll.start()
        pause.wait(within=2)
        assert [u["update_id"] for u in pause.result] == [2]
        assert api.confirmed_at(1) is not None and api.confirmed_at(2) is None
        pause.release()
        poll.join(2)
        assert answers[0][1][0]["message"]["text"] == "second"

    def test_on_call_runs_before_the_call_takes_effect_and_after(self, api: FakeBotApi) -> None:
        seen: list[tuple[bool, list[Json]]] = []

        def note(call: Call) -> None:
            seen.append((call.after_delivery, api.sent_to(RUNNER)))

        api.on_call("sendMessage", note, text_contains="Emergency")
        api.on_call("sendMessage", note, text_contains="Emergency", after_delivery=True)
        ok(api, "sendMessage", chat_id=RUNNER, text="Day 2")
        ok(api, "sendMessage", chat_id=RUNNER, text="Emergency: call 112")
        assert [(after, len(sent)) for after, sent in seen] == [(False, 1), (True, 2)]

    def test_on_call_once_and_removal(self, api: FakeBotApi) -> None:
        calls: list[Call] = []
        api.on_call("sendMessage", calls.append, once=True)
        remove = api.on_call("sendMessage", calls.append, after_delivery=True)
        for text in ("a", "b"):
            ok(api, "sendMessage", chat_id=RUNNER, text=text)
        remove()
        ok(api, "sendMessage", chat_id=RUNNER, text="c")
        assert [(c.params["text"], c.after_delivery) for c in calls] == [
            ("a", False),
            ("a", True),
            ("b", True),
        ]
        assert calls[1].result["message_id"] == 1 and calls[0].result is None

    def test_what_a_hook_raises_is_kept_and_the_call_carries_on(self, api: FakeBotApi) -> None:
        def check(call: Call) -> None:
            raise AssertionError("update 1 was not stored before it was confirmed")

        api.on_call("getUpdates", check, confirms=1)
        api.user_sends_text(RUNNER, "hi")
        ok(api, "getUpdates")  # no offset: confirms nothing, the hook does not run
        assert api.hook_errors == []
        assert ok(api, "getUpdates", offset=2) == []
        assert [str(e) for e in api.hook_errors] == [
            "update 1 was not stored before it was confirmed"
        ]


class TestOddUpdates:
    def test_raw_json_is_delivered_as_given_even_when_ptb_cannot_parse_it(
        self, api: FakeBotApi
    ) -> None:
        poison = {
            "callback_query": {
                "id": "77",
                "from": {"id": RUNNER, "is_bot": False, "first_name": "Runner"},
                "data": "v1:q:loc:out",
            }
        }
        queued = api.enqueue_raw(poison)
        assert queued == {"update_id": 1, **poison}
        (delivered,) = ok(api, "getUpdates")
        assert delivered == queued
        with pytest.raises(TypeError, match="chat_instance"):
            Update.de_json(delivered, None)
        # The query can still be answered, as a real one could.
        assert ok(api, "answerCallbackQuery", callback_query_id="77") is True

    def test_raw_updates_keep_their_ids_and_the_queue_stays_in_order(self, api: FakeBotApi) -> None:
        api.enqueue_raw('{"update_id": 10, "message": {"odd": true}}')
        assert api.user_sends_text(RUNNER, "next")["update_id"] == 11
        api.enqueue_raw({"update_id": 5, "something_new": {}})
        assert [u["update_id"] for u in ok(api, "getUpdates")] == [5, 10, 11]
        with pytest.raises(ValueError):
            api.enqueue_raw("[1, 2]")
        with pytest.raises(ValueError):
            api.enqueue_raw({"update_id": "12"})

    def test_a_tap_in_a_group_on_a_bot_message_there(self, api: FakeBotApi) -> None:
        group = -4001
        ok(api, "sendMessage", chat_id=group, text="Who is in?", reply_markup=KEYBOARD)
        update = Update.de_json(api.group_taps(group, 5150, "loc:in"), None)
        query = update.callback_query
        assert query is not None and query.data == "loc:in"
        assert query.from_user.id == 5150
        assert query.message is not None and query.message.chat.type == "group"
        assert query.message.message_id == 1
        assert ok(api, "answerCallbackQuery", callback_query_id=query.id) is True

    def test_a_tap_in_a_group_the_bot_never_wrote_in(self, api: FakeBotApi) -> None:
        group = -1001234567890
        update = Update.de_json(api.group_taps(group, 5150, "v1:q:loc:out"), None)
        query = update.callback_query
        assert query is not None and query.message is not None
        assert query.message.chat.type == "supergroup"
        assert query.message.from_user is not None and query.message.from_user.is_bot
        assert api.sent_to(group) == []
        with pytest.raises(ValueError):
            api.group_taps(RUNNER, 5150, "x")

    def test_a_tap_under_an_inline_message_has_no_message(self, api: FakeBotApi) -> None:
        update = Update.de_json(api.inline_taps(RUNNER, "v1:q:loc:out"), None)
        query = update.callback_query
        assert query is not None
        assert query.message is None and query.inline_message_id
        assert update.effective_chat is None
        assert query.from_user.id == RUNNER
        assert ok(api, "getUpdates")[0]["callback_query"]["inline_message_id"]


class TestBookkeeping:
    def test_duplicates_counts_identical_texts_per_chat_and_ignores_edits(
        self, api: FakeBotApi
    ) -> None:
        for text in ("Day 2", "Day 2", "Day 3"):
            ok(api, "sendMessage", chat_id=RUNNER, text=text)
        ok(api, "sendMessage", chat_id=OTHER_RUNNER, text="Day 2")
        ok(api, "editMessageText", chat_id=RUNNER, message_id=3, text="Day 2")
        assert api.duplicates(RUNNER) == {"Day 2": 2}
        assert api.duplicates(OTHER_RUNNER) == {}
        assert api.text_counts(RUNNER) == {"Day 2": 2, "Day 3": 1}

    def test_confirmations_say_which_offset_confirmed_which_update_and_when(
        self, api: FakeBotApi
    ) -> None:
        ids = [api.user_sends_text(RUNNER, text)["update_id"] for text in ("a", "b", "c")]
        before = time.time()
        ok(api, "getUpdates")
        ok(api, "getUpdates", limit=1)
        assert api.confirmations == [] and api.confirmed_at(ids[0]) is None
        ok(api, "getUpdates", offset=ids[1] + 1)
        after = time.time()
        assert [(c.update_id, c.offset, c.deliveries) for c in api.confirmations] == [
            (ids[0], ids[1] + 1, 2),
            (ids[1], ids[1] + 1, 1),
        ]
        assert before <= api.confirmations[0].at <= after
        assert len(api.delivered_at(ids[2])) == 2  # the first answer and the last
        ok(api, "getUpdates", offset=ids[2] + 1)
        assert api.confirmed_at(ids[2]) is not None

    def test_a_negative_offset_confirms_the_updates_it_drops(self, api: FakeBotApi) -> None:
        ids = [api.user_sends_text(RUNNER, text)["update_id"] for text in ("a", "b")]
        ok(api, "getUpdates", offset=-1)
        assert [(c.update_id, c.offset) for c in api.confirmations] == [(ids[0], -1)]

    def test_bookkeeping_is_off_with_the_call_log(self) -> None:
        quiet = FakeBotApi(record_calls=False)
        quiet.user_sends_text(RUNNER, "a")
        ok(quiet, "getUpdates")
        ok(quiet, "getUpdates", offset=2)
        assert quiet.confirmations == [] and quiet.delivered_at(1) == []
