"""Segmentation: which dunning policy a member gets, decided by rules kept as data.

Rules look at the member's lifetime value, tenure, failed charges in the last twelve
months and plan; the first rule whose conditions all hold names the segment and its
policy (high value: a personal call on day 1; low risk: fully automated)::

    rules = builtin_segmentation()
    profile = MemberProfile(member_id="m-7", lifetime_value_minor=6_200_000,
                            currency="THB", joined_at=joined, plan="monthly",
                            failures=(failed_at,))
    choice = rules.choose(profile, now=clock.now())
    choice.segment, choice.policy     # ('high_value', 'high_value')

The file format is in ``hub/dunning/segments.yaml``, the rules that ship.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.dunning.case import check_aware
from hub.dunning.policy import PolicyError, builtin_policies, parse_yaml, validation_problems

BUILTIN_SEGMENTS = Path(__file__).resolve().parent / "segments.yaml"

#: The window "failures in the last 12 months" counts over.
FAILURE_WINDOW = timedelta(days=365)

_NAME = r"^[a-z0-9_\-]{1,40}$"


@dataclass(frozen=True)
class MemberProfile:
    """What segmentation knows about a member.

    :param member_id: the member.
    :param lifetime_value_minor: everything they have paid, minor units.
    :param currency: the currency of that value.
    :param joined_at: when their membership began (aware).
    :param plan: their plan's code.
    :param failures: times of their failed charges (any age; only the last 12 months count).
    """

    member_id: str
    lifetime_value_minor: int
    currency: str
    joined_at: datetime
    plan: str
    failures: tuple[datetime, ...] = ()

    def tenure_days(self, now: datetime) -> int:
        """Whole days since joining (0 on the first day)."""
        return max(0, (now - self.joined_at).days)

    def failures_last_12_months(self, now: datetime) -> int:
        """Failed charges in the 365 days up to *now*."""
        return sum(now - FAILURE_WINDOW < t <= now for t in self.failures)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Strict):
    """All given conditions must hold; an empty set always holds."""

    lifetime_value_at_least: int | None = Field(default=None, ge=0)
    lifetime_value_at_most: int | None = Field(default=None, ge=0)
    tenure_days_at_least: int | None = Field(default=None, ge=0)
    tenure_days_at_most: int | None = Field(default=None, ge=0)
    failures_12m_at_least: int | None = Field(default=None, ge=0)
    failures_12m_at_most: int | None = Field(default=None, ge=0)
    plans: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Conditions:
        for name in ("lifetime_value", "tenure_days", "failures_12m"):
            low, high = getattr(self, f"{name}_at_least"), getattr(self, f"{name}_at_most")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name}_at_least ({low}) is above {name}_at_most ({high})")
        return self

    def hold_for(self, profile: MemberProfile, now: datetime) -> bool:
        """True when *profile* meets every condition at *now*."""
        facts = {
            "lifetime_value": profile.lifetime_value_minor,
            "tenure_days": profile.tenure_days(now),
            "failures_12m": profile.failures_last_12_months(now),
        }
        for name, value in facts.items():
            low, high = getattr(self, f"{name}_at_least"), getattr(self, f"{name}_at_most")
            if (low is not None and value < low) or (high is not None and value > high):
                return False
        return self.plans is None or profile.plan in self.plans


class Choice(_Strict):
    """A segment and the name of the policy its members get."""

    segment: str = Field(pattern=_NAME)
    policy: str = Field(pattern=_NAME)


class Rule(Choice):
    """A :class:`Choice` that applies ``when`` its conditions hold."""

    when: Conditions = Conditions()


class Segmentation(_Strict):
    """Ordered rules and the fallback choice.

    :param currency: the currency lifetime values are compared in.
    """

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    rules: tuple[Rule, ...] = ()
    default: Choice

    def choose(self, profile: MemberProfile, now: datetime) -> Choice:
        """The first matching rule's choice, else the default.

        :raises ValueError: when the profile's currency is not the rules' currency.
        """
        check_aware("now", now)
        if profile.currency != self.currency:
            raise ValueError(
                f"lifetime value is in {profile.currency} but the rules compare {self.currency}"
            )
        for rule in self.rules:
            if rule.when.hold_for(profile, now):
                return Choice(segment=rule.segment, policy=rule.policy)
        return self.default

    def policy_names(self) -> set[str]:
        """Every policy the rules can choose."""
        return {r.policy for r in self.rules} | {self.default.policy}


def load_segmentation_text(
    text: str, *, source: str = "<segments>", policies: Collection[str] | None = None
) -> Segmentation:
    """Validate YAML *text* into a :class:`Segmentation`.

    :param policies: policy names that exist; a rule naming another is an error.
    :raises PolicyError: listing every problem.
    """
    data = parse_yaml(text, source)
    try:
        segmentation = Segmentation.model_validate(data)
    except ValidationError as err:
        raise PolicyError(source, validation_problems(err)) from err
    if policies is not None:
        unknown = sorted(segmentation.policy_names() - set(policies))
        if unknown:
            known = ", ".join(sorted(policies))
            raise PolicyError(source, [f"policy: unknown {unknown} (known: {known})"])
    return segmentation


def load_segmentation_file(
    path: str | Path, *, policies: Collection[str] | None = None
) -> Segmentation:
    """Load segmentation rules from a YAML file."""
    path = Path(path)
    return load_segmentation_text(path.read_text("utf-8"), source=path.name, policies=policies)


def builtin_segmentation() -> Segmentation:
    """The rules that ship, checked against the policies that ship."""
    return load_segmentation_file(BUILTIN_SEGMENTS, policies=builtin_policies().keys())
