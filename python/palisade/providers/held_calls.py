"""Tool calls held until complete, in the stream guards of the dialects that stream a call as a
start, argument pieces and an end (Anthropic, Bedrock Converse, Cohere): a policy, a scan or a
mask can only judge whole arguments. The guard counts the calls it released and blocked: with
every call of a turn blocked, the stop reason stops saying that tools were called."""

from __future__ import annotations

from palisade.providers.base import AnswerGuard, Event, Path


class HeldCall:
    __slots__ = ("name", "partial", "start")

    def __init__(self, start: Event, name: object) -> None:
        self.start = start
        self.name = name if isinstance(name, str) else ""
        self.partial: list[str] = []


class CallHolder:
    """A base for those stream guards: the calls held by their index, and the counts."""

    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard
        self.calls: dict[int, HeldCall] = {}
        self.released = 0
        self.blocked = 0

    def _hold(self, index: int, start: Event, name: object) -> bool:
        """A call starts: True when it is held (its events wait for its end)."""
        if self.guard.holds_calls:
            self.calls[index] = HeldCall(start, name)
            return True
        self.released += 1
        return False

    def _judge_call(self, call: HeldCall, where: Path, at: str) -> tuple[str, str | None]:
        """The call's whole arguments (redacted, un-masked), and the notice that replaces it
        when a policy blocks it (None when it is released)."""
        guard = self.guard
        arguments = guard.arguments("".join(call.partial), where)
        notice = guard.tool_call(call.name, arguments, at)
        if notice is None:
            self.released += 1
        else:
            self.blocked += 1
        return arguments, notice

    @property
    def blocked_all(self) -> bool:
        return bool(self.blocked) and not self.released
