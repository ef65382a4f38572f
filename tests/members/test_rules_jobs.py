"""The program's periodic jobs over ``POST /v1/platform/jobs``: ``tiers`` (downgrade only
at a review period's end, with history and ``tier.changed``) and ``reminders``
(``points.expiring`` once per lot and threshold)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))
from rules_support import PROGRAM, earn, events, put_program, run_job, shanghai  # noqa: E402

from jifen.platform import clock  # noqa: E402

pytestmark = pytest.mark.usefixtures("audited")


def tier_of(points, member_id: str) -> str | None:
    return points.get(f"/v1/members/{member_id}").get_json()["tier"]


def test_tiers_downgrade_only_when_a_review_period_ends(api, client, points):
    put_program(points, {
        **PROGRAM,
        "expiry": {"policy": "never"},
        "tier_evaluation": {"window_months": 1, "review_period": "month"},
    })  # fmt: skip
    member = points.member()
    with clock.frozen_at(shanghai("2025-03-10 12:00")):
        earn(points, member["id"], "o-1", 100000)  # spend 1,000.00 -> silver at once
        assert tier_of(points, member["id"]) == "silver"
    with clock.frozen_at(shanghai("2025-03-20 12:00")):
        run_job(api, client, "tiers")  # the first review only records the period
        assert tier_of(points, member["id"]) == "silver"
    with clock.frozen_at(shanghai("2025-04-02 12:00")):
        # March ended; the window (2 Mar - 2 Apr) still holds the 1,000.00: kept
        run_job(api, client, "tiers")
        assert tier_of(points, member["id"]) == "silver"
    with clock.frozen_at(shanghai("2025-04-20 12:00")):
        # the window (20 Mar - 20 Apr) is empty now, but April has not ended: kept
        run_job(api, client, "tiers")
        assert tier_of(points, member["id"]) == "silver"
    with clock.frozen_at(shanghai("2025-05-01 00:30")):
        run_job(api, client, "tiers")  # April ended: the window is empty -> no tier
        assert tier_of(points, member["id"]) is None
        run_job(api, client, "tiers")  # once per period
        assert tier_of(points, member["id"]) is None
    history = points.get(f"/v1/members/{member['id']}/tier_history").get_json()["data"]
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in history] == [
        ("silver", None, "period_end"),
        (None, "silver", "upgrade"),
    ]
    assert [e["to_tier"] for e in events(points.tenant.id, "tier.changed")] == ["silver", None]


def test_the_tiers_job_upgrades_members_who_qualify(api, client, points, tenant):
    from rules_support import set_tier

    put_program(points, {**PROGRAM, "expiry": {"policy": "never"}})
    member = points.member()
    earn(points, member["id"], "o-1", 600000)  # spend 6,000.00 -> gold at once
    set_tier(tenant.id, member["id"], None)  # as if the program had just added tiers
    run_job(api, client, "tiers")
    assert tier_of(points, member["id"]) == "gold"


def test_expiry_reminders_go_out_once_per_lot_and_threshold(api, client, points):
    put_program(points, {**PROGRAM, "tiers": []})  # clears on 31 Oct; reminders 30/7/1
    member = points.member()

    def reminders() -> list[int]:
        sent = events(points.tenant.id, "points.expiring")
        return [e["days_before"] for e in sent if e["member"] == member["id"]]

    with clock.frozen_at(shanghai("2025-09-01 12:00")):
        earn(points, member["id"], "o-1", 100000)  # 10 points until 2025-11-01 00:00 +08
        run_job(api, client, "reminders")
        assert reminders() == []
    with clock.frozen_at(shanghai("2025-10-02 00:00")):  # exactly 30 days before
        run_job(api, client, "reminders")
        run_job(api, client, "reminders")
        assert reminders() == [30]
    with clock.frozen_at(shanghai("2025-10-31 01:00")):  # 23 hours before: 7 and 1 passed
        run_job(api, client, "reminders")
        run_job(api, client, "reminders")
    # only the nearest one is sent; the 7-day one is recorded as skipped, never sent
    assert reminders() == [30, 1]
    expiring = events(points.tenant.id, "points.expiring")[-1]
    assert expiring["points"] == 10 and expiring["expires_at"] == "2025-10-31T16:00:00Z"
