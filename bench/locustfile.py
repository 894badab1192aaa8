"""Who uses AllaweePlus at once, for locust (run by bench/load_test.py; see its docstring).

Three kinds of user, weighted as traffic is expected to split: mostly corps members in the
browser, a few loan officers working the queue, and API clients (the mobile app with a
member's token, a back-office integration with an officer's token).

- ``Member`` signs in through the real allauth form (GET for the CSRF token, POST), then
  reads the dashboard, a loan's repayment schedule, an application, and the apply page with
  its HTMX preview. Think time 2–8 s.
- ``Officer`` signs in the same way and works ``/backoffice/applications/``: the full page,
  filters and searches as HTMX partials, "Next" by the keyset cursor of the page before, and
  an application's review page. Think time 2–6 s.
- ``ApiClient`` calls ``/api/v1/`` with ``Authorization: Bearer``: applications and loans
  (page 1 and the next cursor), a loan, products and a quote. Think time 1–4 s.

Logins, tokens, references and products come from the JSON file named by ``LOAD_PEOPLE``,
written by the runner. gunicorn is spoken to over plain HTTP on loopback, standing in for
nginx: every user sends ``X-Forwarded-Proto: https`` and its own ``X-Real-IP`` as nginx
would, and sends the ``Secure`` cookies of a ``DEBUG=false`` site over that HTTP anyway.
"""

import html
import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

with open(os.environ["LOAD_PEOPLE"]) as _file:
    PEOPLE = json.load(_file)

SEARCH_TERMS = ("Adebayo", "Chiamaka", "Emeka", "Fatima", "Ngozi", "Tunde", "Zainab", "Musa")
STATES = ("LA", "FC", "OY", "RV", "KN")
_next_address = itertools.count(1)
_next_member = itertools.count()
_next_officer = itertools.count()
_next_api_client = itertools.count()
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
NEXT_LINK = re.compile(r'href="(\?[^"]*after=[^"]+)"')


class SiteUser(HttpUser):
    abstract = True

    def on_start(self):
        n = next(_next_address)
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "X-Real-IP": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
            }
        )
        self.origin = self.host.replace("http://", "https://", 1)

    def send_secure_cookies(self):
        """The site's cookies are ``Secure`` (DEBUG=false) and requests keeps them off plain
        HTTP; nginx's TLS is left out of this test, so clear the flag in our own jar."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def log_in(self, email: str) -> bool:
        page = self.client.get("/accounts/login/", name="login form")
        token = CSRF_FIELD.search(page.text)
        self.send_secure_cookies()
        with self.client.post(
            "/accounts/login/",
            data={
                "login": email,
                "password": PEOPLE["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Origin": self.origin, "Referer": f"{self.origin}/accounts/login/"},
            allow_redirects=False,
            name="login",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login of {email} answered {response.status_code}")
                return False
            response.success()
            return True

    def page(self, url: str, name: str, *, htmx: bool = False):
        headers = {"HX-Request": "true"} if htmx else None
        self.send_secure_cookies()
        with self.client.get(url, name=name, headers=headers, catch_response=True) as response:
            # A redirect to the login page would be a 200 after following it: not a success.
            if response.ok and "/accounts/login/" in response.url:
                response.failure("sent to the login page")
            return response


class Member(SiteUser):
    weight = 6
    wait_time = between(2, 8)

    def on_start(self):
        super().on_start()
        members = PEOPLE["members"]
        self.person = members[next(_next_member) % len(members)]
        self.log_in(self.person["email"])

    @task(5)
    def dashboard(self):
        self.page("/me/", "/me/ (dashboard)")

    @task(3)
    def loan_schedule(self):
        if self.person["loans"]:
            reference = random.choice(self.person["loans"])
            self.page(f"/loans/{reference}/", "/loans/[ref]/ (schedule)")

    @task(2)
    def application(self):
        if self.person["applications"]:
            reference = random.choice(self.person["applications"])
            self.page(f"/loans/applications/{reference}/", "/loans/applications/[ref]/")

    @task(1)
    def apply_preview(self):
        self.page("/loans/apply/", "/loans/apply/")
        product = random.choice(PEOPLE["products"])
        amount = random.randrange(product["min_naira"], product["max_naira"] + 1, 5000)
        self.page(
            f"/loans/apply/?product={product['id']}&amount={amount}"
            f"&tenure={random.choice(product['tenures'])}",
            "/loans/apply/ (htmx preview)",
            htmx=True,
        )


class Officer(SiteUser):
    weight = 1
    wait_time = between(2, 6)
    queue = "/backoffice/applications/"

    def on_start(self):
        super().on_start()
        officers = PEOPLE["officers"]
        self.log_in(officers[next(_next_officer) % len(officers)])
        self.next_page = None

    def remember_next(self, response):
        link = NEXT_LINK.search(response.text or "")
        self.next_page = html.unescape(link.group(1)) if link else None

    @task(2)
    def queue_page(self):
        self.remember_next(self.page(self.queue, "queue (full page)"))

    @task(3)
    def filter_queue(self):
        status = random.choice(("in_review", "submitted", "approved", "rejected"))
        response = self.page(
            f"{self.queue}?status={status}&deployment_state={random.choice(STATES)}",
            "queue filtered (htmx)",
            htmx=True,
        )
        self.remember_next(response)

    @task(2)
    def search_queue(self):
        term = random.choice((*SEARCH_TERMS, random.choice(PEOPLE["queue_references"])))
        self.page(f"{self.queue}?q={term}", "queue search (htmx)", htmx=True)

    @task(2)
    def next_page_by_cursor(self):
        if self.next_page:
            url = f"{self.queue}{self.next_page}"
            self.remember_next(self.page(url, "queue next page (htmx)", htmx=True))

    @task(1)
    def review_application(self):
        reference = random.choice(PEOPLE["queue_references"])
        self.page(f"{self.queue}{reference}/", "/backoffice/applications/[ref]/")


class ApiClient(SiteUser):
    weight = 3
    wait_time = between(1, 4)

    def on_start(self):
        super().on_start()
        clients = PEOPLE["api_clients"]
        self.me = clients[next(_next_api_client) % len(clients)]
        self.client.headers.update({"Authorization": f"Bearer {self.me['token']}"})
        self.cursors = {}

    def listing(self, resource: str):
        response = self.client.get(f"/api/v1/{resource}", name=f"/api/v1/{resource}")
        if response.ok:
            self.cursors[resource] = response.json().get("next_cursor")

    def catalogue(self, path: str, name: str, params=None):
        """Half the catalogue calls come before sign-in (the app's product screen): those
        are anonymous, and only anonymous answers are served from the response cache."""
        anonymous = random.random() < 0.5
        self.client.get(
            path,
            params=params,
            headers={"Authorization": None} if anonymous else None,
            name=f"{name} ({'anonymous' if anonymous else 'token'})",
        )

    @task(4)
    def applications(self):
        self.listing("applications")

    @task(3)
    def loans(self):
        self.listing("loans")

    @task(2)
    def next_page(self):
        resource = random.choice(("applications", "loans"))
        cursor = self.cursors.get(resource)
        if cursor:
            self.client.get(
                f"/api/v1/{resource}", params={"cursor": cursor}, name=f"/api/v1/{resource}?cursor"
            )

    @task(2)
    def loan(self):
        if self.me["loans"]:
            reference = random.choice(self.me["loans"])
            self.client.get(f"/api/v1/loans/{reference}", name="/api/v1/loans/[ref]")

    @task(2)
    def products(self):
        self.catalogue("/api/v1/products", "/api/v1/products")

    @task(2)
    def quote(self):
        product = random.choice(PEOPLE["products"])
        amount = random.randrange(product["min_naira"], product["max_naira"] + 1, 5000)
        self.catalogue(
            "/api/v1/quote",
            "/api/v1/quote",
            params={
                "product": product["id"],
                "amount": f"{amount}.00",
                "tenure_months": random.choice(product["tenures"]),
            },
        )
