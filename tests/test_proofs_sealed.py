"""Sealed forecasts: salted commitments, openings checked against them, the private openings file."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from predtrack.errors import InputError
from predtrack.proofs import ProofError
from predtrack.proofs.sealed import (
    OPENINGS_ENV,
    Opening,
    append_opening,
    check_opening,
    openings_path,
    read_openings,
    seal,
    sealed_payload,
    store_id,
)

STORE = "9b1d" * 16
OTHER_STORE = "07aa" * 16
WHEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DIST = {"family": "normal", "mu": 15.0, "sigma": 1.8}


def _payload(forecast: str = "12 to 18", forecaster: str = "bob") -> str:
    return sealed_payload(
        question=12,
        forecaster=forecaster,
        kind="quantity",
        forecast=forecast,
        distribution=DIST,
        time=WHEN,
    )


def test_payload_is_canonical_json_of_the_bound_fields() -> None:
    assert _payload() == (
        '{"distribution":{"family":"normal","mu":15.0,"sigma":1.8},'
        '"forecast":"12 to 18","forecaster":"bob","kind":"quantity","note":null,"question":12,'
        '"time":"2026-11-25T12:00:00.000000Z"}'
    )
    assert '"forecaster":"Zoë"' in _payload(forecaster="Zoë")


def test_commitment_opens_with_its_salt_and_payload_only() -> None:
    opening = seal(_payload())
    salt = bytes.fromhex(opening.salt)
    assert len(salt) == 32
    assert opening.commitment == hashlib.sha256(salt + _payload().encode("utf-8")).hexdigest()
    fields = check_opening(
        opening.commitment, opening, expect={"question": 12, "forecaster": "bob"}
    )
    assert fields["forecast"] == "12 to 18"
    assert seal(_payload()).commitment != opening.commitment  # a fresh salt each time

    other_salt = Opening(opening.commitment, seal(_payload()).salt, opening.payload)
    edited = Opening(opening.commitment, opening.salt, _payload("12 to 19"))
    for wrong in (other_salt, edited):
        with pytest.raises(
            ProofError, match=f"does not match commitment {opening.commitment[:16]}"
        ):
            check_opening(opening.commitment, wrong)
    with pytest.raises(ProofError, match="is for forecaster 'bob', not 'alice'"):
        check_opening(opening.commitment, opening, expect={"forecaster": "alice"})
    with pytest.raises(ProofError, match="not 32 bytes of hex"):
        check_opening(opening.commitment, Opening(opening.commitment, "ab" * 16, opening.payload))
    unbound = seal('{"forecast":"12 to 18"}')
    with pytest.raises(
        ProofError, match="does not hold distribution, forecast, forecaster, kind, note"
    ):
        check_opening(unbound.commitment, unbound)


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_any_forecast_and_name_round_trip(forecast: str, forecaster: str) -> None:
    opening = seal(_payload(forecast, forecaster))
    fields = check_opening(opening.commitment, opening, expect={"forecaster": forecaster})
    assert fields["forecast"] == forecast


@pytest.fixture
def openings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(OPENINGS_ENV, str(tmp_path / "openings"))
    return tmp_path / "openings"


def test_openings_file_is_private_and_read_back_in_order(openings_dir: Path) -> None:
    path = openings_path(STORE, "bob")
    assert path == openings_dir / STORE / "bob.jsonl"
    first, second = seal(_payload()), seal(_payload("15"))
    append_opening(path, STORE, "bob", first)
    append_opening(path, STORE, "bob", second)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_openings(path, STORE, "bob") == [first, second]
    header = json.loads(path.read_text().splitlines()[0])
    assert header == {"forecaster": "bob", "predtrack_openings": 1, "store": STORE}
    os.chmod(path, 0o644)
    append_opening(path, STORE, "bob", seal(_payload("16")))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_openings_file_of_another_store_or_forecaster_is_refused(openings_dir: Path) -> None:
    path = openings_path(STORE, "bob")
    append_opening(path, STORE, "bob", seal(_payload()))
    with pytest.raises(InputError, match=f"is for store {STORE[:16]}…, not this store"):
        read_openings(path, OTHER_STORE)
    with pytest.raises(InputError, match="is for store"):
        append_opening(path, OTHER_STORE, "bob", seal(_payload()))
    with pytest.raises(InputError, match="is 'bob''s, not 'alice''s"):
        read_openings(path, STORE, "alice")
    assert len(read_openings(path, STORE)) == 1


def test_damaged_openings_files_are_named(openings_dir: Path) -> None:
    path = openings_path(STORE, "bob")
    append_opening(path, STORE, "bob", seal(_payload()))
    with path.open("a") as handle:
        handle.write('{"commitment": "ab", "sa')
    with pytest.raises(InputError, match="line 3 is not an opening"):
        read_openings(path, STORE)
    stranger = openings_dir / "notes.jsonl"
    stranger.write_text('{"hello": 1}\n')
    with pytest.raises(InputError, match="is not a predtrack openings file"):
        read_openings(stranger, STORE)
    with pytest.raises(InputError, match="cannot read openings file"):
        read_openings(openings_dir / "missing.jsonl", STORE)


def test_store_id_is_sha256_of_the_first_entry_hash() -> None:
    first = "1794b44d84671d16aac5fc11175f14625688558bf7624865d788159d0fd94467"
    assert store_id(first) == "adbbe3c15f84e0f00f584183eb6e41a0880a92bda840affd6f3bbf91585838b7"
    with pytest.raises(InputError, match="first ledger entry hash"):
        store_id("0:abc")


def test_default_location_and_unsafe_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OPENINGS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    base = tmp_path / "data" / "predtrack" / "openings" / STORE
    assert openings_path(STORE, "Alice Smith") == base / "Alice%20Smith.jsonl"
    assert openings_path(STORE, "../../etc/passwd").parent == base
    assert openings_path(STORE, "..").name == "%2E..jsonl"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "predtrack" / "openings" / STORE
    assert openings_path(STORE, "bob") == expected / "bob.jsonl"
    with pytest.raises(InputError, match="store id"):
        openings_path("../elsewhere", "bob")


def test_concurrent_appends_keep_every_opening(openings_dir: Path) -> None:
    path = openings_path(STORE, "bob")
    openings = [seal(_payload(str(n))) for n in range(120)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda o: append_opening(path, STORE, "bob", o), openings))
    read = read_openings(path, STORE, "bob")
    assert sorted(o.commitment for o in read) == sorted(o.commitment for o in openings)
    assert path.read_text().count('"predtrack_openings"') == 1
