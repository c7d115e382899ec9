"""Audio commands: uploading clips and playing them into a connected call (see :mod:`modem.simulator.audio`).

Each family's own commands, answered only by that profile (others: unknown command):

- SIM800: ``AT+FSCREATE=<path>``, ``AT+FSWRITE=<path>,<0 overwrite|1 append>,<size 1-10240>,<timeout>``
  (``> `` prompt, then exactly ``size`` raw bytes), ``AT+FSDEL=<path>``, ``AT+FSFLSIZE=<path>``
  (``+FSFLSIZE: <bytes>``), ``AT+CREC=4,"<path>",<channel>,<volume 0-100>[,<repeat>]`` plays an
  AMR file into the call, ``AT+CREC=5`` stops it;
- Quectel EC25: ``AT+QFUPL="RAM:<name>",<size>[,<timeout>]`` (``CONNECT``, then ``size`` raw
  bytes, then ``+QFUPL: <size>,<checksum>``: 16-bit XOR of the data, hex), ``AT+QFDEL="<name>"``,
  ``AT+QPSND=1,"<name>",<repeat>[,<ulmute>,<dlmute>]`` plays a WAV into the call,
  ``AT+QPSND=0`` stops it;
- Huawei E173: ``AT^DDSETEX=2`` sends the voice port's PCM into the connected call;
- SIM7600: ``AT+CPCMREG=1`` / ``=0`` turns the USB PCM voice path on / off (``AT+CPCMREG?``).

Playing with no connected call answers ``+CME ERROR: 3`` (operation not allowed), as the
modules do; a missing file ``+CME ERROR: 22`` (SIM800, not found) / ``405`` (Quectel, file
not found); an upload of a file that does not decode as its format is stored (the modem does
not look), but playing it answers ``+CME ERROR: 4``.
"""

from __future__ import annotations

from modem.simulator.handlers import handles, int_arg
from modem.simulator.results import CmeReject, Prompt, Reject, Unknown
from modem.voice.audio import AudioClip, AudioError

MAX_FSWRITE = 10240
MAX_QFUPL = 4 * 1024 * 1024


def _only(dev, *profiles: str) -> None:
    if dev.persona.name not in profiles:
        raise Unknown(dev.persona.unknown_reply)


def _sink(dev):
    return dev.host.audio


def _call(dev):
    call = dev.connected_call()
    if call is None:
        raise CmeReject(3)
    return call


# ---------------------------------------------------------------- SIM800 file system and AT+CREC
@handles("+FSCREATE", "+FSDEL", "+FSFLSIZE")
def sim800_file(dev, cmd):
    _only(dev, "sim800")
    if cmd.form != "set" or len(cmd.args) != 1 or not cmd.args[0]:
        raise Reject()
    path, sink = cmd.args[0], _sink(dev)
    if cmd.name == "+FSCREATE":
        if not sink.create_file(path):
            raise Reject()
        return []
    if cmd.name == "+FSDEL":
        if not sink.delete_file(path):
            raise Reject()
        return []
    data = sink.read_file(path)
    if data is None:
        raise Reject()
    return [f"+FSFLSIZE: {len(data)}"]


@handles("+FSWRITE")
def sim800_write(dev, cmd):
    _only(dev, "sim800")
    args = cmd.args
    if cmd.form != "set" or len(args) != 4:
        raise Reject()
    path, sink = args[0], _sink(dev)
    mode = int_arg(args[1], 0, 1)
    size = int_arg(args[2], 1, MAX_FSWRITE)
    int_arg(args[3], 1, 100)
    if sink.read_file(path) is None:
        raise Reject()

    def stored(data: bytes):
        sink.write_file(path, data, append=mode == 1)
        return []
    return Prompt(on_body=stored, length=size)


@handles("+CREC")
def sim800_crec(dev, cmd):
    _only(dev, "sim800")
    if cmd.form == "test":
        return ["+CREC: (1-9)"]
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    args, sink = cmd.args, _sink(dev)
    mode = int_arg(args[0], 1, 9)
    if mode == 5:
        sink.stop_file()
        return []
    if mode != 4 or not 4 <= len(args) <= 5:
        raise CmeReject(4)
    int_arg(args[2], 0, 1)
    int_arg(args[3], 0, 100)
    call = _call(dev)
    data = sink.read_file(args[1])
    if data is None:
        raise CmeReject(22)
    try:
        clip = AudioClip.from_amr(data)
    except AudioError:
        raise CmeReject(4) from None
    sink.play_file(call, clip, "crec")
    return []


# ---------------------------------------------------------------- Quectel EC25 RAM files and AT+QPSND
def _checksum(data: bytes) -> str:
    """Quectel's upload checksum: XOR of the data as big-endian 16-bit words (odd length: last byte high)."""
    value = 0
    for i in range(0, len(data) - 1, 2):
        value ^= (data[i] << 8) | data[i + 1]
    if len(data) % 2:
        value ^= data[-1] << 8
    return f"{value:x}"


@handles("+QFUPL")
def quectel_upload(dev, cmd):
    _only(dev, "quectel-ec25")
    args = cmd.args
    if cmd.form != "set" or not 2 <= len(args) <= 4 or not args[0]:
        raise Reject()
    name, sink = args[0], _sink(dev)
    size = int_arg(args[1], 1, MAX_QFUPL)
    if sink.read_file(name) is not None:
        raise CmeReject(407)            # file already exists

    def stored(data: bytes):
        sink.write_file(name, data)
        return [f"+QFUPL: {len(data)},{_checksum(data)}"]
    return Prompt(on_body=stored, length=size, text="CONNECT\r\n")


@handles("+QFDEL")
def quectel_delete(dev, cmd):
    _only(dev, "quectel-ec25")
    if cmd.form != "set" or len(cmd.args) != 1:
        raise Reject()
    if not _sink(dev).delete_file(cmd.args[0]):
        raise CmeReject(405)
    return []


@handles("+QPSND")
def quectel_play(dev, cmd):
    _only(dev, "quectel-ec25")
    if cmd.form == "test":
        return ["+QPSND: (0,1),,(0-255),(0,1),(0,1)"]
    args, sink = cmd.args, _sink(dev)
    if cmd.form != "set" or not args:
        raise Reject()
    mode = int_arg(args[0], 0, 1)
    if mode == 0:
        sink.stop_file()
        return []
    if not 3 <= len(args) <= 5:
        raise Reject()
    int_arg(args[2], 0, 255)
    call = _call(dev)
    data = sink.read_file(args[1])
    if data is None:
        raise CmeReject(405)
    try:
        clip = AudioClip.from_wav(data)
    except AudioError:
        raise CmeReject(4) from None
    sink.play_file(call, clip, "qpsnd")
    return []


# ---------------------------------------------------------------- voice ports (Huawei, SIM7600)
@handles("^DDSETEX")
def huawei_voice(dev, cmd):
    _only(dev, "huawei-e173")
    if cmd.form == "test":
        return ["^DDSETEX: (2)"]
    if cmd.form != "set" or cmd.args != ["2"]:
        raise Reject()
    _sink(dev).open_port(_call(dev))
    return []


@handles("+CPCMREG")
def simcom_pcm(dev, cmd):
    _only(dev, "sim7600")
    sink = _sink(dev)
    if cmd.form == "read":
        return [f"+CPCMREG: {int(sink.port_call is not None)}"]
    if cmd.form == "test":
        return ["+CPCMREG: (0,1)"]
    if cmd.form != "set" or not cmd.args:
        raise Reject()
    if int_arg(cmd.args[0], 0, 1) == 0:
        sink.close_port()
        return []
    sink.open_port(_call(dev))
    return []
