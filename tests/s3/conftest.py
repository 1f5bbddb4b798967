"""A real S3 server for the S3 tests: `moto_server` on 127.0.0.1, started once per session, stopped by its pid.

Authentication is on (moto's INITIAL_NO_AUTH_ACTION_COUNT): the first three requests create an IAM user, its
policy and its keys, and from then on moto refuses wrong keys as AWS does, so the wrong-key tests mean something.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MOTO_SERVER = Path(sys.executable).parent / "moto_server"
_UNAUTHENTICATED_SETUP_CALLS = 3  # create_user, put_user_policy, create_access_key
_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def client(self, *, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
        )

    def put(self, bucket: str, objects: Mapping[str, str | bytes]) -> None:
        client = self.client()
        for key, body in objects.items():
            client.put_object(Bucket=bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def definition(self, bucket: str, streams: list[dict[str, Any]]) -> dict[str, Any]:
        """A definition's `config`, with the keys already filled in (what resolve hands over, revealed)."""
        return {
            "bucket": bucket,
            "region": self.region,
            "endpoint": self.endpoint,
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "streams": streams,
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on port {port} within {_START_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _make_keys(endpoint: str) -> tuple[str, str]:
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup"
    )
    iam.create_user(UserName="bmad")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName="bmad", PolicyName="everything", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="bmad")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def start_moto_server(port: int | None = None) -> tuple[subprocess.Popen[bytes], S3Server]:
    """Start `moto_server -H 127.0.0.1 -p PORT` with authentication on; the caller stops it with `stop_moto_server`."""
    port = port or free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(_UNAUTHENTICATED_SETUP_CALLS))
    # Real AWS credentials in the environment must not leak into tests that expect "no credentials".
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        endpoint = f"http://127.0.0.1:{port}"
        key_id, secret = _make_keys(endpoint)
    except BaseException:
        _stop(process)
        raise
    return process, S3Server(endpoint, key_id, secret)


def stop_moto_server(process: subprocess.Popen[bytes]) -> None:
    _stop(process)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    if not MOTO_SERVER.exists():
        pytest.skip("moto_server is not installed in this venv (dev extra)")
    process, server = start_moto_server()
    try:
        yield server
    finally:
        stop_moto_server(process)


@pytest.fixture(scope="session")
def closed_port() -> int:
    """A loopback port nobody listens on: bound, then released."""
    return free_port()
