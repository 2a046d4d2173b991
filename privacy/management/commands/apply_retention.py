from django.core.management.base import BaseCommand
from django.utils import timezone
from tqdm import tqdm

from core.actors import SystemActor
from privacy.services.retention import retention_apply, retention_plan


class Command(BaseCommand):
    help = "Purge what the retention rules say is past its term. With --dry-run, only show what would go."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be purged; change nothing.")

    def _table(self, rows, counts, heading: str) -> None:
        width = max([len(r.label) for r in rows] + [len("category")])
        self.stdout.write(f"{'category':<{width}}  {'keep (days)':>11}  {'older than':<16}  {heading:>12}")
        self.stdout.write(f"{'-' * width}  {'-' * 11}  {'-' * 16}  {'-' * 12}")
        for r in rows:
            cutoff = timezone.localtime(r.cutoff).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(f"{r.label:<{width}}  {r.keep_days:>11}  {cutoff:<16}  {counts[r.category]:>12}")
        self.stdout.write(f"{'total':<{width}}  {'':>11}  {'':<16}  {sum(counts.values()):>12}")

    def handle(self, *args, dry_run: bool, verbosity: int, **options):
        now = timezone.now()
        plan = retention_plan(now=now)
        if not plan:
            self.stdout.write("No active retention rule: nothing to purge.")
            return
        if dry_run:
            self._table(plan, {r.category: r.count for r in plan}, "would purge")
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was changed."))
            return
        with tqdm(total=sum(r.count for r in plan), unit="row", desc="Purging", disable=verbosity == 0) as bar:
            counts = retention_apply(actor=SystemActor("apply_retention command"), dry_run=False, now=now, progress=bar.update)
        self._table(plan, counts, "purged")
        self.stdout.write(self.style.SUCCESS(f"Retention applied: {sum(counts.values())} row(s) or file(s) purged."))
