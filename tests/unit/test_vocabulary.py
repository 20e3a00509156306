"""The CRM's vocabulary is defined once (gateway.crm.kinds): what other modules still spell as strings
must be one of its members, and a member is stored and printed as the very string it replaced."""

from __future__ import annotations

import json

from gateway.crm.kinds import NOUNS, Direction, Kind, LinkRule
from gateway.routing import links
from gateway.store.models import DEALISH_MODELS, RECORD_MODELS


def test_every_rule_filing_writes_is_a_link_rule() -> None:
    rules = [value for name, value in vars(links).items() if name.startswith("RULE_") and isinstance(value, str)]
    rules += list(links.RULE_ONLY_OPEN.values())
    assert rules and {LinkRule(rule) for rule in rules} <= set(LinkRule)


def test_directions_are_the_enum() -> None:
    assert {links.OUTGOING, links.INCOMING} == set(Direction)


def test_every_kind_has_a_noun_and_a_model() -> None:
    assert set(NOUNS) == set(RECORD_MODELS) == set(Kind)
    assert all(RECORD_MODELS[kind] is model for kind, model in DEALISH_MODELS.items())


def test_a_member_is_its_string() -> None:
    assert Kind.ORG == "org" and RECORD_MODELS["org"] is RECORD_MODELS[Kind.ORG]
    assert json.dumps({Kind.DEAL: [LinkRule.MANUAL, Direction.INCOMING]}) == '{"deal": ["manual", "incoming"]}'
    assert f"{Kind.PERSON}-{LinkRule.THREAD}" == "person-thread"
