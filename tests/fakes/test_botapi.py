"""The fake Bot API answers like Telegram, and PTB talks to it in process without a socket."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

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
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.botapi import FakeBotApi, LocalBotApiRequest

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
