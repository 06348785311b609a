"""A TCP proxy in front of the datastore that injects the faults a network and a failover cause.

The service talks to the proxy's stable address; the proxy forwards to the real server (nx-27017 in
tests) and can:

- `lose_reply_once(matches)`: forward a command, let the server apply it, and cut the connection
  before its reply reaches the client: the "did it happen?" case that retryable writes and
  transaction retries exist for. `matches(command_name, body)` picks the command (OP_MSG body).
- `retarget(port)`: send new connections to another server (the datastore restarted on another port)
  and cut the live ones, as a restart does.
- `cut_all()`: cut every live connection.

The bytes are MongoDB's wire protocol (OP_MSG): a 16-byte header (length, requestID, responseTo,
opCode) and, for opCode 2013, flag bits then sections; section kind 0 is the command document, whose
first key is the command's name.
"""
from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

import bson

OP_MSG = 2013
Matcher = Callable[[str, dict[str, Any]], bool]


def command_of(message: bytes) -> tuple[int, str, dict[str, Any]] | None:
    """(requestID, command name, body) of a client's OP_MSG, or None for anything else."""
    request_id, _, opcode = struct.unpack_from("<iii", message, 4)
    if opcode != OP_MSG or len(message) < 21 or message[20] != 0:
        return None
    (size,) = struct.unpack_from("<i", message, 21)
    body = bson.decode(message[21:21 + size])
    return request_id, next(iter(body), ""), body


async def _read_message(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    (length,) = struct.unpack("<i", header)
    return header + await reader.readexactly(length - 4)


class FaultProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.commands: list[str] = []  # every command name seen, in order
        self.lost_replies: list[str] = []  # the commands whose replies the proxy threw away
        self._matchers: list[Matcher] = []
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def lose_reply_once(self, matches: Matcher) -> None:
        self._matchers.append(matches)

    def retarget(self, port: int) -> None:
        self.target_port = port
        self.cut_all()

    def cut_all(self) -> None:
        for client, server in list(self._links):
            client.transport.abort()
            server.transport.abort()
        self._links.clear()

    async def stop(self) -> None:
        self.cut_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()  # the datastore is down: the driver sees a refused connection
            return
        link = (client_writer, server_writer)
        self._links.add(link)
        doomed: dict[int, str] = {}  # requestID -> command whose reply is to be lost

        async def upstream() -> None:
            while True:
                message = await _read_message(client_reader)
                command = command_of(message)
                if command is not None:
                    request_id, name, body = command
                    self.commands.append(name)
                    for matcher in list(self._matchers):
                        if matcher(name, body):
                            self._matchers.remove(matcher)
                            doomed[request_id] = name
                            break
                server_writer.write(message)
                await server_writer.drain()

        async def downstream() -> None:
            while True:
                message = await _read_message(server_reader)
                (response_to,) = struct.unpack_from("<i", message, 8)
                if response_to in doomed:
                    self.lost_replies.append(doomed.pop(response_to))
                    raise ConnectionResetError("reply lost on purpose")
                client_writer.write(message)
                await client_writer.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._links.discard(link)
            client_writer.transport.abort()
            server_writer.transport.abort()
