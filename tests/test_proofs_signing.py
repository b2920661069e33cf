"""Signed predictions end to end: keys registered, rotated and revoked, forecasts signed by the real
ssh-keygen, and `verify` naming every signature that does not hold, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Run, head_of, sql, write
from proofs_tools import fingerprint, flip_question, make_key, ssh_agent, tamper_row

from predtrack.proofs.sshsig import KEY_ENV


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the developer's agent nor a key in the environment may sign in these tests."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Private key files of alice, bob and mallory (never registered), made by ssh-keygen."""
    folder = tmp_path / "keys"
    return {
        "alice": make_key(folder, "alice"),
        "bob": make_key(folder, "bob", "rsa"),
        "mallory": make_key(folder, "mallory"),
    }


def pub(private: Path) -> str:
    return str(private.with_suffix(".pub"))


def verify_json(run: Run, code: int, *args: str) -> dict:
    return json.loads(run("verify", "--json", *args, code=code).output)


def signature_problems(report: dict) -> list[str]:
    messages = [p["message"] for p in report["signatures"]["problems"]]
    assert messages == [p["message"] for p in report["problems"] if p["field"] == "signature"], (
        report
    )
    return messages


def ssh_sign(private: Path, message: bytes, namespace: str = "predtrack") -> str:
    """An SSHSIG over `message` made by ssh-keygen with `private`."""
    done = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-n", namespace, "-f", private],
        input=message, capture_output=True, check=True,
    )  # fmt: skip
    return done.stdout.decode()


def signed_store(run: Run, keys: dict[str, Path]) -> None:
    """alice signs a forecast on a new question, bob signs one on it, carol signs nothing."""
    run("key", "add", "alice", pub(keys["alice"]))
    run("key", "add", "bob", pub(keys["bob"]))
    flip_question(run, "--sign", **{KEY_ENV: str(keys["alice"])})
    run("predict", "-q", "flip", "12 to 18", "--sign", "--by", "bob", **{KEY_ENV: str(keys["bob"])})
    run("predict", "-q", "flip", "14 to 16", "--by", "carol")


def test_signed_predictions_verify_and_unsigned_are_counted(
    store_db: str, run: Run, keys: dict[str, Path]
) -> None:
    added = json.loads(run("key", "add", "alice", pub(keys["alice"]), "--json").output)
    assert added["added"][0]["fingerprint"] == fingerprint(Path(pub(keys["alice"])))
    run("key", "add", "bob", pub(keys["bob"]))
    made = json.loads(
        flip_question(run, "--sign", "--json", **{KEY_ENV: str(keys["alice"])}).output
    )
    assert made["predictions"][0]["signed_with"] == fingerprint(Path(pub(keys["alice"])))
    run("predict", "-q", "flip", "12 to 18", "--sign", "--by", "bob", **{KEY_ENV: str(keys["bob"])})
    run("predict", "-q", "flip", "14 to 16", "--by", "carol")
    stored = sql(store_db, "SELECT forecaster, signature, key_id FROM predictions ORDER BY id")
    assert [(f, s is not None, k) for f, s, k in stored] == [
        ("alice", True, 1),
        ("bob", True, 2),
        ("carol", False, None),
    ]
    assert stored[0][1].startswith("-----BEGIN SSH SIGNATURE-----")
    report = verify_json(run, 0)
    assert report["signatures"]["signed"] == {"alice": 1, "bob": 1}
    assert report["signatures"]["unsigned"] == 1
    assert report["signatures"]["problems"] == []
    assert report["signatures"]["keys"]["bob"] == [fingerprint(Path(pub(keys["bob"])))]
    text = run("verify").output
    assert "signatures: 2 of 3 predictions signed (alice 1, bob 1); 1 unsigned" in text
    listed = json.loads(run("key", "list", "--json").output)
    assert [(k["forecaster"], k["type"], k["status"]) for k in listed] == [
        ("alice", "ssh-ed25519", "active"),
        ("bob", "ssh-rsa", "active"),
    ]


def test_a_bulk_file_signs_only_the_signers_forecasts(
    store_db: str, run: Run, keys: dict[str, Path], tmp_path: Path
) -> None:
    run("key", "add", "alice", pub(keys["alice"]))
    bulk = write(
        tmp_path / "prereg.toml",
        """
[[question]]
experiment = "cheese-maze"
key = "tl25"
title = "Reaches the cheese at size 25"
forecasts = { alice = "30%", bob = "40%" }

[[question]]
experiment = "cheese-maze"
key = "tl30"
title = "Reaches the cheese at size 30"
forecasts = { alice = "20%" }
""",
    )
    result = run(
        "predict", "--file", str(bulk), "--sign", "--json", **{KEY_ENV: str(keys["alice"])}
    )
    made = json.loads(result.stdout)
    assert [(p["forecaster"], p["signed_with"] is not None) for p in made["predictions"]] == [
        ("alice", True),
        ("bob", False),
        ("alice", True),
    ]
    assert "Warning: not signed: 1 by bob (alice signs only alice's own forecasts)" in result.stderr
    report = verify_json(run, 0)
    assert report["signatures"]["signed"] == {"alice": 2}
    assert report["signatures"]["unsigned"] == 1


def test_an_edited_forecast_fails_naming_the_prediction(
    store_db: str, run: Run, keys: dict[str, Path]
) -> None:
    signed_store(run, keys)
    # The administrator edits alice's forecast in the table and in the ledger, and recomputes
    # every hash: the chain and the rows agree again, only the signature tells.
    tamper_row(store_db, "predictions", 1, forecast="11 to 19")
    report = verify_json(run, 1)
    assert [p["table"] for p in report["problems"]] == ["predictions"]
    assert signature_problems(report) == [
        "prediction #1 on cheese-maze/flip by alice: signature does not match the message "
        "(was it edited after signing?)"
    ]
    assert report["signatures"]["signed"] == {"bob": 1}


def test_a_swapped_forecaster_fails_naming_the_prediction(
    store_db: str, run: Run, keys: dict[str, Path]
) -> None:
    signed_store(run, keys)
    tamper_row(store_db, "predictions", 1, forecaster="bob")
    alice = fingerprint(Path(pub(keys["alice"])))
    assert signature_problems(verify_json(run, 1)) == [
        f"prediction #1 on cheese-maze/flip by bob: it is signed with alice's key {alice}, "
        "not a key of bob"
    ]
    # Pointing it at bob's key as well does not help: bob's key did not sign it.
    tamper_row(store_db, "predictions", 1, key_id=2)
    bob = fingerprint(Path(pub(keys["bob"])))
    assert signature_problems(verify_json(run, 1)) == [
        f"prediction #1 on cheese-maze/flip by bob: signature is by key {alice}, not {bob}"
    ]


def test_a_signature_by_another_key_or_for_another_namespace_fails(
    store_db: str, run: Run, keys: dict[str, Path], tmp_path: Path
) -> None:
    signed_store(run, keys)
    # mallory signs exactly the message alice signed, and swaps her signature in.
    from predtrack.proofs.signing import prediction_message
    from predtrack.store.engine import Store
    from predtrack.store.queries import find_question, predictions_by_id

    store = Store(store_db)
    with store.read() as session:
        question = find_question("flip", session=session)
        row = predictions_by_id([1], session=session)[1]
    store.dispose()
    message = prediction_message(
        question, "cheese-maze/flip", forecaster="alice", forecast=row.forecast,
        distribution=row.distribution, note=row.note, time=row.made_at,
    )  # fmt: skip
    tamper_row(store_db, "predictions", 1, signature=ssh_sign(keys["mallory"], message))
    mallory = fingerprint(Path(pub(keys["mallory"])))
    alice = fingerprint(Path(pub(keys["alice"])))
    assert signature_problems(verify_json(run, 1)) == [
        f"prediction #1 on cheese-maze/flip by alice: signature is by key {mallory}, not {alice}"
    ]
    # alice's own key, but a signature made for another purpose (namespace) does not count.
    tamper_row(store_db, "predictions", 1, signature=ssh_sign(keys["alice"], message, "file"))
    assert signature_problems(verify_json(run, 1)) == [
        "prediction #1 on cheese-maze/flip by alice: signature is for namespace 'file', "
        "not 'predtrack'"
    ]
    tamper_row(store_db, "predictions", 1, signature=ssh_sign(keys["alice"], message))
    assert verify_json(run, 0)["signatures"]["signed"] == {"alice": 1, "bob": 1}


def test_rotation_keeps_old_signatures_and_revocation_ends_a_key(
    store_db: str, run: Run, keys: dict[str, Path], tmp_path: Path
) -> None:
    signed_store(run, keys)
    new = make_key(tmp_path / "keys", "alice-2027")
    run("key", "rotate", "alice", pub(new))
    # The old key signs nothing new; the new one does; the old signature still holds.
    refused = run(
        "predict", "-q", "flip", "11 to 19", "--sign", code=2, **{KEY_ENV: str(keys["alice"])}
    )
    assert "which is not an active key of alice" in refused.output
    run("predict", "-q", "flip", "11 to 19", "--sign", **{KEY_ENV: str(new)})
    report = verify_json(run, 0)
    assert report["signatures"]["signed"] == {"alice": 2, "bob": 1}
    statuses = [
        (k["forecaster"], k["status"]) for k in json.loads(run("key", "list", "--json").output)
    ]
    assert statuses == [("alice", "rotated"), ("bob", "active"), ("alice", "active")]

    before = head_of(run)
    run("key", "revoke", "bob")
    refused = run("predict", "-q", "flip", "13 to 17", "--sign", "--by", "bob", code=2,
                  **{KEY_ENV: str(keys["bob"])})  # fmt: skip
    assert "bob has no registered key to sign with" in refused.output
    assert head_of(run) != before  # the revocation itself is a ledger entry
    # Whoever holds bob's revoked key forges a prediction signed with it after the revocation.
    forge_signed_prediction(store_db, keys["bob"], forecaster="bob", key_id=2)
    problems = signature_problems(verify_json(run, 1))
    assert len(problems) == 1
    assert problems[0].startswith(
        "prediction #5 on cheese-maze/flip by bob: it is signed with key "
    )
    assert "after that key stopped signing" in problems[0]


def forge_signed_prediction(url: str, private: Path, *, forecaster: str, key_id: int) -> None:
    """Record a prediction signed with `private` through predtrack's own write path."""
    from predtrack.proofs.signing import ToSign, prediction_message
    from predtrack.store.engine import Store
    from predtrack.store.ledger import next_id, record
    from predtrack.store.queries import find_question
    from predtrack.store.types import iso_z

    store = Store(url)

    def work(session):  # type: ignore[no-untyped-def]
        question = find_question("flip", session=session)
        values = {
            "id": next_id(session, "predictions"), "question_id": question.id,
            "forecaster": forecaster, "made_at": iso_z(session.now), "forecast": "13 to 17",
            "distribution": {"family": "normal", "mu": 15.0, "sigma": 1.2}, "note": None,
            "late": False, "late_reason": None, "key_id": key_id,
        }  # fmt: skip
        message = ToSign(values, question, "cheese-maze/flip").message()
        assert message == prediction_message(
            question, "cheese-maze/flip", forecaster=forecaster, forecast="13 to 17",
            distribution=values["distribution"], note=None, time=values["made_at"],
        )  # fmt: skip
        values["signature"] = ssh_sign(private, message)
        record(session, "register", by=forecaster, inserts=[("predictions", values)])

    store.write(work)
    store.dispose()


def test_signing_through_ssh_agent(store_db: str, run: Run, keys: dict[str, Path]) -> None:
    run("key", "add", "alice", pub(keys["alice"]))
    with ssh_agent(keys["alice"]) as sock:
        run("predict", "Reaches cheese", "30%", "--key", "tl25", "--sign", SSH_AUTH_SOCK=sock)
    with ssh_agent(keys["mallory"]) as sock:
        refused = run("predict", "-q", "tl25", "35%", "--sign", code=2, SSH_AUTH_SOCK=sock)
    assert "ssh-keygen could not sign with ssh-agent" in refused.output
    assert verify_json(run, 0)["signatures"]["signed"] == {"alice": 1}


def test_score_signed_only_counts_verified_signatures(
    store_db: str, run: Run, keys: dict[str, Path]
) -> None:
    signed_store(run, keys)
    run("resolve", "flip", "--value", "15")

    def scored(*options: str) -> list[str]:
        document = json.loads(run("score", "--json", "--by", "forecaster", *options).output)
        return sorted(g["group"] for g in document["groups"] if g["group"] != "team")

    assert scored() == ["alice", "bob", "carol"]
    assert scored("--signed-only") == ["alice", "bob"]
    # A signature that no longer holds is not "signed".
    tamper_row(store_db, "predictions", 1, forecast="11 to 19")
    assert scored("--signed-only") == ["bob"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not-a-key", "is not `TYPE BASE64 [COMMENT]`"),
        ("ssh-ed25519 AAAA!!!", "key data that is not valid base64"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "is a private key"),
        ("", "holds no public key"),
    ],
    ids=["garbage", "bad-base64", "private-key", "empty"],
)
def test_a_malformed_key_file_is_refused_and_nothing_written(
    store_db: str, run: Run, tmp_path: Path, content: str, message: str
) -> None:
    run("predict", "Reaches cheese", "30%", "--key", "tl25")
    before = head_of(run)
    bad = write(tmp_path / "bad.pub", content)
    result = run("key", "add", "alice", str(bad), code=2)
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = run("key", "add", "alice", "--github-keys", str(bad), code=2)
    assert message in result.output
    assert head_of(run) == before
    assert sql(store_db, "SELECT COUNT(*) FROM keys")[0][0] == 0


def test_github_keys_register_every_key_once(
    store_db: str, run: Run, keys: dict[str, Path], tmp_path: Path
) -> None:
    both = Path(pub(keys["alice"])).read_text() + Path(pub(keys["bob"])).read_text()
    listing = write(tmp_path / "alice.keys", both)
    refused = run("key", "add", "alice", str(listing), code=2)
    assert "holds 2 keys" in refused.output
    added = json.loads(run("key", "add", "alice", "--github-keys", str(listing), "--json").output)
    assert len(added["added"]) == 2
    again = json.loads(run("key", "add", "alice", "--github-keys", str(listing), "--json").output)
    assert again["added"] == [] and len(again["already_registered"]) == 2
    taken = run("key", "add", "bob", pub(keys["bob"]), code=2)
    assert "is registered for alice: one key signs for one forecaster" in taken.output


def test_predict_without_sign_loads_no_proof_code_and_sign_no_crypto(
    run: Run, keys: dict[str, Path], tmp_path: Path
) -> None:
    run("init")  # start-up imports do not depend on the backend: SQLite only
    run("key", "add", "alice", pub(keys["alice"]))
    run("predict", "Reaches cheese", "30%", "--key", "tl25")
    plain = loaded_modules(["predict", "-q", "tl25", "35%"], tmp_path, {})
    signed = loaded_modules(
        ["predict", "-q", "tl25", "36%", "--sign"], tmp_path, {KEY_ENV: str(keys["alice"])}
    )
    assert not {
        m for m in plain if m.startswith("predtrack.proofs.") and m != "predtrack.proofs.commands"
    }
    assert "predtrack.proofs.signing" in signed
    heavy = {"cryptography", "sshsig", "rfc3161_client", "numpy", "scipy"}
    assert not {m.split(".")[0] for m in plain | signed} & heavy
    assert verify_json(run, 0)["signatures"]["signed"] == {"alice": 1}


def loaded_modules(args: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    """The modules a fresh interpreter has loaded after running the command line with `args`."""
    code = (
        "import sys, json\n"
        "from predtrack.cli import cli\n"
        "try:\n"
        f"    cli.main({args!r}, prog_name='predtrack')\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env={**os.environ, **env}, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return set(json.loads(done.stderr.rsplit("MODULES ", 1)[1]))
