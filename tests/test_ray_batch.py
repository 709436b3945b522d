"""Batch answering on a real Ray cluster that the tests start on this machine and stop.

`ray start --head` with 2 CPUs (two actor processes at once), token authentication on, in
Ray's single-machine mode so that every server it starts listens on 127.0.0.1 only (checked).
Drivers run as their own processes, as a user's would, so they can be killed with SIGKILL.

The kill tests use the scripted model (`ScriptedBackend`, named as such, replying after a
pause): they are about the pipeline and the output file, so they use real processes, real
actors, `kill -9` and the real verifier for grading. The command-line test runs the demo model
in each actor.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
N_QUESTIONS = 24

# A driver as a user would write it; `make_agent` is pickled by value (this is __main__).
DRIVER = textwrap.dedent(
    """
    import sys, time
    from verimath import Agent, Settings
    from verimath.models import ScriptedBackend
    from verimath.ray_batch import run_batch_on_ray

    def make_agent():
        def reply(messages, prefill):
            time.sleep(0.4)
            return "Adding them gives \\\\boxed{42}"
        settings = Settings(samples=1, refuted_retries=0)
        return Agent(ScriptedBackend(reply), index=False, settings=settings)

    summary = run_batch_on_ray(make_agent, sys.argv[1], sys.argv[2], address=sys.argv[3],
                               actors=2)
    print(summary.line())
    """
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The address of a Ray head on a free loopback port, and the environment to reach it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # Ray's single-machine mode: loopback only
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "HF_HUB_OFFLINE": "1",
    }
    start = [str(BIN / "ray"), "start", "--head", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats"]  # fmt: skip
    subprocess.run(start, env=env, check=True, capture_output=True, timeout=180)
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(BIN / "ray"), "stop", "--force"], env=env, capture_output=True,
                       timeout=120)  # fmt: skip


def questions(path: Path) -> Path:
    rows = [{"id": f"q{i}", "question": f"What is {i} + {42 - i}?", "gold": "42"}
            for i in range(N_QUESTIONS)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def driver_command(tmp_path: Path, address: str) -> tuple[list[str], Path]:
    """The command that runs DRIVER over N_QUESTIONS questions, and its output file."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER, encoding="utf-8")
    source, out = questions(tmp_path / "q.jsonl"), tmp_path / "answers.jsonl"
    return [sys.executable, str(script), str(source), str(out), address], out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def wait_for_rows(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while (out.read_text().count("\n") if out.exists() else 0) < count:
        assert process.poll() is None, "the driver ended before it was killed"
        assert time.monotonic() < deadline, "no answers within 5 minutes"
        time.sleep(0.05)


def actor_pids() -> list[int]:
    """The processes of the agent actors (Ray names them after the class they run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if command.startswith("ray::MapWorker(MapBatches(AgentActor))"):
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_killed_driver_resumes_with_nothing_lost_or_duplicated(cluster, tmp_path: Path):
    address, env = cluster
    command, out = driver_command(tmp_path, address)
    for kill_after in (3, 10):
        driver = subprocess.Popen(command, env=env)
        wait_for_rows(out, kill_after, driver)
        kept = out.read_bytes()
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert out.read_bytes().startswith(kept[: kept.rfind(b"\n") + 1])
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "already done" in finished.stdout
    ids = Counter(r["id"] for r in rows(out))
    assert set(ids) == {f"q{i}" for i in range(N_QUESTIONS)} and set(ids.values()) == {1}
    assert all(r["status"] == "verified" and r["correct"] is True for r in rows(out))


@pytest.mark.slow
def test_a_killed_actor_is_replaced_and_its_question_answered_once(cluster, tmp_path: Path):
    address, env = cluster
    command, out = driver_command(tmp_path, address)
    driver = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_for_rows(out, 3, driver)
    victims = actor_pids()
    assert victims, "no agent actor process found to kill"
    os.kill(victims[0], signal.SIGKILL)
    stdout, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr[-2000:]
    assert f"answered {N_QUESTIONS} of {N_QUESTIONS}" in stdout
    ids = Counter(r["id"] for r in rows(out))
    assert len(ids) == N_QUESTIONS and set(ids.values()) == {1}


@pytest.mark.slow
def test_the_command_line_answers_a_parquet_file_with_the_demo_model_and_resumes(
    cluster, tmp_path: Path
):
    import pyarrow as pa
    import pyarrow.parquet as pq

    address, env = cluster
    source, out = tmp_path / "q.parquet", tmp_path / "answers.jsonl"
    pq.write_table(
        pa.table({"id": ["a", "b", "c"], "question": ["Solve 3x = 12", "What is 7 * 6?",
                  "Solve x + 5 = 9"], "gold": ["4", "42", "4"]}), source,
    )  # fmt: skip
    command = [str(BIN / "verimath"), "batch", str(source), "-o", str(out), "--ray", address,
               "--ray-actors", "2", "--model", "demo", "--max-new-tokens", "64"]  # fmt: skip
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.startswith("answered 3 of 3 questions;")
    answers = rows(out)
    assert sorted(r["id"] for r in answers) == ["a", "b", "c"]
    assert all(r["model"] and r["status"] != "error" and "correct" in r for r in answers)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "(3 already done)" in again.stdout
    assert rows(out) == answers


@pytest.mark.slow
def test_a_model_that_cannot_be_loaded_in_the_actors_is_one_line(cluster, tmp_path: Path):
    address, env = cluster
    source, out = questions(tmp_path / "q.jsonl"), tmp_path / "answers.jsonl"
    failed = subprocess.run(
        [str(BIN / "verimath"), "batch", str(source), "-o", str(out), "--ray", address,
         "--model", str(tmp_path / "missing.gguf")],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-1] == (
        f"error: GGUF file '{tmp_path / 'missing.gguf'}' does not exist; check the path"
    )
    assert "Traceback" not in failed.stderr


def test_no_cluster_at_the_address_is_one_line_at_once(tmp_path: Path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    failed = subprocess.run(
        [str(BIN / "verimath"), "batch", str(questions(tmp_path / "q.jsonl")), "-o",
         str(tmp_path / "a.jsonl"), "--ray", f"127.0.0.1:{port}", "--model", "demo"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert failed.returncode == 1 and time.monotonic() - started < 60
    assert failed.stderr.strip() == (
        f"error: no Ray cluster answers at 127.0.0.1:{port} (Connection refused); start one "
        "there with `ray start --head --port PORT`, or use --ray local"
    )


@pytest.mark.slow
def test_the_cluster_listens_on_loopback_only(cluster):
    """Every listening TCP socket of the cluster's processes is on 127.0.0.1 or ::1."""
    ray_pids = [
        int(p.name) for p in Path("/proc").iterdir()
        if p.name.isdigit() and _is_ray(p)
    ]  # fmt: skip
    inodes = {_socket_inode(link) for pid in ray_pids for link in _fds(pid)} - {None}
    listening = [(address, inode) for address, inode in _listening() if inode in inodes]
    assert listening, "found no listening socket of the cluster"
    assert all(address in ("127.0.0.1", "::1", "::ffff:127.0.0.1") for address, _ in listening)


def _is_ray(proc: Path) -> bool:
    try:
        command = (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return "gcs_server" in command or "raylet" in command or command.startswith("ray::")


def _fds(pid: int) -> list[str]:
    try:
        return [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return []


def _socket_inode(link: str) -> str | None:
    return link[len("socket:[") : -1] if link.startswith("socket:[") else None


def _listening() -> list[tuple[str, str]]:
    """(local address, inode) of every TCP socket in LISTEN state, IPv4 and IPv6."""
    found = []
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            # /proc writes each 32-bit word in host (little-endian) order
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, width, 4))
            found.append((socket.inet_ntop(socket.AF_INET if width == 4 else socket.AF_INET6,
                                           words), fields[9]))  # fmt: skip
    return found
