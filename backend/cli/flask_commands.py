"""``flask quire …``: administration commands that run inside the app."""

from __future__ import annotations

import click

from backend.errors import QuireError
from backend.models.user import Role
from backend.services import users


@click.group("quire")
def quire_group() -> None:
    """Quire administration."""


@quire_group.command("reconcile")
def reconcile_command() -> None:
    """Repair what lost messages left behind, once, and print what was repaired."""
    from backend.services.reconcile import reconcile

    report = reconcile()
    if report.skipped:
        click.echo("skipped: another reconciler run holds the lock")
        return
    for kind, count in report.counts().items():
        ids = getattr(report, kind)
        click.echo(f"{kind}: {count}" + (f"  {', '.join(map(str, ids))}" if ids else ""))
    click.echo(f"repaired: {report.repairs}")


@quire_group.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.USER.value)
@click.password_option()
def create_user(email: str, role: str, password: str) -> None:
    """Create a user (operators are created here, never through the API)."""
    try:
        user = users.register_user(email, password, role=role)
    except QuireError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.role} {user.email} (id {user.id})")
