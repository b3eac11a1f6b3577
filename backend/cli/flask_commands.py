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


@quire_group.command("recover")
@click.option("--list", "list_only", is_flag=True, help="Show the pending backups; change nothing.")
@click.option("--all", "replay_all", is_flag=True, help="Replay every pending backup.")
@click.option("--dry-run", is_flag=True, help="Say what --all would do; change nothing.")
def recover_command(list_only: bool, replay_all: bool, dry_run: bool) -> None:
    """Replay this host's file backups into the database (docs/runbook.md).

    Exit status: 0 when nothing failed (or would fail), 1 when a record could
    not be replayed (its file is kept), 2 on a usage error.
    """
    from backend.services import backups, recovery, runtime

    if list_only + replay_all + dry_run != 1:
        raise click.UsageError("choose exactly one of --list, --all, --dry-run")
    root = runtime.settings().backup_root
    if list_only:
        pending = backups.pending(root)
        click.echo(f"{len(pending)} pending backup(s) in {root}")
        if pending:
            click.echo(f"{'age':>8}  {'kind':<12}  {'job':<36}  {'chunk':>7}  file")
        for item in pending:
            record = item.record
            kind, job, chunk = (
                (record.kind, record.job_id, str(record.chunk_pk or "-"))
                if record
                else ("UNREADABLE", item.problem[:36], "-")
            )
            age = f"{item.age_seconds:.0f}s"
            click.echo(f"{age:>8}  {kind:<12}  {job:<36}  {chunk:>7}  {item.path.name}")
        return
    report = recovery.recover(dry_run=dry_run, root=root)
    prefix = "would be " if dry_run else ""
    for done in report.items:
        target = f"job {done.job_id}" + (f" chunk {done.chunk_pk}" if done.chunk_pk else "")
        reason = f" ({done.reason})" if done.reason else ""
        click.echo(f"{prefix}{done.action}: {done.kind} {target}{reason}  [{done.path.name}]")
    counts = ", ".join(
        f"{action}: {report.count(action)}"
        for action in (recovery.APPLIED, recovery.SKIPPED, recovery.FAILED)
    )
    click.echo(("dry run, nothing changed; " if dry_run else "") + counts)
    if report.finalized:
        click.echo(f"finalized: {', '.join(report.finalized)}")
    if report.failed:
        raise click.exceptions.Exit(1)
