"""Which connection is subscribed to which topic."""

from __future__ import annotations

from collections.abc import Iterable, Set
from typing import Generic, TypeVar

C = TypeVar("C")


class TopicRegistry(Generic[C]):
    def __init__(self) -> None:
        self._subscribers: dict[str, set[C]] = {}

    def subscribe(self, connection: C, topic: str) -> bool:
        """Add a subscriber; True if the topic had none before."""
        subscribers = self._subscribers.setdefault(topic, set())
        subscribers.add(connection)
        return len(subscribers) == 1

    def unsubscribe(self, connection: C, topic: str) -> bool:
        """Remove a subscriber; True if the topic has none left."""
        subscribers = self._subscribers.get(topic)
        if subscribers is None:
            return False
        subscribers.discard(connection)
        if subscribers:
            return False
        del self._subscribers[topic]
        return True

    def unsubscribe_all(self, connection: C, topics: Iterable[str]) -> list[str]:
        """Remove a connection everywhere; the topics left with no subscriber."""
        return [topic for topic in topics if self.unsubscribe(connection, topic)]

    def subscribers(self, topic: str) -> Set[C]:
        return self._subscribers.get(topic, frozenset())

    def __len__(self) -> int:
        return len(self._subscribers)
