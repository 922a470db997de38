"""What the operator commands share: subcommands, org lookup, service errors as CommandError."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from directory.audit import Actor, operator_actor
from directory.errors import DirectoryError
from directory.models import Org
from directory.selectors import org_get


class SubcommandCommand(BaseCommand, ABC):
    """A command with subcommands (`org create`, `scim token issue`): each subparser sets
    `handler` to the method that runs it."""

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_subcommands(parser.add_subparsers(dest="subcommand", required=True))

    @abstractmethod
    def add_subcommands(self, subparsers: Any) -> None:
        """Add each subcommand's parser to `subparsers`."""

    def handle(self, *args: Any, **options: Any) -> None:
        handler: Callable[..., None] = options.pop("handler")
        try:
            handler(**options)
        except DirectoryError as e:
            raise CommandError(e.message) from None

    def org(self, slug: str) -> Org:
        try:
            return org_get(slug=slug)
        except DirectoryError as e:
            raise CommandError(e.message) from None

    @property
    def actor(self) -> Actor:
        return operator_actor()

    def say(self, text: str) -> None:
        self.stdout.write(text)
