"""Fakes for the edges tests cannot reach: the Telegram Bot API, in process and over HTTP."""
