"""Readiness with queue depth and age, Prometheus metrics, JSON logs with user ids, Sentry."""

import io
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import path
from huey import RedisHuey, SqliteHuey

from core import metrics, queue
from core.logging import JsonFormatter, RequestIdFilter, scrub_sentry_event
from loans.models import InstallmentStatus
from payments.models import Payment, PaymentStatus
from tests.factories import UserFactory, active_loan, on_commit

ROOT = Path(__file__).resolve().parents[2]


# --- queue depth and oldest task age ---------------------------------------------------------


def _queue_with_a_task(huey):
    queue.connect(huey)

    @huey.task()
    def remind(n):
        return n

    return remind


def test_oldest_task_age_follows_the_next_task_to_run(tmp_path):
    huey = SqliteHuey("awp-test", filename=str(tmp_path / "q.sqlite3"))
    remind = _queue_with_a_task(huey)
    assert queue.queue_status(huey) == {"pending": 0, "oldest_task_age_seconds": None}

    remind(1)
    first_enqueued = time.time()
    time.sleep(0.05)
    remind(2)
    now = first_enqueued + 120
    status = queue.queue_status(huey, now=now)
    assert status["pending"] == 2
    assert 119.9 <= status["oldest_task_age_seconds"] <= 120.1

    # The consumer takes the first task: the age is now the second task's, and the first
    # task's record is gone (nothing grows without bound).
    huey.execute(huey.dequeue())
    status = queue.queue_status(huey, now=now)
    assert status["pending"] == 1
    assert status["oldest_task_age_seconds"] < 119.99
    huey.execute(huey.dequeue())
    assert queue.queue_status(huey) == {"pending": 0, "oldest_task_age_seconds": None}
    assert huey.storage.result_store_size() == 2  # the two results, no enqueue records


def test_a_task_enqueued_before_recording_began_has_an_unknown_age(tmp_path):
    huey = SqliteHuey("awp-test", filename=str(tmp_path / "q.sqlite3"))

    @huey.task()
    def remind():
        return None

    remind()
    queue.connect(huey)
    assert queue.queue_status(huey) == {"pending": 1, "oldest_task_age_seconds": None}


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_oldest_task_age_on_redis_huey():
    huey = RedisHuey(f"awp-test-{os.getpid()}-{time.time_ns()}", url=os.environ["REDIS_URL"])
    remind = _queue_with_a_task(huey)
    try:
        remind(1)
        enqueued = time.time()
        remind(2)
        status = queue.queue_status(huey, now=enqueued + 60)
        assert status["pending"] == 2
        assert 59 <= status["oldest_task_age_seconds"] <= 61
    finally:
        huey.flush()


@pytest.mark.django_db
def test_readyz_reports_queue_depth_and_oldest_age(client, monkeypatch):
    from core import views

    monkeypatch.setattr(
        views, "_check_queue", lambda: {"pending": 7, "oldest_task_age_seconds": 42.0}
    )
    body = client.get("/readyz").json()
    assert body["checks"]["queue"]["pending"] == 7
    assert body["checks"]["queue"]["oldest_task_age_seconds"] == 42.0


@pytest.mark.django_db
def test_readyz_queue_check_reads_the_real_queue(client):
    queue_check = client.get("/readyz").json()["checks"]["queue"]
    assert queue_check["ok"] is True
    assert queue_check["pending"] == 0
    assert "oldest_task_age_seconds" in queue_check


# --- /metrics ---------------------------------------------------------------------------------


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        series, value = line.rsplit(" ", 1)
        series_name, _, label_text = series.partition("{")
        label_text = label_text.rstrip("}")
        if series_name == name and ",".join(sorted(label_text.split(","))) == wanted:
            return float(value)
    return 0.0


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    return settings.METRICS_TOKEN


def scrape(client, token) -> str:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


@pytest.mark.django_db
def test_metrics_are_hidden_from_anonymous_visitors_and_wrong_tokens(client, metrics_token):
    assert client.get("/metrics").status_code == 404
    response = client.get("/metrics", headers={"Authorization": "Bearer guessed"})
    assert response.status_code == 403
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"}).status_code
        == 200
    )


@pytest.mark.django_db
def test_metrics_need_a_token_even_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403


@pytest.mark.django_db
def test_metrics_for_staff_with_a_role_only(client, officer):
    roleless = UserFactory(is_staff=True)
    client.force_login(roleless)
    assert client.get("/metrics").status_code == 403
    client.force_login(officer)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"awp_http_requests_total" in response.content


@pytest.mark.django_db
def test_metrics_count_requests_by_status_class_and_time_them(client, metrics_token):
    before = scrape(client, metrics_token)
    client.get("/healthz")
    client.get("/no-such-page/")
    after = scrape(client, metrics_token)

    def delta(name, **labels):
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    # The first scrape itself is a 2xx GET counted once it has answered.
    assert delta("awp_http_requests_total", method="GET", status="2xx") == 2
    assert delta("awp_http_requests_total", method="GET", status="4xx") == 1
    assert delta("awp_http_request_duration_seconds_count", method="GET") == 3
    assert delta("awp_http_request_duration_seconds_bucket", method="GET", le="+Inf") == 3


@pytest.mark.django_db
def test_metrics_count_cache_hits_and_misses(client, metrics_token):
    from django.core.cache import cache

    def count(result):
        return metrics.CACHE_REQUESTS.labels(result=result)._value.get()

    hits, misses = count("hit"), count("miss")
    cache.set("awp-test-key", "value", 30)
    assert cache.get("awp-test-key") == "value"
    assert cache.get("awp-test-absent", "fallback") == "fallback"
    assert cache.get("awp-test-absent") is None
    assert (count("hit") - hits, count("miss") - misses) == (1, 2)
    text = scrape(client, metrics_token)
    assert _sample(text, "awp_cache_requests_total", result="hit") >= 1
    assert _sample(text, "awp_cache_requests_total", result="miss") >= 2


@pytest.mark.django_db(transaction=True)
def test_metrics_report_overdue_installments_and_failed_money(client, metrics_token, settings):
    settings.METRICS_DB_CACHE_SECONDS = 0
    with on_commit(execute=True):
        loan = active_loan()
    first = loan.installments.order_by("number").first()
    first.status = InstallmentStatus.OVERDUE
    first.save(update_fields=["status"])
    Payment.objects.create(
        reference="PAY-FAILED-1",
        provider="simulated",
        channel="checkout",
        loan=loan,
        member=loan.member,
        amount=5_000_00,
        status=PaymentStatus.FAILED,
    )
    text = scrape(client, metrics_token)
    assert _sample(text, "awp_overdue_installments") == 1
    assert _sample(text, "awp_failed_payments") == 1
    assert _sample(text, "awp_failed_disbursements") == 0
    assert "awp_queue_pending 0.0" in text


def test_task_outcomes_are_counted_and_failures_remembered_per_minute(tmp_path):
    huey = SqliteHuey("awp-test", filename=str(tmp_path / "q.sqlite3"), immediate=True)
    metrics.connect_huey(huey)

    @huey.task(retries=1)
    def flaky():
        raise RuntimeError("provider timed out")

    @huey.task()
    def fine():
        return 1

    def count(task, outcome):
        return metrics.TASK_EVENTS.labels(task=task.s().name, outcome=outcome)._value.get()

    errors_before = count(flaky, "error")
    retries_before = count(flaky, "retrying")
    completed_before = count(fine, "complete")
    failures_before = metrics.recent_task_failures(5)
    fine()
    flaky()  # immediate mode: fails, is retried at once, fails again
    assert count(fine, "complete") == completed_before + 1
    assert count(flaky, "error") == errors_before + 2
    assert count(flaky, "retrying") == retries_before + 1
    assert count(flaky, "complete") == 0
    assert metrics.recent_task_failures(5) == failures_before + 2
    # A failure an hour ago is outside a five-minute window.
    assert metrics.recent_task_failures(5, now=time.time() + 3600) == 0


def test_counters_of_several_processes_add_up_in_multiprocess_mode(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    bump = (
        "from core import metrics\n"
        "for _ in range({n}):\n"
        "    metrics.HTTP_REQUESTS.labels(method='GET', status='2xx').inc()\n"
    )
    for n in (3, 4):
        subprocess.run([sys.executable, "-c", bump.format(n=n)], cwd=ROOT, env=env, check=True)
    render = (
        "import django; django.setup()\n"
        "from reports import metrics\n"
        "metrics.loan_book_gauges = lambda: {'overdue_installments': 5}\n"
        "print(metrics.render_metrics().decode())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", render],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert _sample(result.stdout, "awp_http_requests_total", method="GET", status="2xx") == 7
    assert _sample(result.stdout, "awp_overdue_installments") == 5


def test_gunicorn_forgets_the_live_gauges_of_a_dead_worker(tmp_path, monkeypatch):
    import importlib.util

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    spec = importlib.util.spec_from_file_location("gconf", ROOT / "deploy" / "gunicorn.conf.py")
    gconf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gconf)
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")

    class Worker:
        pid = 4242

    gconf.child_exit(None, Worker())
    assert not (tmp_path / "gauge_livesum_4242.db").exists()
    assert (tmp_path / "counter_4242.db").exists(), "counters of dead workers still count"


# --- JSON logs --------------------------------------------------------------------------------


def _boom(request):
    request.user.pk  # noqa: B018 - the view looked at the user, as real views do
    raise RuntimeError("the ledger exploded")


def _logs_inside(request):
    logging.getLogger("loans.services").info("application assessed")
    return HttpResponse("ok")


urlpatterns = [path("boom/", _boom), path("quiet/", _logs_inside)]


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.mark.urls("tests.core.test_observability")
@pytest.mark.django_db
def test_django_request_errors_carry_the_request_id_and_user_id(client, member, json_log):
    client.force_login(member.user)
    client.raise_request_exception = False
    response = client.get("/boom/", headers={"X-Request-ID": "abcdef1234567890"})
    assert response.status_code == 500
    lines = json_log()
    django_error = next(line for line in lines if line["logger"] == "django.request")
    assert django_error["request_id"] == "abcdef1234567890"
    assert django_error["user_id"] == member.user.pk
    assert "the ledger exploded" in django_error["exc"]
    ours = next(line for line in lines if line["logger"] == "portal.request")
    assert ours["user_id"] == member.user.pk and ours["status_code"] == 500
    serialized = json.dumps(lines)
    assert member.user.email not in serialized
    assert member.phone not in serialized


@pytest.mark.urls("tests.core.test_observability")
@pytest.mark.django_db
def test_log_lines_written_inside_a_view_carry_the_user_id(client, member, json_log):
    client.force_login(member.user)
    response = client.get("/quiet/")  # the view itself never looks at request.user
    assert response.status_code == 200
    line = next(line for line in json_log() if line["message"] == "application assessed")
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == member.user.pk


@pytest.mark.urls("tests.core.test_observability")
@pytest.mark.django_db
def test_anonymous_log_lines_have_no_user_id(client, json_log):
    response = client.get("/quiet/")
    line = next(line for line in json_log() if line["message"] == "application assessed")
    assert line["request_id"] == response["X-Request-ID"] and line["user_id"] is None


# --- Sentry -----------------------------------------------------------------------------------


def test_sentry_events_lose_personal_data():
    event = {
        "message": "BVN 22345678901 rejected for ada@example.ng, phone 08031234567",
        "request": {
            "method": "POST",
            "url": "https://allaweeplus.ng/members/profile/?phone=%2B2348031234567",
            "data": {"bvn": "22345678901"},
            "cookies": {"sessionid": "secret"},
            "headers": {"Cookie": "sessionid=secret"},
            "query_string": "phone=%2B2348031234567",
        },
        "user": {"id": 17, "email": "ada@example.ng", "ip_address": "10.1.2.3"},
        "exception": {"values": [{"value": "duplicate BVN 22345678901 for +2348031234567"}]},
        "breadcrumbs": {"values": [{"message": "lookup ada@example.ng"}]},
    }
    scrubbed = scrub_sentry_event(event, {})
    text = json.dumps(scrubbed)
    for secret in ("22345678901", "ada@example.ng", "08031234567", "2348031234567", "sessionid"):
        assert secret not in text
    assert scrubbed["request"] == {
        "method": "POST",
        "url": "https://allaweeplus.ng/members/profile/",
    }
    assert scrubbed["user"] == {"id": 17}
    assert "[redacted]" in scrubbed["exception"]["values"][0]["value"]


def _sentry_state(**env):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY", "DJANGO"))}
    base.update(env)
    code = (
        "import config.settings, sentry_sdk\n"
        "client = sentry_sdk.get_client()\n"
        "print(client.is_active(), client.options.get('send_default_pii'),"
        " client.options.get('before_send').__name__ if client.is_active() else None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_sentry_is_off_without_a_dsn():
    assert _sentry_state(DEBUG="true")[0] == "False"


def test_sentry_starts_with_a_dsn_and_sends_no_pii():
    state = _sentry_state(DEBUG="true", SENTRY_DSN="https://public@sentry.example.invalid/1")
    assert state == ["True", "False", "scrub_sentry_event"]
