"""Soak test: mixed member / officer / finance / API / webhook traffic against a local stack
it starts itself, with the Huey worker restarted twice and Redis restarted once.

Bounded and loopback only: its own PostgreSQL database (default ``allaweeplus_soak`` on the
local server, dropped at the end), its own Redis on port 6390 (started, restarted and stopped
by this script: the shared Redis on 6379 is never touched), gunicorn on 127.0.0.1:8460 and a
Huey worker with the queue name ``soak``. Not part of ``make test``.

    uv run --frozen python bench/soak.py --requests 5000        # or --minutes 30 (default)

At the end it checks, and exits non-zero if any check fails:
- no 5xx answer except inside the Redis restart window (Redis down: cache misses, queue
  unreachable for a few seconds);
- no lost or doubled payment: every successful provider charge has exactly one successful
  payment, every webhook event is processed, replayed events changed nothing;
- the ledger's trial balance is balanced and every loan's balance equals its ledger balance.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "allawee-demo-2026"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=0, help="stop after this many requests")
    parser.add_argument("--minutes", type=float, default=30.0, help="or after this long")
    parser.add_argument("--workers", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--loans", type=int, default=12, help="active loans to make first")
    parser.add_argument("--port", type=int, default=8460)
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--db", default="allaweeplus_soak")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.redis_port == 6379:
        parser.error("the soak test restarts its Redis: never the shared one on 6379")
    return args


class Stack:
    """Redis, gunicorn and the Huey worker as child processes of this script."""

    def __init__(self, args, env):
        self.args, self.env = args, env
        self.redis = self.web = self.worker = None
        self.logs = Path(env["SOAK_DIR"])

    def _spawn(self, name, cmd):
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_redis(self):
        self.redis = self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.args.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        for _ in range(50):
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(self.args.redis_port), "ping"], capture_output=True
                ).stdout.strip()
                == b"PONG"
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("our Redis did not start")

    def start_web(self):
        self.web = self._spawn(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.args.port}",
                "-w",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
            ],
        )
        for _ in range(100):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not start (see its log)")

    def start_worker(self):
        self.worker = self._spawn(
            "huey", [sys.executable, "manage.py", "run_huey", "--workers", "2", "--quiet"]
        )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.args.port}"

    @staticmethod
    def _stop(process, sig=signal.SIGTERM):
        if process and process.poll() is None:
            os.killpg(process.pid, sig)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def restart_worker(self):
        self._stop(self.worker)
        time.sleep(1)
        self.start_worker()

    def restart_redis(self):
        self._stop(self.redis, signal.SIGKILL)  # a crash, not a clean shutdown
        time.sleep(3)
        self.start_redis()

    def stop(self):
        for process in (self.web, self.worker, self.redis):
            self._stop(process)


def setup_django(env):
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def prepare_data(args):
    """Demo data, then active loans made through the real services."""
    from datetime import date

    from django.core.management import call_command

    from api.services import create_token
    from loans.models import LoanProduct
    from members.models import KycStatus, Member, User
    from tests.factories import active_loan

    call_command("migrate", verbosity=0)
    call_command("seed_demo", members=max(24, args.loans + 4), verbosity=0)
    officer = User.objects.get(email="officer@allaweeplus.test")
    finance = User.objects.get(email="finance@allaweeplus.test")
    product = LoanProduct.objects.filter(is_active=True).order_by("min_principal").first()
    members = list(
        Member.objects.filter(kyc_status=KycStatus.VERIFIED).exclude(bank_code="")[: args.loans]
    )
    loans = []
    for member in members:
        member.passing_out = date(2030, 1, 1)
        member.monthly_allowance = 500_000_00
        member.save()
        loan = active_loan(
            member=member,
            loan_product=product,
            amount=max(product.min_principal, 50_000_00),
            tenure=product.tenures[-1],
            user_agent="soak",
            officer=officer,
            finance=finance,
            bank_reference=f"FT-SOAK-{member.pk}",
        )
        loans.append((member.user.email, loan.reference))
    _, token = create_token(user=finance, name="soak", scope="read", expires_in_days=1)
    return loans, token


class Traffic:
    def __init__(self, stack, args, loans, token):
        self.stack, self.args, self.loans, self.token = stack, args, loans, token
        self.results = []  # (time, status, action)
        self.lock = threading.Lock()
        self.local = threading.local()
        self.count = 0
        self.deadline = time.monotonic() + args.minutes * 60
        self.paid_references = []

    def done(self):
        if self.args.requests and self.count >= self.args.requests:
            return True
        return time.monotonic() > self.deadline

    def _record(self, status, action):
        with self.lock:
            self.results.append((time.time(), status, action))
            self.count += 1

    def _client(self, email):
        clients = getattr(self.local, "clients", None)
        if clients is None:
            clients = self.local.clients = {}
        if email not in clients:
            client = httpx.Client(base_url=self.stack.url, timeout=30, follow_redirects=False)
            client.get("/accounts/login/")
            response = client.post(
                "/accounts/login/",
                data={"login": email, "password": PASSWORD},
                headers={"X-CSRFToken": client.cookies.get("csrftoken", "")},
            )
            self._record(response.status_code, "login")
            clients[email] = client
        return clients[email]

    def _get(self, client, path, action):
        try:
            response = client.get(path)
            self._record(response.status_code, action)
        except httpx.HTTPError:
            self._record(599, action)

    def _post(self, client, path, data, action):
        try:
            response = client.post(
                path, data=data, headers={"X-CSRFToken": client.cookies.get("csrftoken", "")}
            )
        except httpx.HTTPError:
            self._record(599, action)
            return None
        self._record(response.status_code, action)
        return response

    def member(self):
        email, reference = random.choice(self.loans)
        client = self._client(email)
        self._get(client, "/me/", "member page")
        self._get(client, f"/loans/{reference}/", "member page")
        if random.random() < 0.5:
            response = self._post(client, f"/loans/{reference}/pay/", {"amount": "150"}, "pay")
            location = response.headers.get("location", "") if response is not None else ""
            if "/payments/simulated/checkout/" in location:
                checkout = location.split("127.0.0.1", 1)[-1].split(f":{self.args.port}")[-1]
                self._get(client, checkout, "checkout page")
                self._post(client, checkout, {"outcome": "success"}, "checkout pay")
                with self.lock:
                    self.paid_references.append(checkout.rstrip("/").rsplit("/", 1)[-1])

    def officer(self):
        client = self._client("officer@allaweeplus.test")
        self._get(client, "/backoffice/applications/", "officer page")
        self._get(client, "/backoffice/members/?q=a", "officer page")
        _, reference = random.choice(self.loans)
        self._get(client, f"/backoffice/collections/{reference}/", "officer page")

    def finance(self):
        client = self._client("finance@allaweeplus.test")
        self._get(client, "/backoffice/ledger/", "finance page")
        self._get(client, "/backoffice/disbursements/", "finance page")
        if random.random() < 0.3:
            _, reference = random.choice(self.loans)
            self._post(
                client,
                f"/backoffice/loans/{reference}/payments/",
                {"amount": "100", "reason": "Cash at the branch (soak)", "evidence": "SOAK"},
                "manual payment",
            )

    def api(self):
        client = getattr(self.local, "api", None) or httpx.Client(
            base_url=self.stack.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
        )
        self.local.api = client
        self._get(client, "/api/v1/loans?limit=20", "api")
        self._get(client, "/api/v1/products", "api")

    def webhook(self):
        """Replay the signed event of a settled checkout (a provider retry, or an attacker
        who captured the body): it must change nothing."""
        from payments.providers.webhooks import sign_body
        from simulator.models import SimulatedProviderRecord
        from simulator.records import charge_event

        with self.lock:
            reference = random.choice(self.paid_references) if self.paid_references else None
        if reference is None:
            return
        record = SimulatedProviderRecord.objects.filter(reference=reference).first()
        if record is None or record.status == "pending":
            return
        from django.conf import settings

        body = json.dumps(charge_event(record)).encode()
        signature = sign_body(settings.SIMULATED_PROVIDER_SECRET, body)
        try:
            response = httpx.post(
                f"{self.stack.url}/webhooks/simulated",
                content=body,
                headers={"content-type": "application/json", "x-simulated-signature": signature},
                timeout=30,
            )
            self._record(response.status_code, "webhook replay")
        except httpx.HTTPError:
            self._record(599, "webhook replay")

    def run_one_worker(self):
        actions = [self.member] * 4 + [self.officer] * 2 + [self.finance] * 2 + [self.api] * 2
        actions += [self.webhook]
        while not self.done():
            random.choice(actions)()


def main():
    args = parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed")
    soak_dir = ROOT / "var" / "soak"
    soak_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"{args.pg}/{args.db}"
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
        "HUEY_NAME": "soak",
        "HUEY_IMMEDIATE": "false",
        "PAYMENTS_PROVIDER": "simulated",
        "SIMULATED_WEBHOOK_DELIVERY": "inline",
        "SITE_URL": f"http://127.0.0.1:{args.port}",
        "API_RATE_LIMIT_AUTH": "1000000",
        "LOG_LEVEL": "WARNING",
        "SOAK_DIR": str(soak_dir),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    admin = [*("psql", args.pg + "/postgres", "-qc")]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)"], check=True)
    subprocess.run([*admin, f"CREATE DATABASE {args.db}"], check=True)

    stack = Stack(args, env)
    ok = False
    try:
        stack.start_redis()
        setup_django(env)
        started = time.time()
        loans, token = prepare_data(args)
        print(f"prepared {len(loans)} active loans in {time.time() - started:.0f}s")
        from django.db import connections

        connections.close_all()
        stack.start_web()
        stack.start_worker()

        traffic = Traffic(stack, args, loans, token)
        threads = [threading.Thread(target=traffic.run_one_worker) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        restarts = {"worker": 0, "redis": 0}
        redis_window = None
        plan = [(0.25, "worker"), (0.45, "redis"), (0.65, "worker")]
        total = args.requests or None
        t0 = time.monotonic()
        while any(t.is_alive() for t in threads):
            progress = (
                traffic.count / total if total else (time.monotonic() - t0) / (args.minutes * 60)
            )
            if plan and progress >= plan[0][0]:
                _, what = plan.pop(0)
                if what == "worker":
                    stack.restart_worker()
                else:
                    down = time.time()
                    stack.restart_redis()
                    redis_window = (down, time.time() + 5)  # reconnects settle within seconds
                restarts[what] += 1
                print(f"restarted {what} at {traffic.count} requests")
            time.sleep(0.2)

        ok = verify(traffic, restarts, redis_window)
    finally:
        stack.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            subprocess.run([*admin, f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)"])
    sys.exit(0 if ok else 1)


def verify(traffic, restarts, redis_window) -> bool:
    from django.db.models import Count, Q

    from ledger.selectors import loan_balance, trial_balance
    from loans.models import Loan
    from payments.models import Payment, WebhookEvent
    from simulator.models import SimulatedProviderRecord

    # Let the worker finish what is queued (webhook processing) before counting; an event
    # whose task was lost with Redis is picked up by the sweeper (every 2 minutes, for
    # events older than 2 minutes), so wait up to 5 minutes.
    deadline = time.time() + 300
    while (
        time.time() < deadline and WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    ):
        time.sleep(1)

    statuses = Counter(status for _, status, _ in traffic.results)
    in_window = lambda t: redis_window and redis_window[0] <= t <= redis_window[1]  # noqa: E731
    errors = [(t, s, a) for t, s, a in traffic.results if s >= 500 and not in_window(t)]
    window_errors = [(t, s, a) for t, s, a in traffic.results if s >= 500 and in_window(t)]

    charges = SimulatedProviderRecord.objects.filter(kind="charge", status="success")
    charge_refs = list(charges.values_list("reference", flat=True))
    per_charge = dict(
        Payment.objects.filter(reference__in=charge_refs)
        .values("reference")
        .annotate(ok=Count("id", filter=Q(status="successful")))
        .values_list("reference", "ok")
    )
    lost = [r for r in charge_refs if per_charge.get(r, 0) == 0]
    doubled = [r for r in charge_refs if per_charge.get(r, 0) > 1]
    unprocessed = WebhookEvent.objects.filter(processed_at__isnull=True).count()
    balance = trial_balance()
    mismatched = []
    for loan in Loan.objects.exclude(disbursed_on=None):
        outstanding = sum(i.outstanding for i in loan.installments.all())
        if loan_balance(loan) != outstanding:
            mismatched.append(loan.reference)

    report = {
        "requests": len(traffic.results),
        "statuses": dict(sorted(statuses.items())),
        "4xx/5xx by action": dict(
            Counter(f"{s} {a}" for _, s, a in traffic.results if s >= 400).most_common()
        ),
        "5xx outside the Redis window": len(errors),
        "5xx inside the Redis window": len(window_errors),
        "restarts": restarts,
        "successful provider charges": len(charge_refs),
        "charges without a payment": len(lost),
        "charges with more than one payment": len(doubled),
        "webhook events": WebhookEvent.objects.count(),
        "webhook events unprocessed": unprocessed,
        "ledger balanced": balance["balanced"],
        "loans checked": Loan.objects.exclude(disbursed_on=None).count(),
        "loans whose balance differs from the ledger": len(mismatched),
    }
    print(json.dumps(report, indent=2))
    for t, s, a in errors[:10]:
        print(f"  5xx: {s} {a} at {time.strftime('%H:%M:%S', time.localtime(t))}")
    return (
        not errors
        and not lost
        and not doubled
        and not unprocessed
        and balance["balanced"]
        and not mismatched
        and restarts == {"worker": 2, "redis": 1}
    )


if __name__ == "__main__":
    main()
