from datetime import date

import pyarrow as pa

from ecommerce_pipeline.transforms.customer_lifetime_value import customer_lifetime_value


def history(rows):
    cols = ["business_date", "order_id", "customer_id", "order_date", "line_revenue", "is_revenue"]
    return pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})


def test_customer_lifetime_value_as_of_each_day():
    d = [date(2025, 1, i) for i in range(1, 11)]
    orders = history(
        [
            (d[0], "O1", "C1", d[0], 50.0, True),
            (d[0], "O1", "C1", d[0], 50.0, True),  # a second line of the same order
            (d[4], "O2", "C1", d[4], 30.0, True),
            (d[1], "O3", "C2", d[1], 10.0, True),
            (d[2], "O4", "C3", d[2], 99.0, False),  # cancelled: no revenue, not an order of C3
            (d[3], "O3", "C2", d[1], 0.0, False),  # O3 re-sent on day 4 as refunded
        ]
    )
    table = customer_lifetime_value(orders, [d[2], d[9]])
    rows = {(r["business_date"], r["customer_id"]): r for r in table.to_pylist()}
    assert set(rows) == {(d[2], "C1"), (d[2], "C2"), (d[9], "C1")}
    c1 = rows[(d[9], "C1")]
    assert (c1["total_orders"], c1["total_spent"], c1["avg_order_value"]) == (2, 130.0, 65.0)
    assert (c1["first_order_date"], c1["last_order_date"]) == (d[0], d[4])
    assert (c1["days_since_first_order"], c1["days_since_last_order"]) == (9, 5)
    assert rows[(d[2], "C2")]["total_spent"] == 10.0  # before the refund arrived


def test_rfm_scores_and_segments_rank_customers():
    d0 = date(2025, 1, 1)
    as_of = date(2025, 6, 30)
    rows = []
    for i in range(10):
        # customer Ci ordered i+1 times, spending more and more recently as i grows
        for k in range(i + 1):
            day = date.fromordinal(d0.toordinal() + 15 * i + k)
            rows.append((day, f"O{i}-{k}", f"C{i}", day, 10.0 * (i + 1), True))
    table = customer_lifetime_value(history(rows), [as_of])
    scores = {r["customer_id"]: r for r in table.to_pylist()}
    assert (scores["C9"]["r_score"], scores["C9"]["f_score"], scores["C9"]["m_score"]) == (5, 5, 5)
    assert (scores["C0"]["r_score"], scores["C0"]["f_score"], scores["C0"]["m_score"]) == (1, 1, 1)
    assert scores["C9"]["rfm_segment"] == "Champions"
    assert scores["C0"]["rfm_segment"] == "Lost"
    assert all(1 <= r[s] <= 5 for r in scores.values() for s in ("r_score", "f_score", "m_score"))


def test_rfm_ties_share_a_score_and_new_customers_are_new():
    day = date(2025, 1, 1)
    table = customer_lifetime_value(history([(day, f"O{i}", f"C{i}", day, 10.0, True) for i in range(6)]), [day])
    assert {(r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for r in table.to_pylist()} == {
        (1, 1, 1, "New")
    }
