"""Which connection is subscribed to which topic."""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Generic, TypeVar

C = TypeVar("C")


class TopicRegistry(Generic[C]):
    def __init__(self) -> None:
        self._subscribers: dict[str, set[C]] = {}

    def subscribe(self, connection: C, topic: str) -> None:
        self._subscribers.setdefault(topic, set()).add(connection)

    def unsubscribe(self, connection: C, topic: str) -> None:
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            return
        subscribers.discard(connection)
        if not subscribers:
            del self._subscribers[topic]

    def unsubscribe_all(self, connection: C, topics: Iterable[str]) -> None:
        for topic in topics:
            self.unsubscribe(connection, topic)

    def subscribers(self, topic: str) -> Set[C]:
        return self._subscribers.get(topic, frozenset())

    def __len__(self) -> int:
        return len(self._subscribers)
