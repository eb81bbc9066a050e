#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal (its controlling terminal, as in
an interactive session) and answers prompts: each WAIT=SEND argument waits
until WAIT appeared in the output after the previous answer, then types SEND
and a newline. The whole output goes to stdout; the exit status is the
command's (124 when --timeout seconds passed first, the command killed).

Usage: pty-drive.py [--timeout SECONDS] [WAIT=SEND...] -- COMMAND [ARG...]
"""
import os
import pty
import select
import signal
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 300.0
    if args[:1] == ["--timeout"]:
        timeout = float(args[1])
        args = args[2:]
    sep = args.index("--")
    answers = [a.split("=", 1) for a in args[:sep]]
    command = args[sep + 1:]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        except OSError as e:
            sys.stderr.write(f"pty-drive: {command[0]}: {e.strerror}\n")
        os._exit(127)

    out = b""
    seen = 0  # the output before this offset answered a prompt already
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers:
            wait, send = answers[0]
            at = out.find(wait.encode(), seen)
            if at >= 0:
                time.sleep(0.3)  # the shell's prompt is up
                os.write(fd, send.encode() + b"\n")
                seen = at + len(wait)
                answers.pop(0)
        ready, _, _ = select.select([fd], [], [], 0.5)
        if fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the last holder of the terminal closed it
                break
            if not data:
                break
            out += data
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode(errors="replace"))
        sys.stdout.write("\npty-drive: timed out\n")
        return 124
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
