"""Per-workspace, per-conversation routing state, bounded in size and forgotten when idle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cachetools import TTLCache


@dataclass
class Session:
    workspace: str
    conversation_id: str
    model: str = ""              # the incumbent
    tier: str = ""
    turns: int = 0
    task_type: str = ""          # the task the conversation is on (its type and difficulty)
    difficulty: int = 0
    last_text: str = ""          # the last user turn routed, whether it carried a pasted error, and the
    last_trace: bool = False     # document the user was in
    last_uri: str = ""
    last_selection: tuple[int, int] | None = None    # the lines it selected there
    context_tokens: int = 0      # context the incumbent has seen (its prompt cache)
    last_card: Any = None        # the last DecisionCard
    task_class: str = ""         # the task's class, its ladder and the rung (0-based) the last answer came from
    ladder: tuple[str, ...] = ()
    rung: int | None = None
    failed: str = ""             # the user said the last answer failed (kilo/feedback), and why
    last_errors: frozenset[str] = frozenset()        # error lines pasted in the last turn
    last_diagnostics: frozenset[str] = frozenset()   # error diagnostics sent with it
    last_document: int | None = None                 # hash of the active document's text then
    started: float = field(default_factory=time.time)


class SessionStore:
    """A least-recently-used, time-bounded map of sessions (cachetools.TTLCache)."""

    def __init__(self, max_sessions: int = 512, idle_minutes: float = 30.0,
                 timer: Callable[[], float] = time.monotonic):
        self._timer = timer
        self._configure(max_sessions, idle_minutes)

    def _configure(self, max_sessions: int, idle_minutes: float) -> None:
        self.max_sessions = max_sessions
        self.idle_minutes = idle_minutes
        self._sessions: TTLCache = TTLCache(maxsize=max_sessions, ttl=max(1.0, idle_minutes * 60), timer=self._timer)

    def reconfigure(self, max_sessions: int, idle_minutes: float) -> None:
        if (max_sessions, idle_minutes) != (self.max_sessions, self.idle_minutes):
            old = list(self._sessions.items())
            self._configure(max_sessions, idle_minutes)
            for key, value in old[-max_sessions:]:
                self._sessions[key] = value

    def get(self, workspace: str, conversation_id: str) -> Session | None:
        return self._sessions.get((workspace, conversation_id))

    def put(self, session: Session) -> None:
        """Store (and refresh the idle timer of) a session."""
        self._sessions[(session.workspace, session.conversation_id)] = session

    def __len__(self) -> int:
        self._sessions.expire()
        return len(self._sessions)

