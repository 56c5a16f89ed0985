"""Command-line parsing shared by the queue and lock nodes (``python3 -m chaos_targets.<name>.node``).

Standard library only (it runs inside the target image). ``NodeArgs`` is bound to the program's name: every
bad argument stops the node with one line ``<program>: error: <what>; <what would be valid>`` on stderr and
exit code ``EXIT_CONFIG``, never a usage dump or a traceback. ``parser`` adds the arguments every node takes
(``--role --name --listen --data-dir --flags --option``) and ``check_common`` validates them; a node adds its
own arguments in between and checks them with ``peers`` / ``int_options`` / ``parse_addr``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NoReturn

EXIT_CONFIG = 2
EXIT_CORRUPT = 3

Addr = tuple[str, int]


class _Parser(argparse.ArgumentParser):
    def __init__(self, prog: str, die: Callable[[str], NoReturn]) -> None:
        super().__init__(prog=prog)
        self._die = die

    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        self._die(f"{message}; run with --help for the valid arguments")


class NodeArgs:
    """The argument checks of one node program, reporting through ``die``."""

    def __init__(self, program: str, module: str) -> None:
        self.program = program  # "queue node": the prefix of every error line
        self.module = module  # "chaos_targets.queue.node": shown by --help

    def die(self, msg: str, code: int = EXIT_CONFIG) -> NoReturn:
        print(f"{self.program}: error: {msg}", file=sys.stderr, flush=True)
        sys.exit(code)

    def parse_addr(self, field: str, text: str) -> Addr:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            self.die(f"{field} is {text!r}; expected HOST:PORT with a port in 1..65535")
        return host, int(port)

    def parser(self, extra: Callable[[argparse.ArgumentParser], None]) -> argparse.ArgumentParser:
        """The common arguments, then the node's own (``extra``), then ``--flags`` and ``--option``."""
        p = _Parser(f"python3 -m {self.module}", self.die)
        for name in ("--role", "--name", "--listen", "--data-dir"):
            p.add_argument(name, required=True)
        extra(p)
        p.add_argument("--flags", default="")
        p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
        return p

    def check_common(self, a: argparse.Namespace, roles: Sequence[str], flags: frozenset[str]) -> None:
        """Check ``--role``, ``--listen`` and ``--flags``; sets ``a.listen_addr`` and ``a.flag_set``."""
        if a.role not in roles:
            self.die(f"--role is {a.role!r}; expected one of {', '.join(roles)}")
        a.listen_addr = self.parse_addr("--listen", a.listen)
        a.flag_set = frozenset(f for f in a.flags.split(",") if f)
        unknown = sorted(a.flag_set - flags)
        if unknown:
            self.die(f"--flags: unknown flag {unknown[0]!r}; valid flags: {', '.join(sorted(flags))}")

    def peers(self, items: Iterable[str]) -> dict[str, Addr]:
        """``--peer NAME=HOST:PORT`` arguments as a mapping."""
        peers: dict[str, Addr] = {}
        for item in items:
            name, sep, addr = item.partition("=")
            if not sep or not name:
                self.die(f"--peer {item!r}: expected NAME=HOST:PORT")
            peers[name] = self.parse_addr(f"--peer {name}", addr)
        return peers

    def int_options(
        self,
        items: Iterable[str],
        table: Mapping[str, tuple[int, int]],
        owner: str,
        *,
        require_sep: bool,
    ) -> dict[str, int]:
        """``--option KEY=VALUE`` arguments, each an integer in the range ``table`` gives for its key.

        ``table`` holds the options of this node's role (empty: the role takes none) and ``owner`` names the
        role in the error ("a consumer", "a lock node"). With ``require_sep`` an item without ``=`` is refused
        as such before its key is looked at.
        """
        opts: dict[str, int] = {}
        for item in items:
            key, sep, value = item.partition("=")
            if require_sep and not sep:
                self.die(f"--option {item!r}: expected KEY=VALUE")
            if key not in table:
                self.die(f"--option {key!r} is not an option of {owner}; valid: {', '.join(table) or 'none'}")
            lo, hi = table[key]
            digits = value[1:] if value.startswith("-") else value
            if not sep or not digits.isdecimal() or not lo <= int(value) <= hi:
                self.die(f"--option {key}={value!r}: expected an integer in {lo}..{hi}")
            opts[key] = int(value)
        return opts

    def check_data_dir(self, path: str) -> None:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            self.die(f"--data-dir {path!r}: cannot create it ({e.strerror}); give a writable directory")
        if not os.access(path, os.W_OK):
            self.die(f"--data-dir {path!r} is not writable; give a writable directory")
