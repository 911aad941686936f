from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa

from ecommerce_pipeline.transforms.customer_lifetime_value import HISTORY_SCHEMA, customer_lifetime_value


def current(rows):
    """Current order lines: (order_id, customer_id, order_date, line_revenue, is_revenue[, currency])."""
    rows = [(*r, "USD") if len(r) == 5 else r for r in rows]
    cols = ["order_id", "customer_id", "order_date", "line_revenue", "is_revenue", "currency"]
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    data["line_revenue"] = [Decimal(str(v)) for v in data["line_revenue"]]
    return pa.table(data).select(HISTORY_SCHEMA.names).cast(HISTORY_SCHEMA)


def test_customer_lifetime_value_from_the_current_state_of_every_order():
    d = [date(2025, 1, i) for i in range(1, 11)]
    orders = current(
        [
            ("O1", "C1", d[0], "50.00", True),
            ("O1", "C1", d[0], "50.00", True),  # a second line of the same order
            ("O2", "C1", d[4], "30.00", True),
            ("O3", "C2", d[1], "0.00", False),  # refunded since: no revenue, not an order of C2
            ("O4", "C2", d[2], "10.00", True),
        ]
    )
    rows = {r["customer_id"]: r for r in customer_lifetime_value(orders, d[9]).to_pylist()}
    assert set(rows) == {"C1", "C2"}
    c1 = rows["C1"]
    assert (c1["business_date"], c1["currency"]) == (d[9], "USD")
    assert (c1["total_orders"], c1["total_spent"], c1["avg_order_value"]) == (2, Decimal("130.00"), Decimal("65.00"))
    assert (c1["first_order_date"], c1["last_order_date"]) == (d[0], d[4])
    assert (c1["days_since_first_order"], c1["days_since_last_order"]) == (9, 5)
    c2 = rows["C2"]
    assert (c2["total_orders"], c2["total_spent"], c2["first_order_date"]) == (1, Decimal("10.00"), d[2])


def test_an_order_after_the_as_of_day_is_never_a_negative_age():
    # A store west of UTC: an order dated the day after the landing day processed.
    (row,) = customer_lifetime_value(current([("O1", "C1", date(2025, 1, 2), "5.00", True)]), date(2025, 1, 1)).to_pylist()
    assert (row["days_since_first_order"], row["days_since_last_order"]) == (0, 0)


def test_spend_in_two_currencies_is_two_rows():
    day = date(2025, 1, 1)
    orders = current([("O1", "C1", day, "10.00", True, "USD"), ("O2", "C1", day, "7.00", True, "EUR")])
    rows = [(r["customer_id"], r["currency"], r["total_orders"], r["total_spent"]) for r in customer_lifetime_value(orders, day).to_pylist()]
    assert rows == [("C1", "EUR", 1, Decimal("7.00")), ("C1", "USD", 1, Decimal("10.00"))]


def test_rfm_scores_and_segments_rank_customers():
    d0 = date(2025, 1, 1)
    as_of = date(2025, 6, 30)
    rows = []
    for i in range(10):
        # customer Ci ordered i+1 times, spending more and more recently as i grows
        for k in range(i + 1):
            day = date.fromordinal(d0.toordinal() + 15 * i + k)
            rows.append((f"O{i}-{k}", f"C{i}", day, 10 * (i + 1), True))
    scores = {r["customer_id"]: r for r in customer_lifetime_value(current(rows), as_of).to_pylist()}
    assert (scores["C9"]["r_score"], scores["C9"]["f_score"], scores["C9"]["m_score"]) == (5, 5, 5)
    assert (scores["C0"]["r_score"], scores["C0"]["f_score"], scores["C0"]["m_score"]) == (1, 1, 1)
    # percent_rank of C4 among 10 is 4/9: 1 + floor(5 * 4/9) = 3 for each score
    assert (scores["C4"]["r_score"], scores["C4"]["f_score"], scores["C4"]["m_score"]) == (3, 3, 3)
    assert scores["C9"]["rfm_segment"] == "Champions"
    assert scores["C0"]["rfm_segment"] == "Lost"


def test_rfm_ties_share_a_score_and_new_customers_are_new():
    day = date(2025, 1, 1)
    table = customer_lifetime_value(current([(f"O{i}", f"C{i}", day, 10, True) for i in range(6)]), day)
    assert {(r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for r in table.to_pylist()} == {(1, 1, 1, "New")}


def test_the_hand_made_store(silver_tables):
    rows = {r["customer_id"]: r for r in customer_lifetime_value(silver_tables["orders_validated"].select(HISTORY_SCHEMA.names), date(2025, 1, 1)).to_pylist()}
    # C1: O1 (90 + 40) and O5 (5 + 100); C2: O3 60 (O2 cancelled); C3 (record quarantined): O4 20.
    assert {k: (r["total_orders"], r["total_spent"], r["rfm_segment"]) for k, r in rows.items()} == {
        "C1": (2, Decimal("235.00"), "At Risk"),  # r 1 (all ordered the same day), f 5, m 5
        "C2": (1, Decimal("60.00"), "New"),
        "C404": (1, Decimal("20.00"), "New"),
    }


def _order_days(rows: list[tuple]) -> pa.Table:
    """(order_date, customer_id, currency, orders, revenue in cents) as order days."""
    from ecommerce_pipeline.transforms.customer_lifetime_value import DAYS_SCHEMA

    return pa.table(
        {
            "order_date": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "currency": [r[2] for r in rows],
            "orders": [r[3] for r in rows],
            "revenue": [Decimal(r[4]) / 100 for r in rows],
        },
        schema=DAYS_SCHEMA,
    )


def _by_key(t: pa.Table) -> list[dict]:
    return sorted(t.to_pylist(), key=lambda r: (r["customer_id"], r["currency"]))


def test_totals_moved_by_a_nights_changes_equal_totals_summed_again():
    """A night's changed dates move each customer's totals by the difference; customers whose first or last
    order date left (cancelled) are summed again from their order days. Random nights: always the full sum."""
    import random

    from ecommerce_pipeline.transforms.customer_lifetime_value import totals, updated_totals

    rng = random.Random(11)
    dates = [date(2025, 1, 1) + timedelta(d) for d in range(12)]

    def some_rows(on: list[date]) -> list[tuple]:
        return [
            (d, f"C{rng.randrange(9)}", rng.choice(["USD", "USD", "EUR"]), rng.randint(1, 3), rng.randint(1, 99_999))
            for d in on
            for _ in range(rng.randrange(6))
        ]

    def dedupe(rows: list[tuple]) -> list[tuple]:  # one row per date, customer and currency, as order_days has
        return list({(r[0], r[1], r[2]): r for r in rows}.values())

    ledger = dedupe(some_rows(dates))
    current = totals(_order_days(ledger))
    recomputed_customers = 0
    for _ in range(40):
        changed = rng.sample(dates, rng.randint(1, 4))
        old = [r for r in ledger if r[0] in changed]
        new = dedupe(some_rows(changed))
        ledger = [r for r in ledger if r[0] not in changed] + new
        kept, again = updated_totals(current, _order_days(old), _order_days(new), changed)
        recomputed_customers += len(again)
        summed_again = totals(_order_days([r for r in ledger if r[1] in again]))
        current = pa.concat_tables([kept, summed_again])
        assert _by_key(current) == _by_key(totals(_order_days(ledger)))
    assert recomputed_customers > 0, "some nights cancel a customer's first or last orders"
