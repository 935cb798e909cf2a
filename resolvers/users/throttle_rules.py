"""What the auth throttles decide, the same in both stores that keep their counts.

Counts live in Redis (`throttle_redis`, shared by every process) or, while Redis cannot be
reached, in this process's memory (`throttle_local`). Both follow these rules:

- An attempt is admitted and counted in one step, before any password is checked, so
  concurrent attempts cannot all slip under a limit; refused attempts are not counted. A count
  expires `window` seconds after the latest attempt it counted.
- Sign-in counts failures per (account, address), per account and per address. The pair is
  refused at the account limit. An address the account has signed in from before ("known")
  is refused only by its own pair, so nobody elsewhere can lock the owner out and one noisy
  address behind a NAT does not shut out colleagues who signed in from it before; any other
  address is refused when the account or the address is at its limit.
- A successful sign-in takes back its own provisional count, clears the pair and remembers the
  address. It does not reset the account's count: the attacker would get fresh attempts every
  time the owner signs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# How long an address stays known after the account's latest sign-in from it, and how many
# addresses an account keeps (the least recently used are forgotten first).
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600
KNOWN_ADDRESSES_PER_ACCOUNT = 50


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an attempt may go ahead; if not, how long until the blocking count expires."""

    allowed: bool
    retry_after: float = 0.0


ALLOWED = Decision(True)


@dataclass(frozen=True, slots=True)
class SignInKeys:
    """The counters one sign-in attempt touches, and the address as the known set holds it."""

    pair: str
    account: str
    address: str
    known: str
    address_member: str


@dataclass(frozen=True, slots=True)
class SignInLimits:
    per_account: int
    per_address: int
    window_seconds: int


class Counters(Protocol):
    """A store of attempt counts applying the rules above, each call one atomic step."""

    async def admit(self, key: str, limit: int, window_seconds: int) -> Decision:
        """Count one attempt unless `key` is at `limit`."""
        ...

    async def refund(self, key: str) -> None:
        """Take back one counted attempt (it turned out to be legitimate)."""
        ...

    async def admit_sign_in(self, keys: SignInKeys, limits: SignInLimits) -> Decision:
        """Count one sign-in attempt on all three counters unless the rules refuse it."""
        ...

    async def signed_in(self, keys: SignInKeys) -> None:
        """The admitted attempt succeeded: refund it, clear the pair, remember the address."""
        ...
