"""What each staff member may see of the reports: permission decides, per figure group."""

from datetime import date, datetime

from core.money import format_naira
from reports.charts import COLOURS, Series, build_chart
from reports.dashboard import dashboard_figures

PORTFOLIO_PERMS = ("arrears.view_portfolio", "reports.view_dailyreport")
APPLICATION_PERMS = ("loans.view_application",)


def can_see_portfolio(user) -> bool:
    return user.is_staff and any(user.has_perm(p) for p in PORTFOLIO_PERMS)


def can_see_applications(user) -> bool:
    return user.is_staff and (can_see_portfolio(user) or user.has_perm(APPLICATION_PERMS[0]))


def percent(bp: int | None) -> str:
    if bp is None:
        return "—"
    return f"{bp // 100}.{bp % 100:02d} %"


def naira_short(kobo: int) -> str:
    """Axis labels: whole naira with k/m suffix (exact integer arithmetic)."""
    naira = kobo // 100
    if naira >= 1_000_000:
        return f"₦{naira // 1_000_000}.{naira % 1_000_000 // 100_000}m"
    if naira >= 1_000:
        return f"₦{naira // 1_000}k"
    return f"₦{naira}"


def dashboard_for(user) -> dict | None:
    """The figures and charts this user may see, or None (members, staff without a permission).
    The figures come from one shared cache entry; only the selection depends on the user."""
    show_applications = can_see_applications(user)
    if not show_applications:
        return None
    show_portfolio = can_see_portfolio(user)
    figures = dashboard_figures()
    days = figures["applications_per_day"]
    charts = [
        build_chart(
            id="chart-applications",
            title="Applications submitted per day, last 30 days",
            description=f"{sum(n for _d, n in days)} applications submitted in 30 days.",
            kind="bars",
            labels=[date.fromisoformat(d).strftime("%d %b") for d, _n in days],
            series=[Series("Applications", [n for _d, n in days], COLOURS[0])],
            value_text=str,
            label_every=7,
        )
    ]
    if show_portfolio:
        flows = figures["monthly_flows"]
        charts.append(
            build_chart(
                id="chart-flows",
                title="Disbursed and collected per month, last 12 months",
                description="Cash paid out to members and cash collected from them, per month.",
                kind="bars",
                labels=[date.fromisoformat(m + "-01").strftime("%b %y") for m, _d, _c in flows],
                series=[
                    Series("Disbursed", [d for _m, d, _c in flows], COLOURS[1]),
                    Series("Collected", [c for _m, _d, c in flows], COLOURS[0]),
                ],
                value_text=naira_short,
                label_every=2,
            )
        )
        trend = figures["par_trend"]
        charts.append(
            build_chart(
                id="chart-par",
                title="Portfolio at risk over 30 days (PAR30), from the daily snapshots",
                description=(
                    f"{len(trend)} daily snapshots; latest PAR30 {percent(figures['par30_bp'])}."
                    if trend
                    else "No portfolio snapshot yet."
                ),
                kind="line",
                labels=[date.fromisoformat(d).strftime("%d %b") for d, _bp in trend],
                series=[Series("PAR30", [bp for _d, bp in trend], "#dc3545")],
                value_text=percent,
                label_every=max(len(trend) // 6, 1),
            )
        )
    key_figures = [("Applications awaiting review", str(figures["awaiting_review"]))]
    if show_portfolio:
        key_figures += [
            ("Active loans", str(figures["active_loans"])),
            ("Outstanding principal", format_naira(figures["outstanding_principal"])),
            ("PAR30", percent(figures["par30_bp"])),
            ("Collected this month", format_naira(figures["collected_this_month"])),
            ("Disbursed this month", format_naira(figures["disbursed_this_month"])),
        ]
    return {
        "key_figures": key_figures,
        "charts": charts,
        "computed_at": datetime.fromisoformat(figures["computed_at"]),
        "par_snapshot_date": figures["par_snapshot_date"],
        "show_portfolio": show_portfolio,
    }
