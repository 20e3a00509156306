"""The shipped cost of web password hashes. The suite hashes at argon2's cheapest cost in its own process
(tests/conftest.py, ``cheap_password_hashes``); this pins what the product itself uses."""

from __future__ import annotations

import argon2
from argon2 import profiles

from gateway.services import web_auth
from tests.conftest import SHIPPED_DUMMY_HASH, SHIPPED_PASSWORD_HASHER


def test_passwords_are_argon2id_at_rfc_9106s_low_memory_cost() -> None:
    hashed = SHIPPED_PASSWORD_HASHER.hash("correct horse battery")
    assert argon2.extract_parameters(hashed) == profiles.RFC_9106_LOW_MEMORY
    assert SHIPPED_PASSWORD_HASHER.verify(hashed, "correct horse battery")


def test_an_unknown_address_is_checked_against_a_hash_of_the_same_cost() -> None:
    assert argon2.extract_parameters(SHIPPED_DUMMY_HASH) == profiles.RFC_9106_LOW_MEMORY


def test_the_suite_hashes_cheaply_in_process() -> None:
    assert argon2.extract_parameters(web_auth._HASHER.hash("x" * 10)) == profiles.CHEAPEST
