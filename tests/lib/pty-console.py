#!/usr/bin/env python3
"""Drives an interactive harness console (`harness shell`, `harness enter`)
on a new pseudo-terminal the way an operator would and prints one
"WHAT: True|False" line per check:

  initial size seen  `stty size` inside shows the terminal's size
  resize seen        after a resize (SIGWINCH), `stty size` shows the new one
  raw while inside   the outer terminal is raw while the console runs
  ctrl-] x3 left     Ctrl-] three times in a row ends the console
  mode restored      the outer terminal is back in canonical mode after it

Usage: pty-console.py [--leave-timeout SECONDS] -- COMMAND [ARG...]
COMMAND must end in an interactive /bin/sh.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main():
    args = sys.argv[1:]
    leave_timeout = 30.0
    if args[:1] == ["--leave-timeout"]:
        leave_timeout = float(args[1])
        args = args[2:]
    command = args[args.index("--") + 1:]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        except OSError as e:
            sys.stderr.write(f"pty-console: {command[0]}: {e.strerror}\n")
        os._exit(127)

    def size(rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    out = b""

    def expect(pat, secs):
        nonlocal out
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if pat.encode() in out:
                return True
            r, _, _ = select.select([fd], [], [], 0.2)
            if fd in r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    return pat.encode() in out
                if not d:
                    break
                out += d
        return pat.encode() in out

    size(41, 101)
    time.sleep(1.5)
    # $((1+1)): the answer, not the echo of what was typed.
    os.write(fd, b"stty size; echo S1-$((1+1))\n")
    print("initial size seen:", expect("41 101", 15) and expect("S1-2", 5))
    size(52, 123)
    time.sleep(0.5)
    out = b""
    os.write(fd, b"stty size; echo S2-$((1+1))\n")
    print("resize seen:", expect("52 123", 15) and expect("S2-2", 5))
    print("raw while inside:", not (termios.tcgetattr(fd)[3] & termios.ICANON))
    os.write(fd, b"\x1d\x1d\x1d")
    end = time.monotonic() + leave_timeout
    gone = False
    while time.monotonic() < end:
        p, _ = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            gone = True
            break
        try:
            r, _, _ = select.select([fd], [], [], 0.2)
            if fd in r:
                os.read(fd, 4096)
        except OSError:
            pass
    print("ctrl-] x3 left:", gone)
    if gone:
        print("mode restored:", bool(termios.tcgetattr(fd)[3] & termios.ICANON))
    else:
        print("mode restored: False")
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


main()
