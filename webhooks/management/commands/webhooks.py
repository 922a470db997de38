from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from directory.management.subcommands import SubcommandCommand
from webhooks.delivery import endpoint_test
from webhooks.services import endpoint_add, endpoint_get, endpoint_remove


class Command(SubcommandCommand):
    help = "Manage an org's webhook endpoints: add, list, remove, and send a test message."

    def add_subcommands(self, subparsers: Any) -> None:
        add = subparsers.add_parser("add", help="Add an endpoint and print its signing secret")
        add.add_argument("slug")
        add.add_argument("url")
        add.add_argument(
            "--events", default="", help="the event types it wants, comma-separated (default: all)"
        )
        add.add_argument("--description", default="")
        add.add_argument(
            "--json", action="store_true", dest="as_json", help='print {"id", "secret"}'
        )
        add.set_defaults(handler=self.add)

        listing = subparsers.add_parser("list", help="List the org's endpoints")
        listing.add_argument("slug")
        listing.add_argument("--json", action="store_true", dest="as_json")
        listing.set_defaults(handler=self.list)

        for name, handler, text in (
            ("remove", self.remove, "Remove an endpoint"),
            ("test", self.test, "Send a signed webhook.test message to an endpoint now"),
        ):
            p = subparsers.add_parser(name, help=text)
            p.add_argument("slug")
            p.add_argument("endpoint_id", nargs="?", help="needed when the org has several")
            p.set_defaults(handler=handler)

    def add(
        self, slug: str, url: str, events: str, description: str, as_json: bool, **_: Any
    ) -> None:
        issued = endpoint_add(
            org=self.org(slug),
            url=url,
            event_types=[t for t in events.split(",") if t.strip()],
            description=description,
            actor=self.actor,
        )
        if as_json:
            self.say(json.dumps({"id": str(issued.endpoint.id), "secret": issued.secret}))
            return
        self.say(f"Webhook endpoint {issued.endpoint.id} for {issued.endpoint.url}")
        self.say(f"Signing secret: {issued.secret}")
        self.say("Copy it now: it is shown only once.")

    def list(self, slug: str, as_json: bool, **_: Any) -> None:
        endpoints = list(self.org(slug).webhook_endpoints.all())
        if as_json:
            self.say(
                json.dumps(
                    [
                        {
                            "id": str(e.id),
                            "url": e.url,
                            "event_types": e.event_types,
                            "enabled": e.enabled,
                            "failures": e.failures,
                            "disabled_reason": e.disabled_reason,
                        }
                        for e in endpoints
                    ]
                )
            )
            return
        if not endpoints:
            self.say("No webhook endpoints.")
        for e in endpoints:
            state = "enabled" if e.enabled else f"disabled ({e.disabled_reason or 'by an admin'})"
            failing = f", failing: {e.failures} attempts" if e.failures else ""
            types = ", ".join(e.event_types) or "all events"
            self.say(f"{e.id}  {e.url}  [{types}]  {state}{failing}")

    def _endpoint(self, slug: str, endpoint_id: str | None) -> Any:
        org = self.org(slug)
        if endpoint_id:
            return endpoint_get(org=org, endpoint_id=endpoint_id)
        endpoints = list(org.webhook_endpoints.all()[:2])
        if len(endpoints) != 1:
            raise CommandError(
                f"{slug} has {'no' if not endpoints else 'several'} webhook endpoints: "
                "give the endpoint's id (webhooks list)"
            )
        return endpoints[0]

    def remove(self, slug: str, endpoint_id: str | None, **_: Any) -> None:
        endpoint = self._endpoint(slug, endpoint_id)
        endpoint_remove(endpoint=endpoint, actor=self.actor)
        self.say(f"Removed {endpoint.url}")

    def test(self, slug: str, endpoint_id: str | None, **_: Any) -> None:
        endpoint = self._endpoint(slug, endpoint_id)
        attempt = endpoint_test(endpoint)
        if not attempt.succeeded:
            raise CommandError(f"{endpoint.url}: {attempt.error} ({attempt.latency_ms} ms)")
        self.say(f"{endpoint.url} answered HTTP {attempt.status} in {attempt.latency_ms} ms")
