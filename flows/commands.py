"""The command table: every command a runner can send, one row each.

A row names the command, describes it (Telegram's command menu and `/help` both show this
text, translated), says where it is allowed, and runs it: what the command does to the
conversation, as an `Outcome`. Telegram's menu (`bot.app.register_commands`), `/help`, the
terminal chat and the routing of updates all read this table, so a command cannot be listed in
one place and missing in another. Adding a command is one row plus its flow logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from flows import (
    clearance,
    delete,
    exercise_plan,
    hop_run,
    language,
    readiness,
    reminders,
    run_log,
    runner_commands,
    soreness,
    triage,
)
from flows.effects import Outcome
from flows.flow import question_reply, with_current_question
from flows.profile import Profile
from flows.questions import parse_pain
from flows.replies import info
from flows.state import DialogState
from flows.types import DONE, FlowName
from flows.words import N_


class Where(StrEnum):
    """Where a command is allowed. Health questions belong in a private chat: in a group the
    bot only says so (`bot.routing`)."""

    PRIVATE = "private"
    # Only in the terminal chat (`python -m bot chat`), which runs it itself: never in
    # Telegram's menu or /help, and refused over Telegram.
    TERMINAL = "terminal"


Run = Callable[[DialogState | None, Profile, str, datetime], Outcome]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    run: Run
    where: Where = Where.PRIVATE
    # Whether `run` reads the runner's follow-up profile (episode, soreness, schedule): loading
    # it costs several queries, so the commands that only start, stop or explain a dialog
    # are run on the runner's settings alone.
    needs_profile: bool = True


def _start(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    return triage.start(state, now=now, intro=True)


def _new(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    return triage.start(state, now=now, intro=False)


def _cancel(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    if state is None or not state.active:
        return Outcome(replies=(info("triage/cancelled.j2", had_assessment=False),))
    done = replace(state, step=DONE, answers={}, history=(), version=state.version + 1)
    return Outcome(state=done, replies=(info("triage/cancelled.j2", had_assessment=True),))


def _help(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    listed = tuple((c.name, c.description) for c in MENU)
    return with_current_question(state, info("triage/help.j2", commands=listed), now=now)


def _about(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    return with_current_question(state, info("triage/about.j2"), now=now)


def _sore(state: DialogState | None, profile: Profile, argument: str, now: datetime) -> Outcome:
    value = parse_pain(argument) if argument else None
    if value is not None:
        return soreness.record_soreness(profile, int(value), now=now)
    if state is not None and state.active and state.flow is FlowName.TRIAGE:
        finish_first = info("care/finish_assessment_first.j2")
        return Outcome(replies=(finish_first, question_reply(state, now=now)))
    fresh = soreness.FLOW.start(state, now=now)
    return Outcome(state=fresh, replies=(question_reply(fresh, now=now),))


def _terminal_only(
    state: DialogState | None, profile: Profile, argument: str, now: datetime
) -> Outcome:
    # Reached only over Telegram: the terminal chat runs its own commands before the flows.
    return with_current_question(state, info("triage/terminal_only.j2"), now=now)


COMMANDS: tuple[Command, ...] = (
    Command("start", N_("About this bot, then an assessment"), _start, needs_profile=False),
    Command("new", N_("Start a new ankle assessment"), _new, needs_profile=False),
    Command("cancel", N_("Stop the current assessment"), _cancel),
    Command("help", N_("How to use the bot"), _help, needs_profile=False),
    Command("about", N_("What this bot is and is not"), _about, needs_profile=False),
    Command(
        "language", N_("Choose the language I write in"), language.command, needs_profile=False
    ),
    Command("sore", N_("Tell me how sore your ankle is now"), _sore),
    Command(
        "status",
        N_("Your assessment, plan and what is next"),
        lambda state, profile, argument, now: runner_commands.show_status(profile, now=now),
    ),
    Command(
        "reminders",
        N_("Daily reminder and time zone"),
        lambda state, profile, argument, now: reminders.start_setup(state, profile, now=now),
    ),
    Command(
        "pause",
        N_("Pause daily reminders"),
        lambda state, profile, argument, now: runner_commands.pause(profile),
    ),
    Command(
        "resume",
        N_("Resume reminders and check-ins"),
        lambda state, profile, argument, now: runner_commands.resume(profile, now=now),
    ),
    Command(
        "stop",
        N_("Stop every check-in and reminder"),
        lambda state, profile, argument, now: runner_commands.stop(profile),
    ),
    Command(
        "plan",
        N_("Today's exercises, with how-tos"),
        lambda state, profile, argument, now: exercise_plan.show_plan(profile, now=now),
    ),
    Command(
        "exercises",
        N_("Browse the exercise library"),
        lambda state, profile, argument, now: exercise_plan.browse_exercises(),
    ),
    Command(
        "test",
        N_("Today's self-test"),
        lambda state, profile, argument, now: readiness.start_check(state, profile, now=now),
    ),
    Command(
        "cleared",
        N_("A clinician cleared you for exercises"),
        lambda state, profile, argument, now: clearance.start_cleared_plan(profile, now=now),
    ),
    Command(
        "hop",
        N_("Can I hop yet?"),
        lambda state, profile, argument, now: hop_run.can_i_hop(profile, now=now),
    ),
    Command(
        "whenrun",
        N_("When can I run?"),
        lambda state, profile, argument, now: hop_run.when_can_i_run(profile, now=now),
    ),
    Command(
        "run",
        N_("Log a walk-run day"),
        lambda state, profile, argument, now: run_log.start_running(state, profile, now=now),
    ),
    Command(
        "progress",
        N_("A chart of your recovery"),
        lambda state, profile, argument, now: runner_commands.progress(profile),
    ),
    Command(
        "summary",
        N_("A one-page PDF to show your doctor or physio"),
        lambda state, profile, argument, now: runner_commands.summary(profile),
    ),
    Command(
        "export",
        N_("Download all your data"),
        lambda state, profile, argument, now: runner_commands.export(profile),
    ),
    Command(
        "delete",
        N_("Erase all your data"),
        lambda state, profile, argument, now: delete.ask_delete(state, now=now),
    ),
    Command(
        "later",
        N_("Move the clock forward: /later 1d (or 3h, 2d, 1w)"),
        _terminal_only,
        where=Where.TERMINAL,
        needs_profile=False,
    ),
)
BY_NAME: dict[str, Command] = {command.name: command for command in COMMANDS}
# What Telegram's menu and /help list: every command but the terminal chat's own.
MENU: tuple[Command, ...] = tuple(c for c in COMMANDS if c.where is not Where.TERMINAL)
