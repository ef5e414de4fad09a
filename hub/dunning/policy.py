"""Dunning policies as data: ordered steps with day offsets from the failed charge.

A policy is a YAML file validated by the pydantic models below; a mistake is reported
with its place in the file, never half-applied::

    name: default
    version: 1
    quiet_hours: {start: "21:00", end: "08:00"}     # member's local time
    frequency_cap: {max_messages: 4, per_days: 7}   # legal notices are exempt
    on_authentication_required: {channel: email, template: confirm_payment, tone: polite}
    steps:
      - {day: 0, kind: send_message, channel: email, template: payment_failed, tone: polite}
      - {day: 1, kind: retry_charge, methods: default_then_others}
      - {day: 7, kind: suspend_access}
      - {day: 14, kind: escalate, task: collections}
      - {day: 21, kind: cancel_subscription, mark_uncollectible: true}

Step kinds: ``retry_charge`` (``methods``: ``default`` | ``default_then_others``),
``send_message`` (``channel`` email|sms, ``template``, ``tone`` polite|firm|final,
``legal_notice``), ``suspend_access``, ``escalate`` (``task`` call|collections, ``note``)
and ``cancel_subscription`` (``mark_uncollectible``). Steps run in file order; a step is
due ``day`` days after the failure, so steps must be listed in day order.  Put a retry
before the messages of the same day: messages wait for its result.

The policies that ship live in ``hub/dunning/policies/``::

    policy = builtin_policy("default")
    policy = load_policy_file("club/policies/strict.yaml")
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.dunning.kinds import Channel, RetryMethods, TaskKind, Tone

BUILTIN_POLICY_DIR = Path(__file__).resolve().parent / "policies"

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_NAME = re.compile(r"^[a-z0-9_\-]{1,40}$")


class PolicyError(ValueError):
    """A policy (or segmentation) file that cannot be used; ``problems`` lists each fault.

    :param source: where the text came from (a file name).
    :param problems: one line per fault, each starting with its place in the file.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source} is not a valid file:\n{lines}")


def _clock_time(value: Any) -> time:
    """Parse ``"HH:MM"``; refuse YAML's sexagesimal numbers (unquoted ``21:00`` = 1260)."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError(
            f"write a time as a quoted 'HH:MM' string such as '21:00' (got {value!r}; "
            "YAML reads unquoted 21:00 as a number)"
        )
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuietHours(_Strict):
    """No messages from ``start`` until ``end`` in the member's local time.

    When ``start`` is later than ``end`` the window wraps midnight (21:00-08:00).
    A message due inside the window waits until ``end``.
    """

    start: time = time(21, 0)
    end: time = time(8, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> time:
        return _clock_time(value)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours start and end must differ")
        return self


class FrequencyCap(_Strict):
    """At most ``max_messages`` messages per member in any ``per_days`` rolling days.

    Legally required notices are always sent, but they count toward the cap.
    """

    max_messages: int = Field(default=4, ge=1, le=100)
    per_days: int = Field(default=7, ge=1, le=90)


class _StepBase(_Strict):
    day: int = Field(ge=0, le=365, description="days after the failed charge")


class RetryStep(_StepBase):
    """Charge the invoice again, off-session."""

    kind: Literal["retry_charge"]
    methods: RetryMethods = RetryMethods.DEFAULT_THEN_OTHERS


def _known_template(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("templates")
    if known is not None and value not in known:
        raise ValueError(f"unknown template {value!r}; known: {', '.join(sorted(known))}")
    return value


class MessageStep(_StepBase):
    """Send a message; ``legal_notice`` messages ignore a marketing opt-out and the cap."""

    kind: Literal["send_message"]
    channel: Channel
    template: str = Field(min_length=1)
    tone: Tone
    legal_notice: bool = False

    @field_validator("template")
    @classmethod
    def _template(cls, value: str, info: ValidationInfo) -> str:
        return _known_template(value, info)


class SuspendStep(_StepBase):
    """Suspend the subscription and cut door access."""

    kind: Literal["suspend_access"]


class EscalateStep(_StepBase):
    """Open a staff task (a personal call or a collections case)."""

    kind: Literal["escalate"]
    task: TaskKind = TaskKind.COLLECTIONS
    note: str = ""


class CancelStep(_StepBase):
    """Cancel the subscription; ``mark_uncollectible`` writes the invoice off."""

    kind: Literal["cancel_subscription"]
    mark_uncollectible: bool = True


Step = Annotated[
    RetryStep | MessageStep | SuspendStep | EscalateStep | CancelStep,
    Field(discriminator="kind"),
]

STEP_KINDS = ("retry_charge", "send_message", "suspend_access", "escalate", "cancel_subscription")


class AuthMessage(_Strict):
    """The message sent (once per case) when a bank wants the member to confirm a charge."""

    channel: Channel = Channel.EMAIL
    template: str = "confirm_payment"
    tone: Tone = Tone.POLITE
    legal_notice: bool = False

    @field_validator("template")
    @classmethod
    def _template(cls, value: str, info: ValidationInfo) -> str:
        return _known_template(value, info)


class Policy(_Strict):
    """A whole dunning policy. Build one with :func:`load_policy_text` or the file loaders.

    :param name: short id (``a-z0-9_-``), matching the file name.
    :param version: bump it when editing; open cases keep the version they started with.
    :param steps: the ordered steps.
    """

    name: str
    version: int = Field(default=1, ge=1)
    description: str = ""
    quiet_hours: QuietHours = QuietHours()
    frequency_cap: FrequencyCap = FrequencyCap()
    on_authentication_required: AuthMessage | None = AuthMessage()
    steps: tuple[Step, ...]

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("name must be 1-40 characters of a-z 0-9 _ -")
        return value

    @model_validator(mode="after")
    def _steps_in_order(self) -> Policy:
        if not self.steps:
            raise ValueError("a policy needs at least one step")
        last_day = 0
        for index, step in enumerate(self.steps):
            if step.day < last_day:
                raise ValueError(
                    f"steps must be in day order: step {index} (day {step.day}) "
                    f"comes after a day-{last_day} step"
                )
            last_day = step.day
        for kind in ("suspend_access", "cancel_subscription"):
            count = sum(step.kind == kind for step in self.steps)
            if count > 1:
                raise ValueError(f"a policy has at most one {kind} step (found {count})")
        return self

    def due_at(self, step_index: int, failed_at: datetime) -> datetime:
        """When step *step_index* falls due for a charge that failed at *failed_at*."""
        return failed_at + timedelta(days=self.steps[step_index].day)

    def first_step_day(self, kind: str) -> int | None:
        """The day of the first step of *kind*, or ``None`` when there is none."""
        for step in self.steps:
            if step.kind == kind:
                return step.day
        return None


def _where(loc: Iterable[int | str]) -> str:
    text = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(previous, int) and part in STEP_KINDS:
            text += f" ({part})"
        else:
            text += f".{part}" if text else str(part)
        previous = part
    return text or "(top level)"


def validation_problems(err: ValidationError) -> list[str]:
    """One readable line per pydantic error: place in the file, message, offending value."""
    problems = []
    for item in err.errors():
        message = item["msg"].removeprefix("Value error, ")
        where = _where(item["loc"])
        if item["type"] not in {"missing", "model_type"} and "input" in item:
            shown = repr(item["input"])
            message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        problems.append(f"{where}: {message}")
    return problems


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """Parse YAML text that must hold a mapping, or raise :class:`PolicyError`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise PolicyError(source, [f"{where}: {getattr(err, 'problem', err)}"]) from err
    if not isinstance(data, dict):
        raise PolicyError(source, ["(top level): expected a mapping of settings"])
    return data


def load_policy_text(
    text: str, *, source: str = "<policy>", templates: Collection[str] | None = None
) -> Policy:
    """Validate YAML *text* into a :class:`Policy`.

    :param source: named in errors.
    :param templates: known template names; defaults to the templates that ship.
    :raises PolicyError: listing every problem found.
    """
    if templates is None:
        from hub.dunning.messages import TEMPLATE_NAMES

        templates = TEMPLATE_NAMES
    data = parse_yaml(text, source)
    try:
        return Policy.model_validate(data, context={"templates": frozenset(templates)})
    except ValidationError as err:
        raise PolicyError(source, validation_problems(err)) from err


def load_policy_file(path: str | Path, *, templates: Collection[str] | None = None) -> Policy:
    """Load a policy from a YAML file whose stem equals the policy's ``name``."""
    path = Path(path)
    policy = load_policy_text(path.read_text("utf-8"), source=path.name, templates=templates)
    if policy.name != path.stem:
        raise PolicyError(path.name, [f"name: {policy.name!r} must match the file name"])
    return policy


def load_policy_dir(
    folder: str | Path, *, templates: Collection[str] | None = None
) -> dict[str, Policy]:
    """Every ``*.yaml`` policy in *folder*, by name."""
    return {
        p.stem: load_policy_file(p, templates=templates)
        for p in sorted(Path(folder).glob("*.yaml"))
    }


def builtin_policies() -> dict[str, Policy]:
    """The policies that ship with Gatehouse (``default``, ``high_value``, ``low_risk``)."""
    return load_policy_dir(BUILTIN_POLICY_DIR)


def builtin_policy(name: str = "default") -> Policy:
    """One shipped policy by name."""
    path = BUILTIN_POLICY_DIR / f"{name}.yaml"
    if not path.exists():
        raise KeyError(f"no built-in policy {name!r}")
    return load_policy_file(path)
