"""Every error kisfeed raises, in one tree split by who is at fault.

::

    KisfeedError
    ├── UsageError                  our caller's misuse; fix the call, a retry cannot help
    │   ├── ConfigError             bad or missing setting (credentials, URL, policy name)
    │   ├── UnknownTRError          a TR id kisfeed has no layout for
    │   └── SubscriptionLimitError  a registration past the per-session limit (41), refused locally
    ├── ServerError                 the KIS server said no (a control reply with rt_cd != "0")
    │   ├── NotSubscribedError      OPSP0003 unsubscribe of something not registered
    │   ├── MaxSubscriptionsError   OPSP0008 past the server's registration limit
    │   ├── InvalidApprovalError    OPSP0010/0011/9994/9996 approval/app key not accepted  (retry: re-issue key)
    │   ├── AppKeyInUseError        OPSP8996 another session holds this app key            (retry: much later)
    │   ├── InvalidRequestError     OPSP8991/8992 unknown tr_id/tr_key, OPSP899x/999x malformed request
    │   ├── ServerInternalError     OPSP0007/0009/8999/9993/9995 server-side failure        (retry: later)
    │   ├── UnknownServerError      a msg_cd not in the reference table, kept verbatim
    │   └── AuthError               /oauth2/Approval refused to issue an approval key
    ├── ParseError                  malformed input from the wire; carries tr_id, field index, raw text
    │   ├── FrameError              a data frame whose envelope is wrong (header, count, width, cipher)
    │   ├── FieldError              one field whose text does not fit its kind
    │   ├── BookOrderError          a book whose prices are out of order (read in another field order)
    │   └── ControlMessageError     a JSON control message that is not JSON or not shaped like one
    ├── FeedError                   the live feed itself (connection lost for good, queue overflow)
    │   └── CallbackError           an on_frame/on_event callback raised; the original is __cause__
    └── StoreError                  the local data directory: unwritable, disk full, in use by another process
        └── DataDirectoryInUseError another recorder (pid on .pid) is recording to the same directory

``retryable`` on every error says whether the same request can succeed later without a change
on the caller's side. Server errors are chosen by ``msg_cd`` only, never by message text
(reference section 2.2). Nothing here ever carries an app key, app secret or approval key.
"""

from __future__ import annotations

__all__ = [
    "KisfeedError",
    "UsageError",
    "ConfigError",
    "UnknownTRError",
    "SubscriptionLimitError",
    "ServerError",
    "NotSubscribedError",
    "MaxSubscriptionsError",
    "InvalidApprovalError",
    "AppKeyInUseError",
    "InvalidRequestError",
    "ServerInternalError",
    "UnknownServerError",
    "AuthError",
    "ParseError",
    "FrameError",
    "FieldError",
    "BookOrderError",
    "ControlMessageError",
    "MalformedMessageError",
    "FeedError",
    "CallbackError",
    "StoreError",
    "DataDirectoryInUseError",
    "FleetError",
]

_RAW_SHOWN = 200  # characters of offending text kept in messages; the full text stays on .raw


class KisfeedError(Exception):
    """Base of every kisfeed error."""

    retryable: bool = False


# --- our caller's misuse -------------------------------------------------------------------------


class UsageError(KisfeedError):
    """The caller asked for something kisfeed will not do; changing the call is the fix."""


class ConfigError(UsageError):
    """A setting is missing or invalid."""


class UnknownTRError(UsageError):
    def __init__(self, tr_id: str) -> None:
        self.tr_id = tr_id
        super().__init__(f"unknown TR id {tr_id!r}: kisfeed has no layout for it (kisfeed.schema.LAYOUTS)")


class SubscriptionLimitError(UsageError):
    """Refused locally before sending: the server would answer OPSP0008 (reference 3.1)."""

    def __init__(self, tr_id: str, tr_key: str, limit: int) -> None:
        self.tr_id, self.tr_key, self.limit = tr_id, tr_key, limit
        super().__init__(
            f"cannot register {tr_id} {tr_key}: this session already holds {limit} registrations, "
            f"the most one KIS session (one app key) accepts; unsubscribe something or add an app key"
        )


# --- the server said no --------------------------------------------------------------------------


class ServerError(KisfeedError):
    """A control reply whose rt_cd is not "0"; ``msg_cd`` decides the subclass."""

    def __init__(
        self,
        msg_cd: str,
        msg1: str = "",
        *,
        rt_cd: str = "",
        tr_id: str | None = None,
        tr_key: str | None = None,
    ) -> None:
        self.msg_cd, self.msg1, self.rt_cd = msg_cd, msg1, rt_cd
        self.tr_id, self.tr_key = tr_id, tr_key
        where = f" for {tr_id} {tr_key}" if tr_id else ""
        super().__init__(f"{msg_cd} {msg1!r}{where} (rt_cd {rt_cd!r})")


class NotSubscribedError(ServerError):
    """OPSP0003: unsubscribe of a registration the server does not hold."""


class MaxSubscriptionsError(ServerError):
    """OPSP0008: the server's registration limit for this session is reached."""


class InvalidApprovalError(ServerError):
    """The approval key (or app key) was not accepted; a fresh approval key may help."""

    retryable = True


class AppKeyInUseError(ServerError):
    """OPSP8996: another session already holds this app key (reference 3.2)."""

    retryable = True


class InvalidRequestError(ServerError):
    """Unknown tr_id/tr_key or a request the server could not parse."""


class ServerInternalError(ServerError):
    """A failure on the server's side."""

    retryable = True


class UnknownServerError(ServerError):
    """A msg_cd the reference does not list; kept verbatim."""


class AuthError(ServerError):
    """The approval endpoint refused to issue a key (wrong app key/secret, or an HTTP error)."""


# --- malformed input -----------------------------------------------------------------------------


class ParseError(KisfeedError):
    """Text from the wire that does not decode. ``raw`` holds the offending text in full."""

    def __init__(
        self,
        reason: str,
        *,
        raw: str = "",
        tr_id: str | None = None,
        field_index: int | None = None,
        record_index: int | None = None,
    ) -> None:
        self.reason, self.raw = reason, raw
        self.tr_id, self.field_index, self.record_index = tr_id, field_index, record_index
        super().__init__(reason)

    def __str__(self) -> str:  # built on demand: the frame decoder adds record_index later
        where = []
        if self.tr_id:
            where.append(self.tr_id)
        if self.record_index is not None:
            where.append(f"record {self.record_index}")
        if self.field_index is not None:
            where.append(f"field {self.field_index}")
        raw = self.raw if len(self.raw) <= _RAW_SHOWN else self.raw[:_RAW_SHOWN] + "…"
        prefix = f"{' '.join(where)}: " if where else ""
        return f"{prefix}{self.reason}: {raw!r}" if self.raw else f"{prefix}{self.reason}"  # no text read


class FrameError(ParseError):
    """A data frame whose envelope (``E|TR_ID|NNN|payload``) is wrong."""


class FieldError(ParseError):
    """One field whose text does not fit its kind; ``raw`` is that field's text."""


class BookOrderError(ParseError):
    """A book record (H0ZFASP0, H0ZOASP0) whose published asks do not rise or bids do not fall
    from level 1, or that has a price after an empty level: the fields make sense only in another
    order. An older official sample reads H0ZFASP0 as a 5-level book (reference 4.5); frames in
    that order read this way under the current 10-level list. ``raw`` is the record's fields."""


class ControlMessageError(ParseError):
    """A JSON control message that is not JSON or lacks its header."""


class MalformedMessageError(ParseError):
    """A message on a kisfeed NATS subject that is not one kisfeed publishes (``fleet.wire``):
    counted and skipped by every consumer, never fatal (issue 17, item 5)."""


# --- the live feed -------------------------------------------------------------------------------


class FeedError(KisfeedError):
    """The feed cannot go on (for example the queue overflowed under the ``raise`` policy)."""


class CallbackError(FeedError):
    """A callback given to ``kisfeed.connect`` (``on_frame`` or ``on_event``) raised, so the feed
    ended. ``callback`` names it; the callback's own exception is ``__cause__``."""

    def __init__(self, callback: str, error: Exception) -> None:
        self.callback = callback
        super().__init__(f"the {callback} callback raised {type(error).__name__}: {error}")
        self.__cause__ = error


# --- local storage -------------------------------------------------------------------------------


class StoreError(KisfeedError):
    """The journal or the dataset cannot be written or read as asked (the data directory is
    unwritable or full, or another process holds it). Files already written are left intact."""


class DataDirectoryInUseError(StoreError):
    """A second recorder on a data directory another one is recording to: refused at once, since
    the two would share one converter lock and the second would record nothing (issue 11, item 1).
    ``pid`` is the other recorder's process id (None if it could not be read)."""

    def __init__(self, root: object, pid: int | None) -> None:
        self.root, self.pid = root, pid
        who = f"pid {pid}" if pid is not None else "a process whose pid could not be read"
        super().__init__(
            f"the data directory {root} is in use by another recorder ({who}); "
            f"one recorder per data directory"
        )


# --- the fleet (NATS JetStream) ------------------------------------------------------------------


class FleetError(KisfeedError):
    """The fleet cannot do what was asked: the NATS server is unreachable or refuses the
    credentials, JetStream is not enabled on it, or a bucket or stream has another shape."""
