"""`paxiom lin check` end to end, and its HTML timeline as headless Chromium renders it."""

from __future__ import annotations

import json
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from paxiom.cli.main import main
from paxiom.lin.history import write_edn, write_jsonl
from paxiom.lin.simulate import simulate

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["lin", "check", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.edn"
    write_edn(simulate(600, keys=2, concurrency=4, info_rate=0.1, stale_rate=0.1, seed=4), path)
    return path


def test_linearizable_history_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "good.jsonl"
    write_jsonl(simulate(600, keys=2, concurrency=4, info_rate=0.1, seed=4), path)
    code, out, _ = run(str(path), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "ok" and doc["linearizable"] and doc["operations"] == 600
    assert [k["verdict"] for k in doc["keys"]] == ["ok", "ok"] and doc["explanation"] is None


def test_violation_exits_1_with_a_minimal_explanation(bad: Path) -> None:
    code, out, _ = run(str(bad), "--json", "--model", "cas-register")
    doc = json.loads(out)
    assert code == 1 and doc["verdict"] == "violation" and not doc["linearizable"]
    ex = doc["explanation"]
    assert ex["minimal"] and 1 <= len(ex["operations"]) <= 6 and ex["blocked"] in [o["id"] for o in ex["operations"]]
    code, out, _ = run(str(bad))
    assert code == 1 and "NOT linearizable" in out and "cannot be linearized" in out


def test_timeout_is_unknown_and_said_plainly(tmp_path: Path) -> None:
    path = tmp_path / "big.edn"
    write_edn(simulate(8000, concurrency=10, info_rate=0.2, seed=1), path)
    code, out, _ = run(str(path), "--timeout", "0.01")
    assert code == 1 and "UNKNOWN" in out and "not a pass" in out
    code, out, _ = run(str(path), "--timeout", "0.01", "--json")
    assert code == 1 and json.loads(out)["verdict"] == "unknown"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{:type :invoke, :f :write, :value 1, :process 0}\n{:type :ok :f}\n", "h.edn:2: a map needs"),
        ("{:type :invoke, :f :get, :value nil, :process 0}\n", "'get' is not an operation of model cas-register"),
    ],
)
def test_malformed_input_exits_2_naming_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "h.edn"
    path.write_text(content)
    code, out, err = run(str(path), "--model", "cas-register", "--json")
    assert code == 2 and message in json.loads(out)["error"] and "Traceback" not in err
    code, _, err = run(str(path), "--model", "cas-register")
    assert code == 2 and message in " ".join(err.split())


def test_missing_file_and_bad_timeout_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "none.edn"))[0] == 2
    path = tmp_path / "h.edn"
    path.write_text("{:type :invoke, :f :write, :value 1, :process 0}\n")
    assert run(str(path), "--timeout", "0")[0] == 2


def _render(html: Path, tmp_path: Path, *flags: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *flags, html.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)")
def test_timeline_renders_in_chromium_with_the_violation_marked(bad: Path, tmp_path: Path) -> None:
    html = tmp_path / "t.html"
    code, out, _ = run(str(bad), "--html", str(html), "--json")
    assert code == 1
    text = html.read_text()
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    marked = {o["id"] for o in json.loads(out)["explanation"]["operations"]}
    dom = _render(html, tmp_path, "--dump-dom")
    rendered = {
        int(part.split('"')[0])
        for part in dom.split('class="op ')[1:]
        if "violating" in part.split(">")[0]
        for part in [part.split('data-op="')[1]]
    }
    assert rendered == marked
    assert "<title>" in dom and "result:" in dom and "process " in dom
    shot = tmp_path / "shot.png"
    _render(html, tmp_path, f"--screenshot={shot}", "--window-size=1250,700")
    colors = _png_colors(shot.read_bytes())
    assert len(colors) > 20  # not blank
    assert any(r > 200 and g < 160 and b < 160 for r, g, b in colors)  # the red of a marked bar


def _png_colors(data: bytes) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of an 8-bit RGB/RGBA PNG (enough of a decoder to look at a screenshot)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, channels = 8, b"", 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, depth, color = int.from_bytes(body[:4], "big"), body[8], body[9]
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, prior = zlib.decompress(idat), width * channels, bytearray(width * channels)
    colors: set[tuple[int, int, int]] = set()
    for row in range(len(raw) // (stride + 1)):
        kind, line = raw[row * (stride + 1)], bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = prior[i], prior[i - channels] if i >= channels else 0
            guess = left + up - corner
            near = min((abs(guess - left), left), (abs(guess - up), up), (abs(guess - corner), corner))[1]
            line[i] = (line[i] + (0, left, up, (left + up) // 2, near)[kind]) & 0xFF
        colors.update(zip(line[0::channels], line[1::channels], line[2::channels], strict=True))
        prior = line
    return colors


def test_timeline_of_an_info_op_is_open_ended(tmp_path: Path) -> None:
    path = tmp_path / "h.edn"
    path.write_text(
        "{:type :invoke, :f :write, :value 1, :process 0, :index 0}\n"
        "{:type :info, :f :write, :value 1, :process 0, :index 1}\n"
        "{:type :invoke, :f :read, :value nil, :process 1, :index 2}\n"
        "{:type :ok, :f :read, :value 2, :process 1, :index 3}\n"
    )
    html = tmp_path / "t.html"
    assert run(str(path), "--html", str(html))[0] == 1
    text = html.read_text()
    assert 'class="op info open"' in text and 'class="op ok violating blocked"' in text


def test_a_single_registers_key_is_named_nil_as_the_docs_name_it(tmp_path: Path) -> None:
    path = tmp_path / "stale.edn"
    path.write_text(
        "{:type :invoke, :f :write, :value 1, :process 0}\n{:type :ok, :f :write, :value 1, :process 0}\n"
        "{:type :invoke, :f :read, :value nil, :process 1}\n{:type :ok, :f :read, :value 2, :process 1}\n"
    )
    code, out, _ = run(str(path), "--html", str(tmp_path / "t.html"))
    assert code == 1 and "key nil: violation" in out and "key nil: 1 operations cannot" in out and "None" not in out
    assert "Key nil:" in (tmp_path / "t.html").read_text()
