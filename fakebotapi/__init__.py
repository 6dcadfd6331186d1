"""A fake Telegram Bot API for tests, benchmarks and trying the bot without Telegram.

`botapi.FakeBotApi` holds the server's state and a runner simulator; `botapi.LocalBotApiRequest`
plugs it into python-telegram-bot without a socket; `http_server` serves it over real HTTP
(`python -m fakebotapi.http_server --port 8081`). It is a tool of the project, not a test file:
the tests, `bench/` and the README all use it.
"""
