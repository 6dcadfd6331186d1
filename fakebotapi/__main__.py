"""`python -m fakebotapi`: serve the fake Bot API over HTTP until interrupted.

The same as `python -m fakebotapi.http_server`; it prints the URL to point the bot at and where
the `/_fake/` control API is. Options: `--host`, `--port` (8081), `--token`.
"""

from fakebotapi.http_server import main

main(prog="python -m fakebotapi")
