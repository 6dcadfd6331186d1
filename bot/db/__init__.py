"""The bot's persistence layer: models, engines, store functions and migrations.

`types` and `models` describe the tables; `engine` builds tuned engines from plain URLs;
`database.Database` runs one store function per transaction from async code; `store` holds the
small keyword-only data-access functions; `migrate` brings a database to the current schema.
"""
