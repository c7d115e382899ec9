"""Replay the session files in tests/modem/transcripts/ (format: transcripts/README.md).

Each file is fed whole, byte by byte, in random chunks (hypothesis) and with
trailing junk; the events must equal the file's ``expect`` section every time.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.at import AtParser, Noise, Prompt, Response, Urc

HERE = Path(__file__).parent / "transcripts"
FILES = sorted(HERE.glob("*.at"))


def load(path: Path):
    """(profile or None, steps, expected) where steps are (verb, text|bytes) and expected are compact tuples."""
    profile, steps, expected = None, [], []
    in_expect = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        verb, _, rest = line.partition(" ")
        if verb == "expect":
            in_expect = True
        elif in_expect:
            expected.append(_expectation(verb, rest, f"{path.name}:{number}"))
        elif verb == "profile":
            profile = None if rest.strip() == "none" else rest.strip()
        elif verb in ("send", "send-prompt", "body"):
            steps.append((verb, rest))
        elif verb == "recv":
            steps.append((verb, codecs.escape_decode(rest.encode("utf-8"))[0]))
        else:
            raise ValueError(f"{path.name}:{number}: unknown verb {verb!r}")
    return profile, steps, expected


def _expectation(verb: str, rest: str, where: str):
    if verb in ("prompt", "noise"):
        return (verb,)
    if verb in ("urc", "unknown-urc"):
        line, _, body = rest.partition(" || ")
        return (verb, line.replace("\\n", "\n"), body or None)
    if verb == "response":
        command, _, tail = rest.partition(" => ")
        result, *lines = tail.split(" || ")
        kind, _, code = result.partition(" ")
        return ("response", command, kind, int(code) if code else None, tuple(lines))
    raise ValueError(f"{where}: unknown expectation {verb!r}")


def compact(event):
    if isinstance(event, Prompt):
        return ("prompt",)
    if isinstance(event, Noise):
        return ("noise",)
    if isinstance(event, Urc):
        return ("urc" if event.known else "unknown-urc", event.line, event.body)
    if isinstance(event, Response):
        return ("response", event.command, event.result.kind, event.result.code, event.lines)
    raise TypeError(event)


def replay(profile, steps, chunker, junk: bytes = b""):
    parser = AtParser(profile)
    events = []
    last_recv = max(i for i, (verb, _) in enumerate(steps) if verb == "recv")
    for i, (verb, arg) in enumerate(steps):
        if verb == "send":
            parser.command(arg)
        elif verb == "send-prompt":
            parser.command(arg, expect_prompt=True)
        elif verb == "body":
            parser.body(arg)
        else:
            data = arg + junk if i == last_recv else arg
            for chunk in chunker(data):
                events.extend(parser.feed(chunk))
    return [compact(e) for e in events]


def test_there_are_session_files_for_every_profile():
    names = {load(f)[0] for f in FILES}
    assert {"sim800", "sim7600", "huawei-e173", "quectel-ec25", None} <= names


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_session_whole_and_byte_by_byte(path):
    profile, steps, expected = load(path)
    assert expected, "a session file needs an expect section"
    assert replay(profile, steps, lambda d: [d]) == expected
    assert replay(profile, steps, lambda d: [d[i:i + 1] for i in range(len(d))]) == expected


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_session_with_trailing_junk(path):
    profile, steps, expected = load(path)
    events = replay(profile, steps, lambda d: [d], junk=b"\r\n\xff\x00junk\r\n+CM")
    assert events[: len(expected)] == expected
    assert all(e[0] in ("noise", "unknown-urc", "urc") for e in events[len(expected):])


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_session_in_random_chunks(path, data):
    profile, steps, expected = load(path)

    def chunker(raw):
        cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(raw) - 1)), max_size=16)))
        bounds = [0, *cuts, len(raw)]
        return [raw[a:b] for a, b in zip(bounds, bounds[1:])]

    assert replay(profile, steps, chunker) == expected
