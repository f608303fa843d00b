import asyncio
import base64
import threading

from numlookup.service.auth import Authenticator
from numlookup.service.passwords import hash_password, verify_password
from numlookup.store.base import Account


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


class CountingVerifier:
    """Plain-text 'hashes', counting how often a hash is checked."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, encoded: str, password: str) -> bool:
        with self.lock:
            self.calls += 1
        return encoded == password


def run(auth: Authenticator, value: bytes | None, userinfo: bytes | None = None) -> Account | None:
    async def go() -> Account | None:
        answer = auth.authenticate(value, userinfo)
        if answer is None or isinstance(answer, Account):
            return answer
        return await answer

    return asyncio.run(go())


ALICE = Account("alice", "pw")


def test_argon2_hash_round_trip() -> None:
    encoded = hash_password("s3cret")
    assert encoded.startswith("$argon2id$")
    assert "s3cret" not in encoded
    assert verify_password(encoded, "s3cret")
    assert not verify_password(encoded, "wrong")
    assert not verify_password("not a hash", "s3cret")


def test_verified_credentials_are_remembered() -> None:
    verify = CountingVerifier()
    auth = Authenticator([ALICE], verify=verify)
    assert run(auth, basic("alice", "pw")) == ALICE
    assert auth.authenticate(basic("alice", "pw"), None) == ALICE  # at once, no hashing
    assert verify.calls == 1


def test_wrong_password_unknown_user_and_broken_headers() -> None:
    verify = CountingVerifier()
    auth = Authenticator([ALICE, Account("off", "pw", enabled=False)], verify=verify)
    assert run(auth, basic("alice", "nope")) is None
    assert run(auth, basic("alice", "nope")) is None  # refused again without hashing
    assert verify.calls == 1
    for value in (basic("bob", "pw"), basic("off", "pw"), b"Basic ###", b"Digest x", None):
        assert run(auth, value) is None
    assert verify.calls == 1


def test_user_info_is_used_without_a_header() -> None:
    auth = Authenticator([Account("us:er", "p@ss")], verify=CountingVerifier())
    assert run(auth, None, b"us%3Aer:p%40ss") is not None
    assert run(auth, None, b"nobody") is None


def test_concurrent_first_requests_hash_once() -> None:
    verify = CountingVerifier()
    auth = Authenticator([ALICE], verify=verify)

    async def go() -> list[Account | None]:
        answers = [auth.authenticate(basic("alice", "pw"), None) for _ in range(20)]
        return [a if isinstance(a, Account) or a is None else await a for a in answers]

    assert asyncio.run(go()) == [ALICE] * 20
    assert verify.calls == 1


def test_account_changes_end_remembered_credentials() -> None:
    verify = CountingVerifier()
    auth = Authenticator([ALICE, Account("bob", "b")], verify=verify)
    assert run(auth, basic("alice", "pw")) == ALICE
    assert run(auth, basic("bob", "b")) is not None
    auth.replace_accounts([Account("alice", "new"), Account("bob", "b", max_ongoing=5)])
    assert run(auth, basic("alice", "pw")) is None
    # Bob's password did not change: still remembered, with his new limits.
    bob = auth.authenticate(basic("bob", "b"), None)
    assert isinstance(bob, Account) and bob.max_ongoing == 5
    auth.replace_accounts([Account("alice", "new"), Account("bob", "b", enabled=False)])
    assert auth.authenticate(basic("bob", "b"), None) is None
