"""A minimal SMTP server that stores every message as a .eml file (for deploy/prod-local.sh).

The local production stack uses Django's real SMTP backend (``check --deploy`` refuses the
console backend), so sign-up and reminder e-mails need a server to talk to. Nothing is relayed
anywhere: messages only land in ``--dir``. Listens on loopback only.

    python deploy/mail_sink.py --port 8025 --dir var/prod-local/mail
"""

import argparse
import asyncio
import time
from pathlib import Path


async def _session(reader, writer, directory: Path) -> None:
    async def reply(line: str) -> None:
        writer.write(line.encode() + b"\r\n")
        await writer.drain()

    await reply("220 allaweeplus-mail-sink ESMTP")
    while line := await reader.readline():
        command = line.decode(errors="replace").strip()
        verb = command[:4].upper()
        if verb in {"HELO", "EHLO"}:
            await reply("250 allaweeplus-mail-sink")
        elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
            await reply("250 OK")
        elif verb == "DATA":
            await reply("354 End data with <CR><LF>.<CR><LF>")
            lines = []
            while (data := await reader.readline()) not in (b".\r\n", b".\n", b""):
                lines.append(data[1:] if data.startswith(b"..") else data)
            name = directory / f"{time.time_ns()}.eml"
            name.write_bytes(b"".join(lines))
            await reply("250 OK stored")
        elif verb == "QUIT":
            await reply("221 Bye")
            break
        else:
            await reply("502 Command not implemented")
    writer.close()


async def _serve(port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(
        lambda r, w: _session(r, w, directory), host="127.0.0.1", port=port
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    try:
        asyncio.run(_serve(args.port, args.dir))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
