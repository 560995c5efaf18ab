"""Sans-I/O KIS real-time protocol: frame codec, control messages, events, session state."""

from .control import OPSP, ControlReply, Opsp, Ping, parse_control, server_error, subscribe_request
from .events import Data, Event, Malformed, PingPong, Rejected, Subscribed, Unsubscribed
from .frames import decode, decode_frame, decode_frame_lenient, encode_frame, split_frame
from .session import DEFAULT_MAX_REGISTRATIONS, Session

__all__ = [
    "OPSP",
    "Opsp",
    "ControlReply",
    "Ping",
    "parse_control",
    "server_error",
    "subscribe_request",
    "Event",
    "Data",
    "Subscribed",
    "Unsubscribed",
    "Rejected",
    "PingPong",
    "Malformed",
    "split_frame",
    "decode",
    "decode_frame",
    "decode_frame_lenient",
    "encode_frame",
    "Session",
    "DEFAULT_MAX_REGISTRATIONS",
]
